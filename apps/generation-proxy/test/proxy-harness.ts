import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { generation, PROTO_LOADER_OPTIONS, protoPath, serviceMetadata } from '@ragmesh/contracts';
import { freePort } from '@ragmesh/testing';
import { RunningGenerationProxy, startGenerationProxy } from '../src/app';
import { loadAppConfig } from '../src/config';

/** A real generation-proxy on free ports, and a plain grpc-js client of it, for integration specs. */
export type GenerationClient = grpc.Client & {
  generateStream(
    req: Partial<generation.GenerateRequest>,
    metadata?: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<generation.GenerateChunk>;
};

const definition = protoLoader.loadSync(protoPath('generation'), PROTO_LOADER_OPTIONS);
const ragmesh = grpc.loadPackageDefinition(definition).ragmesh as grpc.GrpcObject;
export const GenerationService = (ragmesh.v1 as grpc.GrpcObject).GenerationService as grpc.ServiceClientConstructor;

export { freePort };

export interface BootedProxy {
  proxy: RunningGenerationProxy;
  client: GenerationClient;
  metrics(): Promise<string>;
  close(): Promise<void>;
}

export async function bootProxy(env: Record<string, string>): Promise<BootedProxy> {
  const port = await freePort();
  const config = loadAppConfig({ LOG_LEVEL: 'silent', GENERATION_GRPC_PORT: String(port), OPS_PORT: '0', GENERATION_HEALTH_INTERVAL_MS: '0', ...env });
  const proxy = await startGenerationProxy(config);
  const client = new GenerationService(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as GenerationClient;
  return {
    proxy,
    client,
    metrics: async () => (await fetch(`http://127.0.0.1:${proxy.opsPort}/metrics`)).text(),
    close: async () => {
      client.close();
      await proxy.close();
    },
  };
}

export interface StreamResult {
  text: string;
  chunks: generation.GenerateChunk[];
  error?: grpc.ServiceError;
}

/** Runs one stream to its end; an error is returned with the text that arrived before it. */
export function runStream(
  client: GenerationClient,
  request: Partial<generation.GenerateRequest> = {},
  deadlineMs = 10_000,
): { call: grpc.ClientReadableStream<generation.GenerateChunk>; result: Promise<StreamResult> } {
  const call = client.generateStream({ messages: [{ role: 'user', content: 'hi' }], ...request }, serviceMetadata(), {
    deadline: new Date(Date.now() + deadlineMs),
  });
  const chunks: generation.GenerateChunk[] = [];
  const text = () => chunks.map((c) => c.delta).join('');
  const result = new Promise<StreamResult>((resolve) => {
    call.on('data', (c: generation.GenerateChunk) => chunks.push(c));
    call.on('error', (error: grpc.ServiceError) => resolve({ text: text(), chunks, error }));
    call.on('end', () => resolve({ text: text(), chunks }));
  });
  return { call, result };
}

export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
