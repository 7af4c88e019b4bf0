import type { DataSource } from 'typeorm';
import { type LimitState, RateLimits } from './rate-limits';

type Config = ConstructorParameters<typeof RateLimits>[0];

const config = (store: Config['RATE_LIMIT_STORE'], requests: number, tokens = 1000): Config => ({
  RATE_LIMIT_STORE: store,
  REDIS_URL: 'redis://unused',
  RATE_LIMIT_REQUESTS_PER_MIN: requests,
  RATE_LIMIT_TOKENS_PER_MIN: tokens,
  RATE_LIMIT_CONCURRENT_STREAMS: 5,
});

/**
 * The library's PostgreSQL store talks to `ds.driver.master.query` (storeType 'typeorm'): this
 * one keeps the rows in a Map, answers the upsert as PostgreSQL would, and counts the statements.
 */
function fakePostgres(opts: { failKeys?: string[] } = {}) {
  const rows = new Map<string, { points: number; expire: number }>();
  const statements: { key: string; points: number }[] = [];
  const master = {
    query: ({ values }: { text: string; values: [string, number, number, number] }) => {
      const [key, points, expire] = values;
      statements.push({ key, points });
      if (opts.failKeys?.some((k) => key.endsWith(k))) return Promise.reject(new Error('store down'));
      const row = rows.get(key);
      const next = row && row.expire > Date.now() ? { points: row.points + points, expire: row.expire } : { points, expire };
      rows.set(key, next);
      return Promise.resolve({ rows: [next] });
    },
  };
  return { ds: { driver: { master } } as unknown as DataSource, statements };
}

const summary = (s: LimitState) => [s.remaining, s.allowed];

describe('RateLimits.consume: the consumes of one turn share one store round trip', () => {
  it('counts 5 concurrent requests of one key with one statement, each refused or admitted as if counted alone in order', async () => {
    const { ds, statements } = fakePostgres();
    const limits = new RateLimits(config('postgres', 3), ds);
    const states = await Promise.all(Array.from({ length: 5 }, () => limits.consume('requests', 'k1')));
    expect(statements).toEqual([{ key: 'rl_requests:k1', points: 5 }]);
    expect(states.map(summary)).toEqual([
      [2, true],
      [1, true],
      [0, true],
      [0, false],
      [0, false],
    ]);
    // Every attempt stays counted, as one after another would have left it: the next one is refused too.
    expect(summary(await limits.consume('requests', 'k1'))).toEqual([0, false]);
    expect(statements).toHaveLength(2);
  });

  it('gives the same answers as the memory store counting one request at a time', async () => {
    const { ds } = fakePostgres();
    const batched = new RateLimits(config('postgres', 4, 100), ds);
    const sequential = new RateLimits(config('memory', 4, 100), {} as never);
    const charges = [40, 30, 20, 25, 5];
    const together = await Promise.all(charges.map((points) => batched.consume('tokens', 'k', points)));
    const oneByOne: LimitState[] = [];
    for (const points of charges) oneByOne.push(await sequential.consume('tokens', 'k', points));
    expect(together).toEqual(oneByOne);
    // 40 + 30 + 20 = 90 fit; +25 does not; the 5 after it does not either (the refused 25 are still counted).
    expect(together.map((s) => s.allowed)).toEqual([true, true, true, false, false]);
  });

  it('keeps keys and limits apart: one statement per limit and key', async () => {
    const { ds, statements } = fakePostgres();
    const limits = new RateLimits(config('postgres', 2), ds);
    const states = await Promise.all([
      limits.consume('requests', 'a'),
      limits.consume('requests', 'b'),
      limits.consume('requests', 'a'),
      limits.consume('tokens', 'a', 7),
      limits.consume('requests', 'a'),
    ]);
    expect(statements.sort((x, y) => x.key.localeCompare(y.key))).toEqual([
      { key: 'rl_requests:a', points: 3 },
      { key: 'rl_requests:b', points: 1 },
      { key: 'rl_tokens:a', points: 7 },
    ]);
    expect(states.map(summary)).toEqual([
      [1, true],
      [1, true],
      [0, true],
      [993, true],
      [0, false],
    ]);
  });

  it('a lone consume goes to the store as one statement of its own points', async () => {
    const { ds, statements } = fakePostgres();
    const limits = new RateLimits(config('postgres', 10), ds);
    expect(summary(await limits.consume('tokens', 'solo', 12))).toEqual([988, true]);
    expect(statements).toEqual([{ key: 'rl_tokens:solo', points: 12 }]);
  });

  it('a store failure for one key sends that group to the memory insurance, with the same per-request answers', async () => {
    const { ds, statements } = fakePostgres({ failKeys: [':down'] });
    const limits = new RateLimits(config('postgres', 2), ds);
    const states = await Promise.all([limits.consume('requests', 'down'), limits.consume('requests', 'up'), limits.consume('requests', 'down')]);
    // One store attempt per group, none repeated per request; the insurance counted the failed group's 2 points in this process.
    expect(statements.sort((x, y) => x.key.localeCompare(y.key))).toEqual([
      { key: 'rl_requests:down', points: 2 },
      { key: 'rl_requests:up', points: 1 },
    ]);
    expect(states.map(summary)).toEqual([
      [1, true],
      [1, true],
      [0, true],
    ]);
  });
});
