import { DEFAULT_FAKE_MODEL_ID, DEFAULT_TOKEN_DELAY_MS, startFakeOpenAi } from './server';

function intFromEnv(name: string, def: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    process.stderr.write(`invalid configuration for fake-openai: ${name}: expected an integer in [${min}, ${max}], got "${raw}"\n`);
    process.exit(1);
  }
  return value;
}

async function main(): Promise<void> {
  const fake = await startFakeOpenAi({
    port: intFromEnv('PORT', 8000, 0, 65535),
    host: process.env.HOST || '0.0.0.0',
    modelId: process.env.MODEL_ID || DEFAULT_FAKE_MODEL_ID,
    tokenDelayMs: intFromEnv('TOKEN_DELAY_MS', DEFAULT_TOKEN_DELAY_MS, 0, 60_000),
  });
  process.stdout.write(`${JSON.stringify({ service: 'fake-openai', msg: 'listening', port: fake.port, model: process.env.MODEL_ID || DEFAULT_FAKE_MODEL_ID })}\n`);
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
  process.stderr.write(`fake-openai failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
