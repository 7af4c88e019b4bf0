import { ConfigError } from '@ragmesh/config';
import { DEV_SIGNING_SECRET, loadAppConfig } from './config';

describe('feedback-worker config', () => {
  it('runs locally with defaults', () => {
    expect(loadAppConfig({})).toMatchObject({ OPS_PORT: 9104, GENERATION_GRPC_URL: '127.0.0.1:50052', FEEDBACK_SIGNING_SECRET: DEV_SIGNING_SECRET, FEEDBACK_CALLBACK_TIMEOUT_MS: 10_000 });
  });

  it('refuses the development signing secret in production, naming the variable', () => {
    expect(() => loadAppConfig({ NODE_ENV: 'production' })).toThrow(ConfigError);
    expect(() => loadAppConfig({ NODE_ENV: 'production' })).toThrow('invalid configuration for feedback-worker: FEEDBACK_SIGNING_SECRET');
    expect(loadAppConfig({ NODE_ENV: 'production', FEEDBACK_SIGNING_SECRET: 'real' }).FEEDBACK_SIGNING_SECRET).toBe('real');
  });
});
