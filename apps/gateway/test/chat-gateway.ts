import type * as grpc from '@grpc/grpc-js';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AddressInfo } from 'node:net';
import { createGatewayApp } from '../src/app';
import { loadAppConfig } from '../src/config';
import { TEST_API_KEY } from './auth';
import { startFakeGrpc } from './fake-grpc';

export interface ChatGateway {
  app: NestExpressApplication;
  base: string;
  close(): Promise<void>;
}

/**
 * The in-process gateway on a random port, on the real PostgreSQL and RabbitMQ, with its
 * retrieval and generation clients pointed at grpc-js fakes built from the given handlers.
 */
export async function startChatGateway(
  retrievalHandlers: grpc.UntypedServiceImplementation,
  generationHandlers: grpc.UntypedServiceImplementation,
  env: Record<string, string> = {},
): Promise<ChatGateway> {
  const fake = await startFakeGrpc(retrievalHandlers, generationHandlers);
  const config = loadAppConfig({
    ...process.env,
    RAGMESH_BOOTSTRAP_API_KEY: TEST_API_KEY,
    DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/ragmesh',
    AMQP_URL: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    RETRIEVAL_GRPC_URL: `127.0.0.1:${fake.port}`,
    GENERATION_GRPC_URL: `127.0.0.1:${fake.port}`,
    ...env,
  });
  const app = await createGatewayApp(config);
  await app.listen(0, '127.0.0.1');
  return {
    app,
    base: `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`,
    close: async () => {
      await app.close();
      fake.server.forceShutdown();
    },
  };
}
