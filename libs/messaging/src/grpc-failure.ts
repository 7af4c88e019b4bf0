import { grpcErrorDetails, GrpcStatus, grpcStatusOf } from '@ragmesh/contracts';
import { PermanentError } from './errors';

/**
 * Codes that say the request itself is wrong: sending it again cannot succeed, so the message
 * goes to the dead-letter queue at once. Everything else (UNAVAILABLE, DEADLINE_EXCEEDED,
 * RESOURCE_EXHAUSTED, …) is worth a retry with delay.
 */
export const PERMANENT_GRPC_CODES: ReadonlySet<GrpcStatus> = new Set([GrpcStatus.INVALID_ARGUMENT]);

/** The error a consumer handler should throw for a failed gRPC call: PermanentError (dead letter) or a retryable Error. */
export function classifyGrpcError(err: unknown, call: string): Error {
  const code = grpcStatusOf(err);
  const name = code === undefined ? 'UNKNOWN' : GrpcStatus[code];
  const message = `${call} failed with ${name}: ${grpcErrorDetails(err)}`;
  if (code !== undefined && PERMANENT_GRPC_CODES.has(code)) return new PermanentError(message);
  return new Error(message, { cause: err });
}
