import 'reflect-metadata';
import { type DynamicModule, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { createServer } from 'node:net';
import pino from 'pino';
import { exitOnShutdownSignals, ObservabilityModule, SHUTDOWN_SIGNALS, startWorker } from './index';

@Injectable()
class Recorder implements OnApplicationShutdown {
  shutdowns = 0;
  onApplicationShutdown(): void {
    this.shutdowns += 1;
  }
}

@Module({ providers: [Recorder], exports: [Recorder] })
class RecorderModule {}

const testModule = (): DynamicModule => ({
  module: class WorkerTestModule {},
  imports: [ObservabilityModule.forRoot({ service: 'worker-test', level: 'silent' }), RecorderModule],
});

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });

describe('startWorker', () => {
  it('serves the readiness checks, starts the work, and closes the context and the ops server once', async () => {
    const started: string[] = [];
    const worker = await startWorker({
      service: 'worker-test',
      module: testModule(),
      opsPort: 0,
      checks: () => ({ broker: async () => undefined }),
      start: async (app) => {
        started.push(app.get(Recorder).constructor.name);
      },
    });
    expect(started).toEqual(['Recorder']);
    const ready = await fetch(`http://127.0.0.1:${worker.opsPort}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ checks: { broker: { status: 'ok' } } });

    const recorder = worker.app.get(Recorder);
    await Promise.all([worker.close(), worker.close()]);
    await worker.close();
    expect(recorder.shutdowns).toBe(1);
    await expect(fetch(`http://127.0.0.1:${worker.opsPort}/health/live`)).rejects.toThrow();
  });

  it('closes what it opened and rejects when start fails', async () => {
    let recorder: Recorder | undefined;
    const opsPort = await freePort();
    let liveDuringStart: number | undefined;
    await expect(
      startWorker({
        service: 'worker-test',
        module: testModule(),
        opsPort,
        checks: () => ({}),
        start: async (app) => {
          recorder = app.get(Recorder);
          liveDuringStart = (await fetch(`http://127.0.0.1:${opsPort}/health/live`)).status;
          throw new Error('queue declaration refused');
        },
      }),
    ).rejects.toThrow('queue declaration refused');
    expect(recorder?.shutdowns).toBe(1);
    expect(liveDuringStart).toBe(200);
    await expect(fetch(`http://127.0.0.1:${opsPort}/health/live`)).rejects.toThrow();
  });
});

describe('exitOnShutdownSignals', () => {
  let exit: jest.SpiedFunction<typeof process.exit>;
  let before: Map<NodeJS.Signals, ((...args: unknown[]) => void)[]>;
  const logger = pino({ level: 'silent' });
  const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  beforeEach(() => {
    exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    // No real timer may outlive a test: it would call the real process.exit later.
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] });
    before = new Map(SHUTDOWN_SIGNALS.map((s) => [s, process.listeners(s) as ((...args: unknown[]) => void)[]]));
  });

  afterEach(() => {
    for (const signal of SHUTDOWN_SIGNALS) {
      for (const listener of process.listeners(signal)) {
        if (!before.get(signal)?.includes(listener as (...args: unknown[]) => void)) process.removeListener(signal, listener);
      }
    }
    jest.clearAllTimers();
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('closes once on the first signal and exits 0', async () => {
    const close = jest.fn(async () => undefined);
    exitOnShutdownSignals({ logger, close, timeoutMs: 1_000, timeoutExitCode: 1 });
    process.emit('SIGTERM', 'SIGTERM');
    process.emit('SIGINT', 'SIGINT');
    await flush();
    expect(close).toHaveBeenCalledTimes(1);
    expect(exit).toHaveBeenCalledWith(0);
    // Closed in time: the timeout must not fire afterwards.
    jest.advanceTimersByTime(2_000);
    expect(exit).toHaveBeenCalledTimes(1);
  });

  it('exits 1 when close fails', async () => {
    exitOnShutdownSignals({ logger, close: () => Promise.reject(new Error('db gone')), timeoutMs: 1_000, timeoutExitCode: 0 });
    process.emit('SIGINT', 'SIGINT');
    await flush();
    expect(exit).toHaveBeenCalledWith(1);
  });

  it.each([0, 1] as const)('exits %s when close outlasts the timeout', (code) => {
    exitOnShutdownSignals({ logger, close: () => new Promise<void>(() => undefined), timeoutMs: 500, timeoutExitCode: code });
    process.emit('SIGTERM', 'SIGTERM');
    jest.advanceTimersByTime(499);
    expect(exit).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(exit).toHaveBeenCalledWith(code);
  });
});
