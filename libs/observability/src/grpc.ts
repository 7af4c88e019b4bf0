import { Metadata, Server, status } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { CallHandler, ExecutionContext, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { hasServiceToken, SERVICE_TOKEN_METADATA_KEY } from '@ragmesh/contracts';
import { HealthImplementation, ServingStatusMap } from 'grpc-health-check';
import { Observable } from 'rxjs';
import { acceptCorrelationId, CORRELATION_HEADER, getCorrelationId, newCorrelationId, runWithCorrelationId } from './correlation';
import { getOrCreateCounter, getOrCreateHistogram, metricsRegistry } from './metrics';

export const GRPC_HANDLED_METRIC = 'ragmesh_grpc_server_handled_total';
export const GRPC_DURATION_METRIC = 'ragmesh_grpc_server_handling_seconds';
// Streaming generation can run for minutes; the top buckets keep those visible.
const GRPC_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

function isGrpcCode(value: unknown): value is status {
  return typeof value === 'number' && Number.isInteger(value) && status[value] !== undefined;
}

/** The gRPC status an error will end the call with (as Nest's RPC exception filter sends it). */
export function grpcCodeOf(err: unknown): status {
  const payload: unknown = err instanceof RpcException ? err.getError() : err;
  if (typeof payload === 'object' && payload !== null && 'code' in payload) {
    const code = (payload as { code: unknown }).code;
    if (isGrpcCode(code)) return code;
  }
  return status.UNKNOWN;
}

function metadataFrom(value: unknown): Metadata | undefined {
  return value instanceof Metadata ? value : undefined;
}

/** "/ragmesh.v1.RetrievalService/Search" from the call when available, else Class/handler. */
function methodName(context: ExecutionContext): string {
  const call: unknown = context.getArgByIndex(2);
  if (typeof call === 'object' && call !== null && 'getPath' in call && typeof call.getPath === 'function') {
    const path: unknown = (call as { getPath(): unknown }).getPath();
    if (typeof path === 'string' && path !== '') return path;
  }
  return `${context.getClass().name}/${context.getHandler().name}`;
}

/**
 * Server side of correlation for @GrpcMethod handlers: the handler (and the Observable or
 * Promise it returns) runs inside the caller's x-correlation-id, and every call is counted
 * in ragmesh_grpc_server_handled_total{method,code} and its duration in
 * ragmesh_grpc_server_handling_seconds{method,code}.
 */
@Injectable()
export class GrpcCorrelationInterceptor implements NestInterceptor {
  private readonly handled = getOrCreateCounter(
    metricsRegistry,
    GRPC_HANDLED_METRIC,
    'gRPC calls completed on the server, by method and status code',
    ['method', 'code'],
  );
  private readonly duration = getOrCreateHistogram(
    metricsRegistry,
    GRPC_DURATION_METRIC,
    'gRPC call duration on the server until the last message, by method and status code',
    ['method', 'code'],
    GRPC_DURATION_BUCKETS,
  );
  // One line per call, like pino-http's for HTTP: the id in it ties the hops of a request together.
  private readonly logger = new Logger('grpc');

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'rpc') return next.handle();
    const metadata = metadataFrom(context.switchToRpc().getContext());
    const id = acceptCorrelationId(metadata?.get(CORRELATION_HEADER)) ?? newCorrelationId();
    const method = methodName(context);

    return new Observable<unknown>((subscriber) => {
      const stopTimer = this.duration.startTimer({ method });
      let finished = false;
      const finish = (code: status): void => {
        if (finished) return;
        finished = true;
        const seconds = stopTimer({ code: status[code] });
        this.handled.inc({ method, code: status[code] });
        runWithCorrelationId(id, () => this.logger.log({ method, code: status[code], ms: Math.round(seconds * 1000) }, 'grpc call handled'));
      };
      // Only mesh services call these servers: a call without the shared token never reaches the handler.
      if (!hasServiceToken(metadata)) {
        finish(status.UNAUTHENTICATED);
        subscriber.error(new RpcException({ code: status.UNAUTHENTICATED, message: `missing or wrong service token (${SERVICE_TOKEN_METADATA_KEY})` }));
        return undefined;
      }
      // Subscribing inside the context makes the handler and everything it starts see the id.
      const subscription = runWithCorrelationId(id, () =>
        next.handle().subscribe({
          next: (value) => subscriber.next(value),
          error: (err: unknown) => {
            finish(grpcCodeOf(err));
            subscriber.error(err);
          },
          complete: () => {
            finish(status.OK);
            subscriber.complete();
          },
        }),
      );
      return () => {
        // Unsubscribed before the end: the client cancelled (or the deadline passed).
        finish(status.CANCELLED);
        subscription.unsubscribe();
      };
    });
  }
}

/** Client side: metadata carrying the current correlation id, for every outgoing gRPC call. */
export function outgoingMetadata(): Metadata {
  const metadata = new Metadata();
  const id = getCorrelationId();
  if (id !== undefined) metadata.set(CORRELATION_HEADER, id);
  return metadata;
}

export interface GrpcHealthHandle {
  setServing(serving: boolean): void;
}

/** The fully qualified names in the package definition that a short or full name refers to. */
function qualifiedNames(packageDefinition: PackageDefinition, name: string): string[] {
  const services = Object.keys(packageDefinition).filter((key) => {
    const entry = packageDefinition[key] as unknown;
    // Service definitions are maps of method definitions; messages and enums carry `format`.
    return typeof entry === 'object' && entry !== null && !('format' in entry);
  });
  const matches = services.filter((key) => key === name || key.endsWith(`.${name}`));
  return matches.length > 0 ? matches : [name];
}

/**
 * The standard grpc.health.v1 service and server reflection on a gRPC server. Call it from
 * Nest's onLoadPackageDefinition(pkg, server). Names may be short ("RetrievalService", as
 * ts-proto exports them) or fully qualified; both are registered for health checks.
 * Reflection is on unless NODE_ENV=production (it is a development aid).
 */
export function addGrpcHealthAndReflection(
  server: Server,
  packageDefinition: object,
  serviceNames: string[],
  opts: { reflection?: boolean } = {},
): GrpcHealthHandle {
  const pkg = packageDefinition as PackageDefinition;
  const names = new Set<string>(['']);
  for (const name of serviceNames) {
    names.add(name);
    for (const qualified of qualifiedNames(pkg, name)) names.add(qualified);
  }
  const initial: ServingStatusMap = {};
  for (const name of names) initial[name] = 'SERVING';
  const health = new HealthImplementation(initial);
  health.addToServer(server);

  if (opts.reflection ?? process.env.NODE_ENV !== 'production') {
    new ReflectionService(pkg).addToServer(server);
  }

  return {
    setServing(serving: boolean): void {
      for (const name of names) health.setStatus(name, serving ? 'SERVING' : 'NOT_SERVING');
    },
  };
}
