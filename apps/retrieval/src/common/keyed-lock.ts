import { Injectable } from '@nestjs/common';

/**
 * Serialises async work per key inside this process. Two ingests of the same document
 * must update the in-memory index in commit order, or the older content could win.
 */
@Injectable()
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const current = previous.then(work, work);
    const tail = current.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await current;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /**
   * Holds the locks of every key while the work runs. Keys are taken in sorted order, so two
   * batches sharing documents cannot wait on each other.
   */
  async runAll<T>(keys: readonly string[], work: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const take = (i: number): Promise<T> => (i === sorted.length ? work() : this.run(sorted[i], () => take(i + 1)));
    return take(0);
  }
}
