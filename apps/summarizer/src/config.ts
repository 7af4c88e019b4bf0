import { commonEnv, env, loadConfig } from '@ragmesh/config';

export const SERVICE_NAME = 'summarizer';

/** Summaries replace raw history in prompts; longer than three sentences and they stop being a summary. */
export const MAX_SUMMARY_SENTENCES = 3;

export const SHAPE = {
  ...commonEnv,
  OPS_PORT: env.port(9105),
  GENERATION_GRPC_URL: env.hostPort('127.0.0.1:50052'),
  SUMMARY_MAX_SENTENCES: env.int(MAX_SUMMARY_SENTENCES, { min: 1, max: MAX_SUMMARY_SENTENCES }),
};

export type AppConfig = ReturnType<typeof loadAppConfig>;

export const loadAppConfig = (source: NodeJS.ProcessEnv = process.env) => loadConfig(SERVICE_NAME, SHAPE, source);

export const APP_CONFIG = Symbol('SUMMARIZER_CONFIG');
