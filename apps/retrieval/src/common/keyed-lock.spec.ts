import { KeyedLock } from './keyed-lock';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('KeyedLock', () => {
  it('runs work for one key in call order, one at a time, even after a failure', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    let release!: () => void;
    const first = lock.run('doc', async () => {
      log.push('first:start');
      await new Promise<void>((resolve) => (release = resolve));
      log.push('first:end');
      throw new Error('first failed');
    });
    const second = lock.run('doc', async () => {
      log.push('second');
      return 2;
    });
    await tick();
    expect(log).toEqual(['first:start']);
    release();
    await expect(first).rejects.toThrow('first failed');
    await expect(second).resolves.toBe(2);
    expect(log).toEqual(['first:start', 'first:end', 'second']);
  });

  it('does not make different keys wait for each other', async () => {
    const lock = new KeyedLock();
    let release!: () => void;
    const slow = lock.run('a', () => new Promise<void>((resolve) => (release = resolve)));
    await expect(lock.run('b', async () => 'b')).resolves.toBe('b');
    release();
    await slow;
  });
});
