export { ConfigError } from './config-error';
export { env, commonEnv, NODE_ENVS, DEFAULT_DATABASE_URL, DEFAULT_AMQP_URL } from './env';
export type { EnvSchema, NodeEnv, LogLevel } from './env';
export { loadConfig } from './load-config';
