import { status } from '@grpc/grpc-js';
import { Logger } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { InvalidArgumentError, NotFoundError, UnavailableError } from './errors';

const logger = new Logger('RetrievalGrpc');

/** Domain errors → gRPC status; anything unexpected is INTERNAL without internals leaking. */
export function toRpcException(err: unknown): RpcException {
  if (err instanceof RpcException) return err;
  if (err instanceof InvalidArgumentError) return new RpcException({ code: status.INVALID_ARGUMENT, message: err.message });
  if (err instanceof NotFoundError) return new RpcException({ code: status.NOT_FOUND, message: err.message });
  if (err instanceof UnavailableError) return new RpcException({ code: status.UNAVAILABLE, message: err.message });
  logger.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  return new RpcException({ code: status.INTERNAL, message: 'internal error' });
}

/** Runs a use-case call and translates its failure for the gRPC transport. */
export async function grpcCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toRpcException(err);
  }
}
