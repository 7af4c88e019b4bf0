import { JobEvents, StatusRelay, statusEventId } from './job-events';
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
