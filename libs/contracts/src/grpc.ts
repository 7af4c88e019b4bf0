import { Metadata, status } from '@grpc/grpc-js';
import { firstValueFrom, lastValueFrom, Observable, toArray } from 'rxjs';

/** Every gRPC call carries a deadline; these are the named defaults (ms). */
export const GrpcDeadlines = {
  search: 5_000,
  ingest: 30_000,
  generate: 120_000,
  summarize: 60_000,
  registry: 5_000,
} as const;

export const CORRELATION_METADATA_KEY = 'x-correlation-id';

/**
 * Nest's ClientGrpc forwards extra arguments to grpc-js, so `(request, metadata, options)`
 * reaches the wire with its deadline; ts-proto's client interfaces only type the first two.
 */
export type CallWithOptions<Req, Res> = (request: Req, metadata: Metadata, options: { deadline: Date }) => Observable<Res>;

export function unary<Req, Res>(
  method: (request: Req, metadata?: Metadata) => Observable<Res>,
  request: Req,
  metadata: Metadata,
  deadlineMs: number,
): Promise<Res> {
  const call = method as unknown as CallWithOptions<Req, Res>;
  return firstValueFrom(call(request, metadata, { deadline: new Date(Date.now() + deadlineMs) }));
}

export function serverStream<Req, Res>(
  method: (request: Req, metadata?: Metadata) => Observable<Res>,
  request: Req,
  metadata: Metadata,
  deadlineMs: number,
): Observable<Res> {
  const call = method as unknown as CallWithOptions<Req, Res>;
  return call(request, metadata, { deadline: new Date(Date.now() + deadlineMs) });
}

export async function collect<T>(stream: Observable<T>): Promise<T[]> {
  return lastValueFrom(stream.pipe(toArray()));
}

/** The status a failed grpc-js call carries in `code`, or undefined when the error has none. */
export function grpcStatusOf(err: unknown): status | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'number' && status[code] !== undefined ? (code as status) : undefined;
}

/** The server's text of a failed call (grpc-js puts it in `details`), else the error's message. */
export function grpcErrorDetails(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'details' in err && typeof err.details === 'string' && err.details) return err.details;
  return err instanceof Error ? err.message : String(err);
}

export { status as GrpcStatus };
