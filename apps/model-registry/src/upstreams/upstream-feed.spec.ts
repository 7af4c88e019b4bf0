import { firstValueFrom, take, toArray } from 'rxjs';
import { UpstreamFeed } from './upstream-feed';
import { upstreamRecord } from '../../test/it-helpers';
import type { UpstreamRecord } from './upstream.repository';

const record = (name: string) => upstreamRecord(name);

describe('UpstreamFeed', () => {
  it('sends the snapshot first and replays changes made while it was read, in order', async () => {
    const feed = new UpstreamFeed();
    let release: (rows: UpstreamRecord[]) => void = () => undefined;
    const snapshot = new Promise<UpstreamRecord[]>((resolve) => (release = resolve));
    const received = firstValueFrom(feed.watch(() => snapshot).pipe(take(3), toArray()));
    feed.publish('upserted', record('b'));
    feed.publish('removed', record('a'));
    release([record('a')]);
    const changes = await received;
    expect(changes.map((c) => `${c.type}:${c.upstreams.map((u) => u.name).join(',')}:${c.revision}`)).toEqual(['snapshot:a:0', 'upserted:b:1', 'removed:a:2']);
  });

  it('carries the default adapters on the snapshot and on every promote/rollback change', async () => {
    const feed = new UpstreamFeed();
    const received = firstValueFrom(feed.watch(() => Promise.resolve([]), () => Promise.resolve({ base: 'ft-v1' })).pipe(take(3), toArray()));
    await new Promise((r) => setImmediate(r));
    feed.publishDefaults({ base: 'ft-v2' });
    feed.publishDefaults({});
    const changes = await received;
    expect(changes.map((c) => [c.type, c.defaultAdapters, c.revision])).toEqual([
      ['snapshot', { base: 'ft-v1' }, 0],
      ['defaults', { base: 'ft-v2' }, 1],
      ['defaults', {}, 2],
    ]);
  });

  it('stops delivering to a watcher that unsubscribed', async () => {
    const feed = new UpstreamFeed();
    const seen: string[] = [];
    const sub = feed.watch(() => Promise.resolve([])).subscribe((c) => seen.push(c.type));
    await new Promise((r) => setImmediate(r));
    sub.unsubscribe();
    feed.publish('upserted', record('x'));
    expect(seen).toEqual(['snapshot']);
  });
});
