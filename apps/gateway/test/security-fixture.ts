import * as grpc from '@grpc/grpc-js';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { generation, retrieval } from '@ragmesh/contracts';
import { DATA_SOURCE } from '@ragmesh/persistence';
import type { AddressInfo } from 'node:net';
import type { DataSource } from 'typeorm';
import { createGatewayApp } from '../src/app';
import { loadAppConfig } from '../src/config';
import { TEST_API_KEY } from './auth';
import { startFakeGrpc } from './fake-grpc';

type Handlers = grpc.UntypedServiceImplementation;

function grpcError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}

const chunk = (delta: string): generation.GenerateChunk => ({ delta, finishReason: '', usage: undefined, model: '', upstream: '' });

/** What the fakes were asked, for assertions on what the gateway sends on. */
export const fakeCalls = { searches: [] as retrieval.SearchRequest[], ingests: [] as retrieval.IngestDocumentRequest[] };

/** Plausible retrieval and generation: unknown document ids are NOT_FOUND, `HOLD` questions stream until cancelled, `HANG` searches never answer. */
export const fakeRetrieval: Handlers = {
  IngestDocument: (call: grpc.ServerUnaryCall<retrieval.IngestDocumentRequest, unknown>, cb: grpc.sendUnaryData<retrieval.IngestDocumentResponse>) => {
    fakeCalls.ingests.push(call.request);
    if (call.request.content.includes('REJECT')) return cb(grpcError(grpc.status.INVALID_ARGUMENT, 'content: rejected by retrieval'));
    cb(null, { documentId: call.request.id || `gen-${Date.now()}-${Math.random().toString(36).slice(2)}`, chunkCount: 1, replaced: false });
  },
  DeleteDocument: (call: grpc.ServerUnaryCall<retrieval.DeleteDocumentRequest, unknown>, cb: grpc.sendUnaryData<retrieval.DeleteDocumentResponse>) => {
    if (!call.request.id.startsWith('doc-')) return cb(grpcError(grpc.status.NOT_FOUND, `document ${call.request.id} not found`));
    cb(null, { documentId: call.request.id, deleted: true });
  },
  Search: (call: grpc.ServerUnaryCall<retrieval.SearchRequest, unknown>, cb: grpc.sendUnaryData<retrieval.SearchResponse>) => {
    fakeCalls.searches.push(call.request);
    if (call.request.query.includes('HANG')) return;
    cb(null, { results: [], tookMs: 1 });
  },
  GetChunk: (_call: unknown, cb: grpc.sendUnaryData<retrieval.Chunk>) => cb(grpcError(grpc.status.NOT_FOUND, 'no such chunk')),
};

export const fakeGeneration: Handlers = {
  GenerateStream: (call: grpc.ServerWritableStream<generation.GenerateRequest, generation.GenerateChunk>) => {
    const question = call.request.messages.map((m) => m.content).join(' ');
    call.write(chunk('Seoul '));
    if (question.includes('HOLD')) {
      const timer = setInterval(() => call.write(chunk('. ')), 200);
      call.on('cancelled', () => clearInterval(timer));
      return;
    }
    call.write({ delta: '', finishReason: 'stop', usage: { promptTokens: 5, completionTokens: 1, totalTokens: 6 }, model: 'fake-model', upstream: 'fake' });
    call.end();
  },
  Generate: (_call: unknown, cb: grpc.sendUnaryData<generation.GenerateResponse>) =>
    cb(null, { text: 'ok', finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, model: 'fake-model', upstream: 'fake' }),
  Summarize: (_call: unknown, cb: grpc.sendUnaryData<generation.SummarizeResponse>) => cb(grpcError(grpc.status.UNIMPLEMENTED, 'not in the fake')),
  ListModels: (_call: unknown, cb: grpc.sendUnaryData<generation.ListModelsResponse>) => cb(null, { models: [{ id: 'fake-model', ownedBy: 'fake', upstream: 'fake', kind: 'chat' }] }),
};

export interface TestGateway {
  app: NestExpressApplication;
  base: string;
  ds: DataSource;
  close(): Promise<void>;
}

/** The gateway in-process on a random port, in front of the fakes, with the test key seeded; `env` overrides its config. */
export async function startTestGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const fake = await startFakeGrpc(fakeRetrieval, fakeGeneration);
  const config = loadAppConfig({
    ...process.env,
    RAGMESH_BOOTSTRAP_API_KEY: TEST_API_KEY,
    LOG_LEVEL: 'warn',
    RETRIEVAL_GRPC_URL: `127.0.0.1:${fake.port}`,
    GENERATION_GRPC_URL: `127.0.0.1:${fake.port}`,
    ...env,
  });
  const app = await createGatewayApp(config);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    base: `http://127.0.0.1:${port}`,
    ds: app.get<DataSource>(DATA_SOURCE),
    close: async () => {
      await app.close();
      fake.server.forceShutdown();
    },
  };
}
