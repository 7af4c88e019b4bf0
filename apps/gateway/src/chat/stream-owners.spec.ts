import type { ServerResponse } from 'node:http';
import type { Response } from 'express';
import { ReplicaDirectory, type ReplicaEntry } from './replica-directory.repository';
import { FORWARDED_BY_HEADER, type ForwardRequest, StreamForwarder } from './stream-forwarder';
import { liveWindowMs, needsOwner, routeToOwner, StreamOwners } from './stream-owners';

/** The directory as a map; records which ids were looked up and with which liveness window. */
class MemoryDirectory extends ReplicaDirectory {
  readonly finds: [string, number][] = [];
  constructor(readonly entries: Map<string, ReplicaEntry>) {
    super();
  }
  announce(): Promise<void> {
    return Promise.resolve();
  }
  withdraw(): Promise<void> {
    return Promise.resolve();
  }
  prune(): Promise<void> {
    return Promise.resolve();
  }
  find(id: string, liveWithinMs: number): Promise<ReplicaEntry | undefined> {
    this.finds.push([id, liveWithinMs]);
    return Promise.resolve(this.entries.get(id));
  }
}

class RecordingForwarder extends StreamForwarder {
  readonly calls: ForwardRequest[] = [];
  forward(request: ForwardRequest, _res: ServerResponse): Promise<void> {
    this.calls.push(request);
    return Promise.resolve();
  }
}

const HERE = 'gw-here';
const CONFIG = { GATEWAY_REPLICA_ID: HERE, GATEWAY_REPLICA_HEARTBEAT_MS: 1000 };

function owners(entries: ReplicaEntry[]) {
  const directory = new MemoryDirectory(new Map(entries.map((e) => [e.id, e])));
  const forwarder = new RecordingForwarder();
  return { directory, forwarder, owners: new StreamOwners(directory, forwarder, CONFIG) };
}

describe('which replica serves a resume', () => {
  it('serves here, without asking the directory, old-format ids, its own ids and forwarded requests', async () => {
    const { directory, owners: o } = owners([{ id: 'gw-other', internalUrl: 'http://10.0.0.8:3000', live: true }]);
    expect(await o.route(undefined, { headers: {} })).toEqual({ kind: 'local' });
    expect(await o.route(HERE, { headers: {} })).toEqual({ kind: 'local' });
    // Forwarded once already: never again, even when the id names another replica.
    expect(await o.route('gw-other', { headers: { [FORWARDED_BY_HEADER]: 'gw-third' } })).toEqual({ kind: 'local' });
    expect(directory.finds).toEqual([]);
  });

  it("forwards another live replica's stream to that replica's internal URL", async () => {
    const { directory, owners: o } = owners([{ id: 'gw-other', internalUrl: 'http://10.0.0.8:3000', live: true }]);
    expect(await o.route('gw-other', { headers: {} })).toEqual({ kind: 'forward', owner: 'gw-other', internalUrl: 'http://10.0.0.8:3000' });
    // Three missed heartbeats make a replica gone.
    expect(directory.finds).toEqual([['gw-other', 3000]]);
  });

  it('answers owner-gone for a stopped or silent replica and owner-unknown for one never seen', async () => {
    const { owners: o } = owners([{ id: 'gw-stopped', internalUrl: 'http://10.0.0.9:3000', live: false }]);
    expect(await o.route('gw-stopped', { headers: {} })).toEqual({ kind: 'owner-gone', owner: 'gw-stopped' });
    expect(await o.route('gw-never', { headers: {} })).toEqual({ kind: 'owner-unknown', owner: 'gw-never' });
  });

  it('decides from the id alone whether the directory is needed', () => {
    expect(needsOwner('gw-other', HERE, undefined)).toBe(true);
    expect(needsOwner(undefined, HERE, undefined)).toBe(false);
    expect(needsOwner(HERE, HERE, undefined)).toBe(false);
    expect(needsOwner('gw-other', HERE, HERE)).toBe(false);
    expect(routeToOwner('gw-x', undefined)).toEqual({ kind: 'owner-unknown', owner: 'gw-x' });
    expect(liveWindowMs({ GATEWAY_REPLICA_HEARTBEAT_MS: 10_000 })).toBe(30_000);
  });

  it("forwards the client's method, path with query and headers, marked with this replica's id", async () => {
    const { forwarder, owners: o } = owners([]);
    const headers = { authorization: 'Bearer k', 'last-event-id': '4' };
    await o.forward('http://10.0.0.8:3000', { method: 'GET', originalUrl: '/v1/chat/stream/gw-other.x?last_event_id=4', headers }, {} as Response);
    expect(forwarder.calls).toEqual([{ baseUrl: 'http://10.0.0.8:3000', method: 'GET', path: '/v1/chat/stream/gw-other.x?last_event_id=4', headers, forwardedBy: HERE, serviceToken: expect.any(String) }]);
  });
});
