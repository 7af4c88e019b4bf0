import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { CallHandler } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { RpcException } from '@nestjs/microservices';
import { PROTO_LOADER_OPTIONS, protoPath, SERVICE_TOKEN_METADATA_KEY, serviceToken } from '@ragmesh/contracts';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { setTimeout as sleep } from 'node:timers/promises';
import { defer, firstValueFrom, from, lastValueFrom, Observable, toArray } from 'rxjs';
import {
  addGrpcHealthAndReflection,
  getCorrelationId,
  GRPC_HANDLED_METRIC,
  GrpcCorrelationInterceptor,
  metricsRegistry,
  outgoingMetadata,
  runWithCorrelationId,
} from './index';

class SearchController {
  search(): void {}
}

function rpcContext(metadata: grpc.Metadata, path = '/ragmesh.v1.RetrievalService/Search', withToken = true): ExecutionContextHost {
  if (withToken) metadata.set(SERVICE_TOKEN_METADATA_KEY, serviceToken());
  const call = { getPath: () => path };
  const ctx = new ExecutionContextHost([{ query: 'q' }, metadata, call], SearchController, SearchController.prototype.search);
  ctx.setType('rpc');
  return ctx;
}

async function handledCount(method: string, code: string): Promise<number> {
  const metric = metricsRegistry.getSingleMetric(GRPC_HANDLED_METRIC);
  if (!metric) return 0;
  const values = (await metric.get()).values;
  return values.find((v) => v.labels.method === method && v.labels.code === code)?.value ?? 0;
}

describe('GrpcCorrelationInterceptor', () => {
  const interceptor = new GrpcCorrelationInterceptor();

  it('refuses a call without the service token (or with a wrong one) as UNAUTHENTICATED, before the handler runs', async () => {
    const method = '/ragmesh.v1.RetrievalService/Search';
    const before = await handledCount(method, 'UNAUTHENTICATED');
    let ran = 0;
    const handler: CallHandler = { handle: () => defer(async () => ++ran) };
    const wrong = new grpc.Metadata();
    wrong.set(SERVICE_TOKEN_METADATA_KEY, 'not-the-token');
    for (const metadata of [new grpc.Metadata(), wrong]) {
      const call = lastValueFrom(interceptor.intercept(rpcContext(metadata, method, false), handler));
      await expect(call).rejects.toBeInstanceOf(RpcException);
      await expect(call).rejects.toMatchObject({ error: { code: grpc.status.UNAUTHENTICATED } });
    }
    expect(ran).toBe(0);
    expect(await handledCount(method, 'UNAUTHENTICATED')).toBe(before + 2);
  });

  it('runs a Promise handler inside the id from the metadata and counts OK', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-correlation-id', 'grpc-caller-1');
    const method = '/ragmesh.v1.RetrievalService/Search';
    const before = await handledCount(method, 'OK');
    const handler: CallHandler = {
      handle: () =>
        defer(async () => {
          await sleep(2);
          return getCorrelationId();
        }),
    };
    // Nest subscribes to the end (lastValueFrom), as its gRPC server does.
    const seen = await lastValueFrom(interceptor.intercept(rpcContext(metadata), handler));
    expect(seen).toBe('grpc-caller-1');
    expect(await handledCount(method, 'OK')).toBe(before + 1);
  });

  it('keeps the id for every message of a streaming (Observable) handler', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-correlation-id', 'stream-7');
    const handler: CallHandler = {
      handle: () =>
        new Observable<string | undefined>((subscriber) => {
          void (async () => {
            for (let i = 0; i < 3; i++) {
              await sleep(1);
              subscriber.next(getCorrelationId());
            }
            subscriber.complete();
          })();
        }),
    };
    const seen = await lastValueFrom(
      interceptor.intercept(rpcContext(metadata, '/ragmesh.v1.GenerationService/Generate'), handler).pipe(toArray()),
    );
    expect(seen).toEqual(['stream-7', 'stream-7', 'stream-7']);
  });

  it('makes an id when the metadata has none', async () => {
    const handler: CallHandler = { handle: () => defer(async () => getCorrelationId()) };
    const seen = await firstValueFrom(interceptor.intercept(rpcContext(new grpc.Metadata()), handler));
    expect(seen).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("counts a thrown error under its gRPC code and passes the error on", async () => {
    const method = '/ragmesh.v1.RetrievalService/Ingest';
    const before = await handledCount(method, 'INVALID_ARGUMENT');
    const error = new RpcException({ code: grpc.status.INVALID_ARGUMENT, message: 'query: required' });
    const handler: CallHandler = { handle: () => from(Promise.reject(error)) };
    await expect(firstValueFrom(interceptor.intercept(rpcContext(new grpc.Metadata(), method), handler))).rejects.toBe(error);
    expect(await handledCount(method, 'INVALID_ARGUMENT')).toBe(before + 1);

    const unknownBefore = await handledCount(method, 'UNKNOWN');
    const plain: CallHandler = { handle: () => from(Promise.reject(new Error('boom'))) };
    await expect(firstValueFrom(interceptor.intercept(rpcContext(new grpc.Metadata(), method), plain))).rejects.toThrow('boom');
    expect(await handledCount(method, 'UNKNOWN')).toBe(unknownBefore + 1);
  });

  it('counts an unsubscribe before the end as CANCELLED', async () => {
    const method = '/ragmesh.v1.GenerationService/Cancelled';
    const before = await handledCount(method, 'CANCELLED');
    const handler: CallHandler = { handle: () => new Observable<number>((subscriber) => subscriber.next(1)) };
    await firstValueFrom(interceptor.intercept(rpcContext(new grpc.Metadata(), method), handler));
    expect(await handledCount(method, 'CANCELLED')).toBe(before + 1);
  });

  it('leaves non-rpc contexts alone', async () => {
    const ctx = new ExecutionContextHost([], SearchController, SearchController.prototype.search);
    ctx.setType('http');
    const handler: CallHandler = { handle: () => defer(async () => getCorrelationId()) };
    await expect(firstValueFrom(interceptor.intercept(ctx, handler))).resolves.toBeUndefined();
  });
});

