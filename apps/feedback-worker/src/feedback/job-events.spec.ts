import type { Messaging } from '@ragmesh/messaging';
import { AmqpJobEvents, JobEvents, StatusRelay, statusEventId } from './job-events';
import { JobsRepository, type StatusChange } from './jobs.repository';

const change = (jobId: string, status: StatusChange['status'] = 'succeeded'): StatusChange => ({ jobId, status, attempts: 1, at: new Date('2026-01-01T00:00:00.123Z') });

function relayWith(pending: StatusChange[], publish: (c: StatusChange) => Promise<void>) {
  const jobs = { unpublishedStatuses: jest.fn(async () => pending) } as unknown as JobsRepository;
  const events = { statusChanged: jest.fn(), publish: jest.fn(publish) } as unknown as JobEvents;
  return { relay: new StatusRelay(jobs, events, { intervalMs: 1_000 }), jobs, events };
}

describe('StatusRelay', () => {
  it('publishes every pending transition older than one interval', async () => {
    const published: string[] = [];
    const { relay, jobs } = relayWith([change('a'), change('b')], async (c) => void published.push(c.jobId));
    await expect(relay.tick()).resolves.toBe(2);
    expect(published).toEqual(['a', 'b']);
    expect(jobs.unpublishedStatuses).toHaveBeenCalledWith(100, 1_000);
  });

  it('stops the pass at the first refused publish and leaves the rest for the next pass', async () => {
    const published: string[] = [];
    const { relay } = relayWith([change('a'), change('b'), change('c')], async (c) => {
      if (c.jobId === 'b') throw new Error('broker down');
      published.push(c.jobId);
    });
    await expect(relay.tick()).resolves.toBe(1);
    expect(published).toEqual(['a']);
  });

  it('shares a pass in flight instead of running two at once', async () => {
    let release: () => void = () => undefined;
    const { relay, jobs } = relayWith([change('a')], () => new Promise<void>((resolve) => (release = resolve)));
    const first = relay.tick();
    const second = relay.tick();
    await new Promise((r) => setImmediate(r));
    release();
    expect(await first).toBe(1);
    expect(await second).toBe(1);
    expect(jobs.unpublishedStatuses).toHaveBeenCalledTimes(1);
    await relay.onModuleDestroy();
  });
});

describe('statusEventId', () => {
  it('is the same for the same transition and differs between transitions', () => {
    expect(statusEventId(change('a'))).toBe('feedback-status:a:succeeded:2026-01-01T00:00:00.123Z');
    expect(statusEventId(change('a', 'dead'))).not.toBe(statusEventId(change('a')));
  });
});

describe('AmqpJobEvents', () => {
  const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms);
  function eventsWith(runningDelayMs: number) {
    const published: string[] = [];
    const marked: string[] = [];
    const messaging = { publish: jest.fn(async (_type: string, payload: { jobId: string; status: string }) => void published.push(`${payload.jobId}:${payload.status}`)) } as unknown as Messaging;
    const jobs = { markStatusPublished: jest.fn(async (marks: { jobId: string }[]) => void marked.push(...marks.map((m) => m.jobId))) } as unknown as JobsRepository;
    return { events: new AmqpJobEvents(messaging, jobs, { runningDelayMs }), published, marked };
  }

  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('never announces a running that the outcome follows within the delay', async () => {
    const { events, published } = eventsWith(1_000);
    const running = events.statusChanged({ jobId: 'a', status: 'running', attempts: 1, at: at(0) });
    jest.advanceTimersByTime(500);
    await events.statusChanged({ jobId: 'a', status: 'succeeded', attempts: 1, at: at(500) });
    await running;
    jest.advanceTimersByTime(5_000);
    await Promise.resolve();
    expect(published).toEqual(['a:succeeded']);
  });

  it('announces a running still current after the delay, and a held one at shutdown', async () => {
    const { events, published, marked } = eventsWith(1_000);
    const slow = events.statusChanged({ jobId: 'slow', status: 'running', attempts: 1, at: at(0) });
    const late = events.statusChanged({ jobId: 'late', status: 'running', attempts: 1, at: at(0) });
    expect(published).toEqual([]);
    jest.advanceTimersByTime(1_000);
    await slow;
    expect(published).toEqual(['slow:running', 'late:running']);
    expect(marked).toEqual(['slow', 'late']);
    await late;

    const held = events.statusChanged({ jobId: 'b', status: 'running', attempts: 2, at: at(2_000) });
    await events.onModuleDestroy();
    await held;
    expect(published).toContain('b:running');
  });

  it('announces running at once when the delay is 0', async () => {
    const { events, published } = eventsWith(0);
    await events.statusChanged({ jobId: 'a', status: 'running', attempts: 1, at: at(0) });
    expect(published).toEqual(['a:running']);
  });
});
