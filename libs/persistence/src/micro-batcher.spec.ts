import { MicroBatcher, type MicroBatcherOptions } from './micro-batcher';

/** Lets the current turn end: setImmediate callbacks queued before this one run first. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A batcher whose batch doubles each item and whose single run negates it, recording every call. */
function recording(overrides: Partial<MicroBatcherOptions<number, number>> = {}) {
  const batches: number[][] = [];
  const singles: number[] = [];
  const batcher = new MicroBatcher<number, number>({
    maxBatch: 10,
    runBatch: (items) => {
      batches.push([...items]);
      return Promise.resolve(items.map((i) => i * 2));
    },
    runOne: (item) => {
      singles.push(item);
      return Promise.resolve(-item);
    },
    ...overrides,
  });
  return { batcher, batches, singles };
}

describe('MicroBatcher', () => {
  it('runs the items of one turn as one batch, each caller getting its own result in order', async () => {
    const { batcher, batches, singles } = recording();
    const results = await Promise.all([1, 2, 3, 4].map((i) => batcher.submit(i)));
    expect(batches).toEqual([[1, 2, 3, 4]]);
    expect(singles).toEqual([]);
    expect(results).toEqual([2, 4, 6, 8]);
  });

  it('sends a lone item through runOne within the turn, with no timer', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    try {
      const { batcher, batches, singles } = recording();
      const result = batcher.submit(7);
      // Nothing is started synchronously: a second submit of this turn could still join.
      expect(singles).toEqual([]);
      await nextTurn();
      expect(singles).toEqual([7]);
      expect(batches).toEqual([]);
      // No timeout or interval was set: only the end of the turn was waited for.
      expect(jest.getTimerCount()).toBe(0);
      await expect(result).resolves.toBe(-7);
    } finally {
      jest.useRealTimers();
    }
  });

  it('items of different turns form different batches', async () => {
    const { batcher, batches } = recording();
    const first = [batcher.submit(1), batcher.submit(2)];
    await nextTurn();
    const second = [batcher.submit(3), batcher.submit(4), batcher.submit(5)];
    expect(await Promise.all([...first, ...second])).toEqual([2, 4, 6, 8, 10]);
    expect(batches).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
  });

  it('cuts batches at maxBatch, a full one going out at once', async () => {
    const { batcher, batches, singles } = recording({ maxBatch: 3 });
    const results = Array.from({ length: 7 }, (_, i) => batcher.submit(i + 1));
    // The first two batches filled up inside submit(); the seventh item waits for the turn's end.
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(await Promise.all(results)).toEqual([2, 4, 6, 8, 10, 12, -7]);
    expect(singles).toEqual([7]);
  });

  it('a failed batch is retried one item at a time, so only the bad item fails', async () => {
    const errors: [unknown, number][] = [];
    const batcher = new MicroBatcher<number, string>({
      maxBatch: 10,
      runBatch: (items) => (items.includes(13) ? Promise.reject(new Error('bad row in batch')) : Promise.resolve(items.map(String))),
      runOne: (item) => (item === 13 ? Promise.reject(new Error(`item ${item} is bad`)) : Promise.resolve(`one:${item}`)),
      onBatchError: (error, size) => errors.push([error, size]),
    });
    const settled = await Promise.allSettled([12, 13, 14].map((i) => batcher.submit(i)));
    expect(settled).toEqual([
      { status: 'fulfilled', value: 'one:12' },
      { status: 'rejected', reason: new Error('item 13 is bad') },
      { status: 'fulfilled', value: 'one:14' },
    ]);
    expect(errors).toEqual([[new Error('bad row in batch'), 3]]);
  });

  it('treats a synchronous throw or a wrong number of results like a failed batch', async () => {
    const throwing = recording({
      runBatch: () => {
        throw new Error('sync');
      },
    });
    expect(await Promise.all([1, 2].map((i) => throwing.batcher.submit(i)))).toEqual([-1, -2]);

    const short = recording({ runBatch: () => Promise.resolve([0]) });
    expect(await Promise.all([1, 2, 3].map((i) => short.batcher.submit(i)))).toEqual([-1, -2, -3]);
  });

  it('a lone item that fails rejects its caller only, and the batcher keeps working', async () => {
    const { batcher } = recording({ runOne: (item) => Promise.reject(new Error(`no ${item}`)) });
    await expect(batcher.submit(1)).rejects.toThrow('no 1');
    expect(await Promise.all([batcher.submit(2), batcher.submit(3)])).toEqual([4, 6]);
  });

  it('refuses a maxBatch that is not a positive integer', () => {
    expect(() => recording({ maxBatch: 0 })).toThrow(/maxBatch/);
    expect(() => recording({ maxBatch: 1.5 })).toThrow(/maxBatch/);
  });
});
