import { ConfigError } from '@ragmesh/config';
import { DEV_SIGNING_SECRET, loadAppConfig } from './config';
import { dataSourceOptions } from './persistence/data-source';

const REAL_SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

describe('feedback-worker config', () => {
  it('runs locally with defaults', () => {
    expect(loadAppConfig({})).toMatchObject({
      OPS_PORT: 9104,
      GENERATION_GRPC_URL: '127.0.0.1:50052',
      FEEDBACK_SIGNING_SECRET: DEV_SIGNING_SECRET,
      FEEDBACK_CALLBACK_TIMEOUT_MS: 10_000,
      FEEDBACK_MODEL: 'local-feedback',
      OUTBOUND_ALLOWLIST: '',
    });
  });

  it('refuses the development signing secret in production, naming the variable', () => {
    expect(() => loadAppConfig({ NODE_ENV: 'production' })).toThrow(ConfigError);
    expect(() => loadAppConfig({ NODE_ENV: 'production' })).toThrow('invalid configuration for feedback-worker: FEEDBACK_SIGNING_SECRET');
    expect(loadAppConfig({ NODE_ENV: 'production', FEEDBACK_SIGNING_SECRET: REAL_SECRET }).FEEDBACK_SIGNING_SECRET).toBe(REAL_SECRET);
  });

  it.each([
    ['no whsec_ prefix', 'real', /must start with whsec_/],
    ['not base64', 'whsec_!!!!', /base64/],
    ['too short', `whsec_${Buffer.alloc(8).toString('base64')}`, /24–64 bytes \(got 8\)/],
  ])('refuses a signing secret with %s', (_what, secret, reason) => {
    expect(() => loadAppConfig({ FEEDBACK_SIGNING_SECRET: secret })).toThrow(reason);
  });

  it('stops on a bad outbound allow-list entry, naming the variable', () => {
    expect(() => loadAppConfig({ OUTBOUND_ALLOWLIST: '10.0.0.0/99' })).toThrow(/OUTBOUND_ALLOWLIST/);
    expect(loadAppConfig({ OUTBOUND_ALLOWLIST: '127.0.0.0/8,::1' }).OUTBOUND_ALLOWLIST).toBe('127.0.0.0/8,::1');
  });

  it('sizes the database pool from FEEDBACK_PREFETCH, always above it (each job in flight holds a connection for its lock)', () => {
    expect(() => loadAppConfig({ FEEDBACK_PREFETCH: '33' })).toThrow(/FEEDBACK_PREFETCH/);
    for (const prefetch of ['1', '4', '32']) {
      const config = loadAppConfig({ FEEDBACK_PREFETCH: prefetch });
      expect(dataSourceOptions(config).poolSize).toBeGreaterThan(config.FEEDBACK_PREFETCH);
    }
    expect(dataSourceOptions({ DATABASE_URL: 'postgres://x' }).poolSize).toBeUndefined();
  });
});
