import { AdmissionAbortedError, AdmissionController, AdmissionRejectedError, AdmissionSnapshot } from './admission-control';

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('AdmissionController', () => {
  it('admits up to maxConcurrency at once', async () => {
    const admission = new AdmissionController(2, 1);
    await admission.acquire();
    await admission.acquire();
    expect(admission.snapshot()).toEqual({ inFlight: 2, queued: 0 });
  });

  it('queues past the limit and hands over slots in FIFO order', async () => {
    const admission = new AdmissionController(1, 2);
    const first = await admission.acquire();
    const order: string[] = [];
    const second = admission.acquire().then((release) => {
      order.push('second');
      return release;
    });
    const third = admission.acquire().then((release) => {
      order.push('third');
      return release;
    });
    await flush();
    expect(order).toEqual([]);
    expect(admission.snapshot()).toEqual({ inFlight: 1, queued: 2 });

    first();
    (await second)();
    (await third)();
    expect(order).toEqual(['second', 'third']);
    expect(admission.snapshot()).toEqual({ inFlight: 0, queued: 0 });
  });

  it('rejects with a clear message once the queue is full', async () => {
    const admission = new AdmissionController(1, 1);
    await admission.acquire();
    const queued = admission.acquire();
    await expect(admission.acquire()).rejects.toThrow(AdmissionRejectedError);
    await expect(admission.acquire()).rejects.toThrow(/1 requests in flight \(max 1\) and 1 queued \(max 1\)/);
    expect(admission.snapshot()).toEqual({ inFlight: 1, queued: 1 });
    void queued;
  });

  it('rejects immediately with a zero-length queue', async () => {
    const admission = new AdmissionController(1, 0);
    await admission.acquire();
    await expect(admission.acquire()).rejects.toThrow(AdmissionRejectedError);
  });

  it('drops a queued request whose caller cancels, without leaking its slot', async () => {
    const admission = new AdmissionController(1, 1);
    const first = await admission.acquire();
    const abort = new AbortController();
    const waiting = admission.acquire(abort.signal);
    abort.abort();
    await expect(waiting).rejects.toThrow(AdmissionAbortedError);
    expect(admission.snapshot()).toEqual({ inFlight: 1, queued: 0 });
    first();
    expect(admission.snapshot()).toEqual({ inFlight: 0, queued: 0 });
  });

  it('ignores a second release of the same slot', async () => {
    const admission = new AdmissionController(2, 0);
    const release = await admission.acquire();
    await admission.acquire();
    release();
    release();
    expect(admission.snapshot()).toEqual({ inFlight: 1, queued: 0 });
  });

  it('reports every change (for the gauges)', async () => {
    const seen: AdmissionSnapshot[] = [];
    const admission = new AdmissionController(1, 1, (s) => seen.push(s));
    const release = await admission.acquire();
    const queued = admission.acquire();
    release();
    (await queued)();
    expect(seen).toEqual([
      { inFlight: 1, queued: 0 },
      { inFlight: 1, queued: 1 },
      { inFlight: 1, queued: 0 },
      { inFlight: 0, queued: 0 },
    ]);
  });
});