describe('outgoingMetadata', () => {
  it('carries the current id, and nothing outside a context', () => {
    const inside = runWithCorrelationId('out-1', () => outgoingMetadata());
    expect(inside.get('x-correlation-id')).toEqual(['out-1']);
    expect(outgoingMetadata().get('x-correlation-id')).toEqual([]);
  });
});

interface HealthClient extends grpc.Client {
  check(
    req: { service: string },
    cb: (err: grpc.ServiceError | null, res?: { status: string }) => void,
  ): grpc.ClientUnaryCall;
}

describe('addGrpcHealthAndReflection', () => {
  let server: grpc.Server;
  let client: HealthClient;
  let handle: ReturnType<typeof addGrpcHealthAndReflection>;

  beforeAll(async () => {
    const packageDefinition = protoLoader.loadSync(protoPath('retrieval'), PROTO_LOADER_OPTIONS);
    server = new grpc.Server();
    handle = addGrpcHealthAndReflection(server, packageDefinition, ['RetrievalService'], { reflection: true });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const healthPkg = grpc.loadPackageDefinition(protoLoader.loadSync(healthProtoPath, { enums: String })) as unknown as {
      grpc: { health: { v1: { Health: new (address: string, creds: grpc.ChannelCredentials) => HealthClient } } };
    };
    client = new healthPkg.grpc.health.v1.Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  });

  const check = (service: string) =>
    new Promise<string>((resolve, reject) =>
      client.check({ service }, (err, res) => (err ? reject(err) : resolve(res?.status ?? ''))),
    );

  it('answers the standard health service for the server, short and qualified names', async () => {
    await expect(check('')).resolves.toBe('SERVING');
    await expect(check('RetrievalService')).resolves.toBe('SERVING');
    await expect(check('ragmesh.v1.RetrievalService')).resolves.toBe('SERVING');
    await expect(check('ragmesh.v1.Nope')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it('reports NOT_SERVING after setServing(false)', async () => {
    handle.setServing(false);
    await expect(check('ragmesh.v1.RetrievalService')).resolves.toBe('NOT_SERVING');
    await expect(check('')).resolves.toBe('NOT_SERVING');
    handle.setServing(true);
    await expect(check('')).resolves.toBe('SERVING');
  });
});
