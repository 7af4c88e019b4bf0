/**
 * Group commit for concurrent callers: the items submitted during one event-loop turn are run
 * together as one batch (one statement, one round trip) once that turn's I/O callbacks are done
 * (setImmediate), and each caller gets its own result. No timer: a lone item waits only for the
 * end of its own turn and then runs through `runOne`, so low load sees no added wait beyond that;
 * under load the turns grow longer and the batches larger by themselves.
 */
export interface MicroBatcherOptions<I, O> {
  /** Runs several items as one unit; resolves with one result per item, in the order given. */
  runBatch(items: readonly I[]): Promise<readonly O[]>;
  /**
   * Runs one item alone: a batch of one, and each item of a batch whose `runBatch` rejected, so
   * one bad item fails only its own caller. `runBatch` must therefore leave nothing behind when
   * it rejects (one statement, or one transaction), or `runOne` must tolerate a repeat.
   */
  runOne(item: I): Promise<O>;
  /** Items per batch at most; more submitted in one turn form further batches. */
  maxBatch: number;
  /** Told when a batch failed and its items were retried one by one (for a log line or a metric). */
  onBatchError?(error: unknown, size: number): void;
}

interface Pending<I, O> {
  item: I;
  resolve(value: O): void;
  reject(reason: unknown): void;
}

export class MicroBatcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private scheduled = false;

  constructor(private readonly opts: MicroBatcherOptions<I, O>) {
    if (!Number.isInteger(opts.maxBatch) || opts.maxBatch < 1) throw new Error(`MicroBatcher: maxBatch must be a positive integer (got ${opts.maxBatch})`);
  }

  /** Resolves or rejects with this item's own outcome. */
  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.opts.maxBatch) {
        // A full batch need not wait for the turn to end.
        this.run(this.queue);
        this.queue = [];
      } else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length > 0) this.run(batch);
  };

  private run(batch: Pending<I, O>[]): void {
    if (batch.length === 1) {
      this.runAlone(batch[0]);
      return;
    }
    let results: Promise<readonly O[]>;
    try {
      results = this.opts.runBatch(batch.map((p) => p.item));
    } catch (error) {
      results = Promise.reject(error);
    }
    results.then(
      (values) => {
        if (values.length !== batch.length) {
          this.fallBack(batch, new Error(`MicroBatcher: runBatch returned ${values.length} results for ${batch.length} items`));
          return;
        }
        batch.forEach((p, i) => p.resolve(values[i]));
      },
      (error: unknown) => this.fallBack(batch, error),
    );
  }

  private fallBack(batch: Pending<I, O>[], error: unknown): void {
    try {
      this.opts.onBatchError?.(error, batch.length);
    } finally {
      for (const p of batch) this.runAlone(p);
    }
  }

  private runAlone(p: Pending<I, O>): void {
    let result: Promise<O>;
    try {
      result = this.opts.runOne(p.item);
    } catch (error) {
      result = Promise.reject(error);
    }
    result.then(p.resolve, p.reject);
  }
}
