import { GrpcStatus } from '@ragmesh/contracts';
import { PermanentError } from '@ragmesh/messaging';

/**
 * Codes that say the request itself is wrong: sending it again cannot succeed, so the message
 * goes to the dead-letter queue at once. Everything else (UNAVAILABLE, DEADLINE_EXCEEDED,
 * RESOURCE_EXHAUSTED, …) is worth a retry with delay.
 */
export const PERMANENT_GRPC_CODES: ReadonlySet<GrpcStatus> = new Set([GrpcStatus.INVALID_ARGUMENT]);

export function grpcStatusOf(err: unknown): GrpcStatus | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'number' && GrpcStatus[code] !== undefined ? (code as GrpcStatus) : undefined;
}

function describe(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'details' in err && typeof err.details === 'string' && err.details) return err.details;
  return err instanceof Error ? err.message : String(err);
}

/** The error a handler should throw for a failed gRPC call: PermanentError (dead letter) or a retryable Error. */
export function classifyGrpcError(err: unknown, call: string): Error {
  const code = grpcStatusOf(err);
  const name = code === undefined ? 'UNKNOWN' : GrpcStatus[code];
  const message = `${call} failed with ${name}: ${describe(err)}`;
  if (code !== undefined && PERMANENT_GRPC_CODES.has(code)) return new PermanentError(message);
  return new Error(message, { cause: err });
}
