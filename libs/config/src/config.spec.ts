import { z } from 'zod';
import { ConfigError, commonEnv, env, loadConfig } from './index';

const SHAPE = {
  ...commonEnv,
  PORT: env.port(3000),
  WORKERS: env.int(4, { min: 1, max: 64 }),
  NAME: env.str('ragmesh'),
  SECRET: env.str(),
  UPSTREAM: env.optionalUrl(),
  DEBUG: env.bool(false),
  MODE: env.oneOf(['fast', 'safe'] as const, 'safe'),
  TARGET: env.hostPort('127.0.0.1:50051'),
  BASE: env.url('http://127.0.0.1:8000'),
};

function expectConfigError(source: NodeJS.ProcessEnv, variable: string, reason: RegExp): void {
  let caught: unknown;
  try {
    loadConfig('svc', SHAPE, source);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const error = caught as ConfigError;
  expect(error.variable).toBe(variable);
  expect(error.message).toMatch(new RegExp(`^invalid configuration for svc: ${variable}: `));
  expect(error.message).toMatch(reason);
}

describe('loadConfig', () => {
  it('applies local defaults when nothing is set', () => {
    const config = loadConfig('svc', SHAPE, {});
    expect(config).toEqual({
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:5432/ragmesh',
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
      PORT: 3000,
      WORKERS: 4,
      NAME: 'ragmesh',
      SECRET: '',
      UPSTREAM: undefined,
      DEBUG: false,
      MODE: 'safe',
      TARGET: '127.0.0.1:50051',
      BASE: 'http://127.0.0.1:8000',
    });
  });

  it('coerces good string values', () => {
    const config = loadConfig('svc', SHAPE, {
      NODE_ENV: 'production',
      LOG_LEVEL: 'debug',
      DATABASE_URL: 'postgres://u:p@db:5432/x',
      PORT: ' 8080 ',
      WORKERS: '16',
      NAME: 'other',
      SECRET: ' s3cret ',
      UPSTREAM: 'http://vllm:8000/v1',
      DEBUG: 'TRUE',
      MODE: 'fast',
      TARGET: 'retrieval:50051',
      UNRELATED: 'ignored',
    });
    expect(config.PORT).toBe(8080);
    expect(config.WORKERS).toBe(16);
    expect(config.NAME).toBe('other');
    expect(config.SECRET).toBe(' s3cret ');
    expect(config.UPSTREAM).toBe('http://vllm:8000/v1');
    expect(config.DEBUG).toBe(true);
    expect(config.MODE).toBe('fast');
    expect(config.TARGET).toBe('retrieval:50051');
    expect(config.NODE_ENV).toBe('production');
    expect(config.LOG_LEVEL).toBe('debug');
    expect(config.DATABASE_URL).toBe('postgres://u:p@db:5432/x');
    expect(config).not.toHaveProperty('UNRELATED');
  });

  it('treats empty values as unset', () => {
    const config = loadConfig('svc', SHAPE, { PORT: '', UPSTREAM: '', DEBUG: '', MODE: '' });
    expect(config.PORT).toBe(3000);
    expect(config.UPSTREAM).toBeUndefined();
    expect(config.DEBUG).toBe(false);
    expect(config.MODE).toBe('safe');
  });

  it('accepts bool spellings 1/0 and IPv6 host:port', () => {
    expect(loadConfig('svc', SHAPE, { DEBUG: '1' }).DEBUG).toBe(true);
    expect(loadConfig('svc', SHAPE, { DEBUG: '0' }).DEBUG).toBe(false);
    expect(loadConfig('svc', SHAPE, { TARGET: '[::1]:50051' }).TARGET).toBe('[::1]:50051');
  });

  it('names the variable for each kind of bad value', () => {
    expectConfigError({ PORT: 'abc' }, 'PORT', /must be an integer/);
    expectConfigError({ PORT: '70000' }, 'PORT', /must be <= 65535/);
    expectConfigError({ PORT: '-1' }, 'PORT', /must be >= 0/);
    expectConfigError({ WORKERS: '0' }, 'WORKERS', /must be >= 1/);
    expectConfigError({ WORKERS: '1.5' }, 'WORKERS', /must be an integer/);
    expectConfigError({ DATABASE_URL: 'not a url' }, 'DATABASE_URL', /must be an absolute URL/);
    expectConfigError({ UPSTREAM: 'vllm:8000' }, 'UPSTREAM', /must be an absolute URL/);
    expectConfigError({ DEBUG: 'yes' }, 'DEBUG', /must be one of true, false, 1, 0/);
    expectConfigError({ MODE: 'turbo' }, 'MODE', /must be one of fast, safe/);
    expectConfigError({ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /must be one of fatal, error/);
    expectConfigError({ NODE_ENV: 'staging' }, 'NODE_ENV', /must be one of development, test, production/);
    expectConfigError({ TARGET: 'retrieval' }, 'TARGET', /must be host:port/);
    expectConfigError({ TARGET: 'retrieval:0' }, 'TARGET', /must be host:port/);
  });

  it('does not echo URL values, which may carry credentials', () => {
    expect(() => loadConfig('svc', SHAPE, { DATABASE_URL: 'secret-password' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('secret-password') }) as Error,
    );
  });

  it('names the first bad variable when several are bad', () => {
    expectConfigError({ PORT: 'x', DEBUG: 'maybe' }, 'PORT', /integer/);
  });

  it('reports a required variable from a plain zod schema', () => {
    expect(() => loadConfig('svc', { TOKEN: z.string() }, {})).toThrow(
      'invalid configuration for svc: TOKEN: Required',
    );
  });

  it('reads process.env by default', () => {
    process.env.RAGMESH_TEST_PORT = '1234';
    try {
      expect(loadConfig('svc', { RAGMESH_TEST_PORT: env.port(1) }).RAGMESH_TEST_PORT).toBe(1234);
    } finally {
      delete process.env.RAGMESH_TEST_PORT;
    }
  });
});
