import { commonEnv, env, loadConfig } from '@ragmesh/config';

export const SHAPE = {
  ...commonEnv,
  GATEWAY_PORT: env.port(3000),
  RETRIEVAL_GRPC_URL: env.hostPort('127.0.0.1:50051'),
  GENERATION_GRPC_URL: env.hostPort('127.0.0.1:50052'),
  REGISTRY_GRPC_URL: env.hostPort('127.0.0.1:50053'),
  // Turns of raw history put into the prompt when the conversation has no summary yet.
  CHAT_HISTORY_TURNS: env.int(6, { min: 0, max: 100 }),
  CHAT_TOP_K: env.int(5, { min: 1, max: 50 }),
  // Comment pings on the native SSE stream while nothing else is sent, so idle proxies and load balancers keep it open.
  CHAT_HEARTBEAT_MS: env.int(5000, { min: 10, max: 60_000 }),
  BODY_LIMIT: env.str('1mb'),
};

export type AppConfig = ReturnType<typeof loadAppConfig>;

export const loadAppConfig = (source: NodeJS.ProcessEnv = process.env) => loadConfig('gateway', SHAPE, source);

export const APP_CONFIG = Symbol('APP_CONFIG');
