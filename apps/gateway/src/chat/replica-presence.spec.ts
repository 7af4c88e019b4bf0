import { REPLICA_ROWS_KEPT_MS, ReplicaDirectory, type ReplicaEntry } from './replica-directory.repository';
import { ReplicaPresence } from './replica-presence';

/** Records the calls in order; announce can be held open to stand for a slow heartbeat. */
class ScriptedDirectory extends ReplicaDirectory {
  readonly calls: string[] = [];
  hold: Promise<void> | undefined;
  failNext = false;
  async announce(id: string, url: string): Promise<void> {
    this.calls.push(`announce ${id} ${url}`);
    if (this.failNext) {
      this.failNext = false;
      throw new Error('connection lost');
    }
    await this.hold;
    this.calls.push('announced');
  }
  withdraw(id: string): Promise<void> {
    this.calls.push(`withdraw ${id}`);
    return Promise.resolve();
  }
  prune(olderThanMs: number): Promise<void> {
    this.calls.push(`prune ${olderThanMs}`);
    return Promise.resolve();
  }
  find(): Promise<ReplicaEntry | undefined> {
    return Promise.resolve(undefined);
  }
}

const CONFIG = { GATEWAY_REPLICA_ID: 'gw-a', GATEWAY_INTERNAL_URL: 'http://10.0.0.7:3000', GATEWAY_REPLICA_HEARTBEAT_MS: 1000 };

describe('ReplicaPresence', () => {
  afterEach(() => jest.useRealTimers());

  it('announces at start, again every heartbeat, and marks the replica stopped on shutdown', async () => {
    jest.useFakeTimers();
    const directory = new ScriptedDirectory();
    const presence = new ReplicaPresence(directory, CONFIG);
    await presence.onApplicationBootstrap();
    expect(directory.calls).toEqual([`prune ${REPLICA_ROWS_KEPT_MS}`, 'announce gw-a http://10.0.0.7:3000', 'announced']);
    await jest.advanceTimersByTimeAsync(2_000);
    expect(directory.calls.filter((c) => c === 'announced')).toHaveLength(3);
    await presence.beforeApplicationShutdown();
    expect(directory.calls.at(-1)).toBe('withdraw gw-a');
    // No heartbeat after the stop: it would mark the replica running again.
    await jest.advanceTimersByTimeAsync(5_000);
    expect(directory.calls.at(-1)).toBe('withdraw gw-a');
  });

  it('keeps heartbeating after a failed heartbeat', async () => {
    jest.useFakeTimers();
    const directory = new ScriptedDirectory();
    const presence = new ReplicaPresence(directory, CONFIG);
    await presence.onApplicationBootstrap();
    directory.failNext = true;
    await jest.advanceTimersByTimeAsync(2_000);
    expect(directory.calls.filter((c) => c.startsWith('announce ')).length).toBe(3);
    expect(directory.calls.at(-1)).toBe('announced');
    await presence.beforeApplicationShutdown();
  });

  it('waits for a heartbeat in flight before marking the replica stopped', async () => {
    jest.useFakeTimers();
    const directory = new ScriptedDirectory();
    const presence = new ReplicaPresence(directory, CONFIG);
    await presence.onApplicationBootstrap();
    let release: () => void = () => undefined;
    directory.hold = new Promise<void>((resolve) => (release = resolve));
    await jest.advanceTimersByTimeAsync(1_000);
    const stopping = presence.beforeApplicationShutdown();
    await Promise.resolve();
    expect(directory.calls.at(-1)).toBe('announce gw-a http://10.0.0.7:3000');
    release();
    await stopping;
    expect(directory.calls.slice(-2)).toEqual(['announced', 'withdraw gw-a']);
  });
});
