import { commonEnv, env, loadConfig } from '@ragmesh/config';
import { outboundEnv } from '@ragmesh/outbound';
import { hostname } from 'node:os';
import { z } from 'zod';
import { defaultReplicaId, REPLICA_ID_PATTERN, REPLICA_ID_RULE } from './chat/stream-id';

/** Unset or blank → undefined, so the default is computed from the rest of the configuration. */
const blankToUndefined = (v: unknown): unknown => (typeof v === 'string' && v.trim() === '' ? undefined : typeof v === 'string' ? v.trim() : v);

/** Forwarding uses node:http: a plain http origin (optionally a path prefix), no credentials, query or fragment. */
function isInternalBaseUrl(raw: string): boolean {
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' && url.hostname !== '' && url.username === '' && url.password === '' && url.search === '' && url.hash === '';
  } catch {
    return false;
  }
}

const replicaIdSchema = z.preprocess(blankToUndefined, z.string().regex(REPLICA_ID_PATTERN, REPLICA_ID_RULE).optional());
// The value is not echoed: a URL may carry credentials.
const internalUrlSchema = z.preprocess(
  blankToUndefined,
  z
    .string()
    .refine(isInternalBaseUrl, 'must be an http:// URL without credentials, query or fragment, e.g. http://10.0.0.7:3000')
    .optional(),
);

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
  // PostgreSQL connections of this process (node-postgres' default is 10). Every chat turn reads its conversation before the
  // first token and the security layer counts in PostgreSQL too: at 1000 streams 10 made requests queue for a connection.
  DB_POOL_SIZE: env.int(20, { min: 1, max: 1_000 }),
  // Chat (issue 5; README "Chat API"). Query rewrite before retrieval: auto = the LLM when an upstream serves the model, else the rules.
  CHAT_QUERY_REWRITE: env.oneOf(['auto', 'llm', 'rules'] as const, 'auto'),
  // Budget for all LLM rewrite attempts together; past it the rules answer.
  CHAT_REWRITE_TIMEOUT_MS: env.int(5_000, { min: 100, max: 60_000 }),
  // Prompt tokens (persona + context + memory + question); the oldest memory goes first, then the weakest context.
  CHAT_PROMPT_TOKEN_BUDGET: env.int(6_000, { min: 64, max: 1_000_000 }),
  // System persona when a request brings none; empty: the proxy's default.
  CHAT_PERSONA: env.str(''),
  // How long a finished native stream stays resumable (Last-Event-ID); 0: only while it runs.
  CHAT_RESUME_RETENTION_MS: env.int(120_000, { min: 0, max: 86_400_000 }),
  // How long generation goes on after the last client left, waiting for a resume; 0: cancel upstream at once.
  CHAT_RESUME_GRACE_MS: env.int(3_000, { min: 0, max: 600_000 }),
  // Streams kept for resuming (≈ 106 bytes of heap per token: 2,000 × 500 tokens ≈ 100 MB); past it the oldest finished go first.
  CHAT_RESUME_MAX_STREAMS: env.int(2_000, { min: 1, max: 1_000_000 }),
  // Resume on any replica (README "Resume"): this process's name in stream ids and in the gateway.replicas table.
  // Default: the host name's first label plus 6 random hex digits, new on every start.
  GATEWAY_REPLICA_ID: replicaIdSchema,
  // Where the other replicas reach this one to forward a resume; default http://<host name>:<GATEWAY_PORT> (k8s: the pod IP).
  GATEWAY_INTERNAL_URL: internalUrlSchema,
  // How often this replica refreshes its row; a replica not seen for 3 heartbeats counts as gone.
  GATEWAY_REPLICA_HEARTBEAT_MS: env.int(10_000, { min: 100, max: 300_000 }),
  // Callback streaming (response_url): text is buffered this long between POSTs.
  CHAT_CALLBACK_FLUSH_MS: env.int(1_000, { min: 10, max: 60_000 }),
  // Hosts/CIDRs a response_url may reach although not public (e.g. "127.0.0.0/8" in tests); empty: public internet only.
  ...outboundEnv,
  // Access and limits (issue 9; README "Security").
  // A key ensured at start with every scope (tests, `npm start`'s development key); empty: none.
  RAGMESH_BOOTSTRAP_API_KEY: env.str(''),
  BOOTSTRAP_TENANT: env.str('default'),
  // Comma-separated origins allowed by CORS; empty: no cross-origin browser access.
  CORS_ORIGINS: env.str(''),
  // Where per-key counters live so every replica sees the same numbers; memory is for a single process only.
  RATE_LIMIT_STORE: env.oneOf(['postgres', 'redis', 'memory'] as const, 'postgres'),
  REDIS_URL: env.url('redis://127.0.0.1:6379'),
  RATE_LIMIT_REQUESTS_PER_MIN: env.int(1200, { min: 1, max: 10_000_000 }),
  RATE_LIMIT_TOKENS_PER_MIN: env.int(1_000_000, { min: 1, max: 1_000_000_000 }),
  RATE_LIMIT_CONCURRENT_STREAMS: env.int(64, { min: 1, max: 100_000 }),
  // Found API keys are kept in process memory this long (0: read PostgreSQL on every request). A key revoked through
  // another replica or the CLI still works here for at most this long; through this replica's admin API, not at all.
  AUTH_CACHE_TTL_MS: env.int(5_000, { min: 0, max: 300_000 }),
  // Keys kept by that cache (least recently used go first); also bounds the in-memory last_used_at throttle.
  AUTH_CACHE_MAX_KEYS: env.int(10_000, { min: 1, max: 1_000_000 }),
  DOCUMENTS_BODY_LIMIT: env.str('10mb'),
  DOCUMENTS_MAX_PER_BATCH: env.int(100, { min: 1, max: 10_000 }),
  CHAT_MAX_MESSAGES: env.int(200, { min: 1, max: 10_000 }),
  CHAT_MAX_PROMPT_TOKENS: env.int(32_000, { min: 1, max: 10_000_000 }),
  // Non-streaming requests still unanswered after this get 408; streams are bounded by the generation deadline instead.
  REQUEST_TIMEOUT_MS: env.int(60_000, { min: 100, max: 3_600_000 }),
  // SIGTERM: time given to in-flight requests after streams were told and the listener closed.
  SHUTDOWN_GRACE_MS: env.int(10_000, { min: 0, max: 600_000 }),
  // SIGTERM: /health/ready answers 503 for this long before the listener closes (set it to the load balancer's probe period × failures).
  SHUTDOWN_READY_DELAY_MS: env.int(0, { min: 0, max: 120_000 }),
};

export type AppConfig = ReturnType<typeof loadAppConfig>;

export const loadAppConfig = (source: NodeJS.ProcessEnv = process.env) => {
  const config = loadConfig('gateway', SHAPE, source);
  return {
    ...config,
    GATEWAY_REPLICA_ID: config.GATEWAY_REPLICA_ID ?? defaultReplicaId(hostname()),
    GATEWAY_INTERNAL_URL: (config.GATEWAY_INTERNAL_URL ?? `http://${hostname()}:${config.GATEWAY_PORT}`).replace(/\/+$/, ''),
  };
};

export const APP_CONFIG = Symbol('APP_CONFIG');
