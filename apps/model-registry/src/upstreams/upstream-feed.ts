import { Injectable } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import type { UpstreamRecord } from './upstream.repository';

export type UpstreamChangeType = 'snapshot' | 'upserted' | 'removed' | 'defaults';

/** Base model → the name of its promoted (default) adapter. */
export type DefaultAdapters = Record<string, string>;

export interface UpstreamChange {
  type: UpstreamChangeType;
  upstreams: UpstreamRecord[];
  revision: number;
  /** The complete map, on 'snapshot' and 'defaults' only. */
  defaultAdapters?: DefaultAdapters;
}

/**
 * In-process fan-out of upstream changes to every WatchUpstreams stream. A watcher gets a
 * snapshot first; changes that happen while the snapshot is read are buffered and replayed
 * after it, so none falls between the two.
 */
@Injectable()
export class UpstreamFeed {
  private readonly changes = new Subject<UpstreamChange>();
  private revision = 0;

  publish(type: 'upserted' | 'removed', upstream: UpstreamRecord): void {
    this.revision += 1;
    this.changes.next({ type, upstreams: [upstream], revision: this.revision });
  }

  /** After a promote or rollback: every watcher gets the complete new map. */
  publishDefaults(defaultAdapters: DefaultAdapters): void {
    this.revision += 1;
    this.changes.next({ type: 'defaults', upstreams: [], revision: this.revision, defaultAdapters });
  }

  watch(snapshot: () => Promise<UpstreamRecord[]>, defaults: () => Promise<DefaultAdapters> = () => Promise.resolve({})): Observable<UpstreamChange> {
    return new Observable<UpstreamChange>((subscriber) => {
      let buffered: UpstreamChange[] | undefined = [];
      const subscription = this.changes.subscribe((change) => {
        if (buffered) buffered.push(change);
        else subscriber.next(change);
      });
      const startRevision = this.revision;
      Promise.all([snapshot(), defaults()]).then(
        ([upstreams, defaultAdapters]) => {
          subscriber.next({ type: 'snapshot', upstreams, revision: startRevision, defaultAdapters });
          for (const change of buffered ?? []) subscriber.next(change);
          buffered = undefined;
        },
        (err: unknown) => subscriber.error(err),
      );
      return () => subscription.unsubscribe();
    });
  }

  complete(): void {
    this.changes.complete();
  }
}
