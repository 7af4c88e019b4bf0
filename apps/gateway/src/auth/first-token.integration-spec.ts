import { Client } from 'pg';
import { randomUUID } from 'node:crypto';
import { GenerationRepository } from '../grpc/generation.repository';
import { startTestGateway, type TestGateway } from '../../test/security-fixture';
import { ApiKeysRepository } from './api-keys.repository';

/*
 * Issue 5: what a chat turn waits for in PostgreSQL before generation starts. Every statement is
 * held back ROUND_TRIP_MS on its way to the server, so the time from the request to the
 * GenerateStream call, divided by it, is the number of round trips taken one after another.
 */

jest.setTimeout(60_000);

// Long enough that the rest of a request (HTTP, Nest, gRPC setup) stays well under one of them on a loaded CI machine.
const ROUND_TRIP_MS = 300;

interface Statement {
  at: number;
  text: string;
}

type Query = (this: Client, ...args: unknown[]) => unknown;

/** Records (and, while `delayMs` is set, delays) every statement any pg client of this process sends. */
function instrumentPg() {
  const original = Client.prototype.query as unknown as Query;
  const probe = { delayMs: 0, statements: [] as Statement[] };
  (Client.prototype as unknown as { query: Query }).query = function (this: Client, ...args: unknown[]) {
    const first = args[0] as string | { text?: string; submit?: unknown };
    probe.statements.push({ at: performance.now(), text: typeof first === 'string' ? first : (first?.text ?? '') });
    if (!probe.delayMs || (typeof first === 'object' && typeof first?.submit === 'function')) return original.apply(this, args);
    if (args.some((a) => typeof a === 'function')) {
      setTimeout(() => original.apply(this, args), probe.delayMs);
      return undefined;
    }
    return new Promise((resolve) => setTimeout(resolve, probe.delayMs)).then(() => original.apply(this, args));
  };
  return { probe, restore: () => ((Client.prototype as unknown as { query: Query }).query = original) };
}

const TABLES = /"?gateway"?\."?(api_keys|rate_limits|conversations|messages)\b/;
const tableOf = (s: Statement) => `${/^\s*(\w+)/.exec(s.text)?.[1] ?? '?'} ${TABLES.exec(s.text)?.[1] ?? ''}`.trim();

describe('PostgreSQL before the first token (integration)', () => {
  let gw: TestGateway;
  let pg: ReturnType<typeof instrumentPg>;
  let generationAt: number[] = [];

  beforeAll(async () => {
    pg = instrumentPg();
    gw = await startTestGateway({ CHAT_QUERY_REWRITE: 'rules', RATE_LIMIT_STORE: 'postgres' });
    const generation = gw.app.get(GenerationRepository);
    const generateStream = generation.generateStream.bind(generation);
    jest.spyOn(generation, 'generateStream').mockImplementation((request) => {
      generationAt.push(performance.now());
      return generateStream(request);
    });
  });

  afterAll(async () => {
    pg?.restore();
    await gw?.close();
  });

  /** One streamed, rag-off chat in a new conversation: serial round trips before generation, and the statements sent by then. */
  async function turn(key: string): Promise<{ roundTrips: number; sent: string[] }> {
    generationAt = [];
    pg.probe.statements = [];
    pg.probe.delayMs = ROUND_TRIP_MS;
    const start = performance.now();
    const res = await fetch(`${gw.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ stream: true, rag: false, messages: [{ role: 'user', content: 'hello' }] }),
    });
    await res.text();
    pg.probe.delayMs = 0;
    expect(res.status).toBe(200);
    expect(generationAt).toHaveLength(1);
    const sent = pg.probe.statements.filter((s) => s.at < generationAt[0] && TABLES.test(s.text)).map(tableOf);
    return { roundTrips: Math.floor((generationAt[0] - start) / ROUND_TRIP_MS), sent };
  }

  it('reaches generation after at most one round trip with a known key, and reads no conversation for a new one', async () => {
    const newKey = async () => (await gw.app.get(ApiKeysRepository).create({ name: `ttft-${randomUUID()}`, scopes: ['chat'], tenant: 'default' })).key;
    // Opens the pool's connections under the same delay, so connecting is not counted as a round trip below.
    await turn(await newKey());
    const key = await newKey();
    const cold = await turn(key);
    const warm = await turn(key);
    process.stdout.write(`first-token PG: cold key ${cold.roundTrips} serial round trips, sent ${JSON.stringify(cold.sent)}\n`);
    process.stdout.write(`first-token PG: warm key ${warm.roundTrips} serial round trips, sent ${JSON.stringify(warm.sent)}\n`);
    // Cold: the key lookup, then the three limits side by side.
    expect(cold.roundTrips).toBeLessThanOrEqual(2);
    // Warm: only the limits; the key is cached, last_used_at was written a moment ago, the new conversation's insert is not awaited.
    expect(warm.roundTrips).toBeLessThanOrEqual(1);
    expect(warm.sent.filter((s) => s.endsWith('api_keys'))).toEqual([]);
    expect(warm.sent.filter((s) => s.startsWith('WITH') || s.startsWith('SELECT'))).toEqual([]);
  });
});
