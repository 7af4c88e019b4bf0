import { status } from '@grpc/grpc-js';
import { RpcException } from '@nestjs/microservices';
import { ModelNotFoundError } from '../engines/engine-router';
import { AdmissionAbortedError, AdmissionRejectedError } from './admission-control';
import { InvalidRequestError } from './generation.schemas';
import { RequestCancelledError, UpstreamFailedError } from './generation.use-case';

const HTTP_NOT_FOUND = 404;

/** Domain errors → gRPC status; anything unexpected stays INTERNAL with its message. */
export function toRpcException(err: unknown): RpcException {
  if (err instanceof RpcException) return err;
  const rpc = (code: status, message: string): RpcException => new RpcException({ code, message });
  if (err instanceof InvalidRequestError) return rpc(status.INVALID_ARGUMENT, err.message);
  if (err instanceof ModelNotFoundError) return rpc(status.NOT_FOUND, err.message);
  if (err instanceof AdmissionRejectedError) return rpc(status.RESOURCE_EXHAUSTED, err.message);
  if (err instanceof AdmissionAbortedError || err instanceof RequestCancelledError) {
    return rpc(status.CANCELLED, err.message);
  }
  if (err instanceof UpstreamFailedError) {
    // Text already reached the caller: a retry elsewhere would repeat it, so say "aborted", not "unavailable".
    if (err.afterFirstToken) return rpc(status.ABORTED, `stream interrupted after the first token: ${err.message}`);
    if (err.upstreamStatus === HTTP_NOT_FOUND) return rpc(status.NOT_FOUND, err.message);
    return rpc(status.UNAVAILABLE, err.message);
  }
  return rpc(status.INTERNAL, err instanceof Error ? err.message : String(err));
}
