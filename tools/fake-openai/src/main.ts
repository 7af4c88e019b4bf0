import { DEFAULT_DIE_AFTER_TOKENS, DEFAULT_FAKE_MODEL_ID, DEFAULT_TOKEN_DELAY_MS, FAKE_MODES, type FakeMode, startFakeOpenAi } from './server';

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

function modeFromEnv(): FakeMode {
  const raw = process.env.FAKE_MODE || 'ok';
  if (!(FAKE_MODES as readonly string[]).includes(raw)) {
    process.stderr.write(`invalid configuration for fake-openai: FAKE_MODE: expected one of ${FAKE_MODES.join(', ')}, got "${raw}"\n`);
    process.exit(1);
  }
  return raw as FakeMode;
}

async function main(): Promise<void> {
  const fake = await startFakeOpenAi({
    port: intFromEnv('PORT', 8000, 0, 65535),
    host: process.env.HOST || '0.0.0.0',
    modelId: process.env.MODEL_ID || DEFAULT_FAKE_MODEL_ID,
    tokenDelayMs: intFromEnv('TOKEN_DELAY_MS', DEFAULT_TOKEN_DELAY_MS, 0, 60_000),
    ttftMs: intFromEnv('TTFT_MS', 0, 0, 600_000),
    replyTokens: process.env.REPLY_TOKENS ? intFromEnv('REPLY_TOKENS', 1, 1, 1_000_000) : undefined,
    mode: modeFromEnv(),
    dieAfterTokens: intFromEnv('DIE_AFTER_TOKENS', DEFAULT_DIE_AFTER_TOKENS, 0, 1_000_000),
    multimodal: process.env.MULTIMODAL === 'true' || process.env.MULTIMODAL === '1',
    maxNumSeqs: process.env.MAX_NUM_SEQS ? intFromEnv('MAX_NUM_SEQS', 256, 1, 1_000_000) : undefined,
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
