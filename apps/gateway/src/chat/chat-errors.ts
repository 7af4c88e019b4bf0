import { HttpStatus } from '@nestjs/common';
import { GrpcStatus } from '@ragmesh/contracts';
import type { Response } from 'express';
import { ApiError } from '../http/api-error';
import { grpcErrorMessage, grpcToHttpStatus, isGrpcError } from '../http/grpc-errors';
import { redactAddresses } from '../http/redact';
import { errorCodeFor, type StreamEvents } from './named-sse';

/** The proxy's trailing metadata on RESOURCE_EXHAUSTED: how long to wait before trying again. */
export const RETRY_AFTER_METADATA = 'retry-after-ms';
/** Without the proxy's hint, a client is told to wait this long. */
export const DEFAULT_RETRY_AFTER_SECONDS = 1;

interface MetadataLike {
  get(key: string): unknown[];
}

/** Whole seconds for the Retry-After header, from the proxy's `retry-after-ms` (rounded up, at least 1). */
export function retryAfterSeconds(err: unknown): number {
  const metadata = (err as { metadata?: MetadataLike }).metadata;
  const raw = typeof metadata?.get === 'function' ? metadata.get(RETRY_AFTER_METADATA)[0] : undefined;
  const ms = Number(typeof raw === 'string' || typeof raw === 'number' ? raw : Buffer.isBuffer(raw) ? raw.toString() : NaN);
  if (!Number.isFinite(ms) || ms <= 0) return DEFAULT_RETRY_AFTER_SECONDS;
  return Math.max(1, Math.ceil(ms / 1000));
}

/**
 * A failure before the answer started, as the HTTP error the client sees: images for a model no
 * multimodal upstream serves → 422 with the proxy's reason; the proxy's queue full → 429 with
 * Retry-After; anything else is left to the global filter.
 */
export function beforeStartError(err: unknown, res: Response): unknown {
  if (!isGrpcError(err)) return err;
  if (err.code === GrpcStatus.FAILED_PRECONDITION) return new ApiError(HttpStatus.UNPROCESSABLE_ENTITY, grpcErrorMessage(err));
  if (err.code === GrpcStatus.RESOURCE_EXHAUSTED && !res.headersSent) res.setHeader('Retry-After', String(retryAfterSeconds(err)));
  return err;
}

/** HTTP status and message of a failure reported inside a stream or a callback; addresses redacted, as in error bodies. */
export function describeFailure(err: unknown): { message: string; status: number } {
  if (isGrpcError(err)) {
    const status = err.code === GrpcStatus.FAILED_PRECONDITION ? HttpStatus.UNPROCESSABLE_ENTITY : grpcToHttpStatus(err.code);
    return { message: redactAddresses(grpcErrorMessage(err)), status };
  }
  if (err instanceof ApiError) return { message: redactAddresses(err.message), status: err.getStatus() };
  return { message: 'internal error', status: HttpStatus.INTERNAL_SERVER_ERROR };
}

export function errorEvent(err: unknown): StreamEvents['error'] {
  const { message, status } = describeFailure(err);
  return { code: errorCodeFor(status), message, status };
}
