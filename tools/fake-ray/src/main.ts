import { DEFAULT_PENDING_MS, DEFAULT_RUNNING_MS, FAKE_RAY_MODES, type FakeRayMode, startFakeRay } from './server';

function fail(message: string): never {
  process.stderr.write(`invalid configuration for fake-ray: ${message}\n`);
  process.exit(1);
}

function intFromEnv(name: string, def: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) fail(`${name}: expected an integer in [${min}, ${max}], got "${raw}"`);
  return value;
}

function modeFromEnv(): FakeRayMode {
  const raw = process.env.FAKE_RAY_MODE || 'succeed';
  if (!(FAKE_RAY_MODES as readonly string[]).includes(raw)) fail(`FAKE_RAY_MODE: expected one of ${FAKE_RAY_MODES.join(', ')}, got "${raw}"`);
  return raw as FakeRayMode;
}

async function main(): Promise<void> {
  const fake = await startFakeRay({
    port: intFromEnv('PORT', 8265, 0, 65535),
    host: process.env.HOST || '0.0.0.0',
    mode: modeFromEnv(),
    pendingMs: intFromEnv('FAKE_RAY_PENDING_MS', DEFAULT_PENDING_MS, 0, 3_600_000),
    runningMs: intFromEnv('FAKE_RAY_RUNNING_MS', DEFAULT_RUNNING_MS, 0, 3_600_000),
  });
  process.stdout.write(`${JSON.stringify({ service: 'fake-ray', msg: 'listening', port: fake.port })}\n`);
  const shutdown = () => {
    fake.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`fake-ray failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
