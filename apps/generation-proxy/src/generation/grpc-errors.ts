import { Metadata, status } from '@grpc/grpc-js';
import { RpcException } from '@nestjs/microservices';
import { ModelNotFoundError } from '../engines/engine-router';
import { UnsupportedRequestError } from '../engines/upstream-pool';
import { AdmissionAbortedError, AdmissionRejectedError } from './admission-control';
import { InvalidRequestError } from './generation.schemas';
import { RequestCancelledError, UpstreamFailedError } from './generation.use-case';

const HTTP_NOT_FOUND = 404;

/** Trailing metadata of RESOURCE_EXHAUSTED: milliseconds until a retry is worth it (the gateway sends 429 + Retry-After). */
export const RETRY_AFTER_METADATA_KEY = 'retry-after-ms';

function exhausted(err: AdmissionRejectedError): RpcException {
  const metadata = new Metadata();
  metadata.set(RETRY_AFTER_METADATA_KEY, String(err.retryAfterMs));
  // grpc-js sends `metadata` of the emitted error object as the call's trailers.
  return new RpcException({ code: status.RESOURCE_EXHAUSTED, message: err.message, metadata });
}

/** Domain errors → gRPC status; anything unexpected stays INTERNAL with its message. */
export function toRpcException(err: unknown): RpcException {
  if (err instanceof RpcException) return err;
  const rpc = (code: status, message: string): RpcException => new RpcException({ code, message });
  if (err instanceof InvalidRequestError) return rpc(status.INVALID_ARGUMENT, err.message);
  if (err instanceof ModelNotFoundError) return rpc(status.NOT_FOUND, err.message);
  if (err instanceof AdmissionRejectedError) return exhausted(err);
  if (err instanceof UnsupportedRequestError) return rpc(status.FAILED_PRECONDITION, err.message);
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
