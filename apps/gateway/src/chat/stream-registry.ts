import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config';
import { newStreamId } from './stream-id';
import { StreamRecording } from './stream-recording';

/** Without GATEWAY_REPLICA_ID (a registry built by hand in a unit test) ids are plain uuids. */
export type StreamRegistryConfig = Pick<AppConfig, 'CHAT_RESUME_RETENTION_MS' | 'CHAT_RESUME_GRACE_MS' | 'CHAT_RESUME_MAX_STREAMS'> &
  Partial<Pick<AppConfig, 'GATEWAY_REPLICA_ID'>>;

/** Ids of streams that aged out, remembered so a late resume gets 410 Gone rather than 404. */
export const EXPIRED_IDS_KEPT = 10_000;

export type StreamLookup = { found: StreamRecording } | { expired: true } | { unknown: true };

/**
 * The native chat streams of this gateway process, resumable while they run and for
 * CHAT_RESUME_RETENTION_MS after they finish. In memory; each id names this replica
 * (`<replica>.<uuid>`), so a resume reaching another replica is forwarded here (StreamOwners).
 */
@Injectable()
export class StreamRegistry implements OnApplicationShutdown {
  private readonly streams = new Map<string, StreamRecording>();
  private readonly expired = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(@Inject(APP_CONFIG) private readonly config: StreamRegistryConfig) {}

  get size(): number {
    return this.streams.size;
  }

  create(conversationId: string, tenant: string): StreamRecording {
    this.makeRoom();
    const recording = new StreamRecording(newStreamId(this.config.GATEWAY_REPLICA_ID), conversationId, tenant, this.config.CHAT_RESUME_GRACE_MS);
    this.streams.set(recording.id, recording);
    recording.whenFinished(() => this.retain(recording));
    return recording;
  }

  /** Another tenant's stream is unknown to the caller: its existence is not theirs to know. */
  lookup(id: string, tenant: string): StreamLookup {
    const found = this.streams.get(id);
    if (found) return found.tenant === tenant ? { found } : { unknown: true };
    return this.expired.has(id) ? { expired: true } : { unknown: true };
  }

  /** A stream that failed before its first event: the client got an HTTP error, there is nothing to resume. */
  discard(id: string): void {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
    this.streams.delete(id);
  }

  onApplicationShutdown(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const recording of this.streams.values()) if (!recording.finished) recording.abandon();
    this.streams.clear();
  }

  private retain(recording: StreamRecording): void {
    if (this.config.CHAT_RESUME_RETENTION_MS <= 0) return this.expire(recording.id);
    const timer = setTimeout(() => this.expire(recording.id), this.config.CHAT_RESUME_RETENTION_MS);
    timer.unref();
    this.timers.set(recording.id, timer);
  }

  private expire(id: string): void {
    if (!this.streams.has(id)) return;
    this.discard(id);
    this.expired.add(id);
    // A Set iterates in insertion order: the first entry is the oldest.
    if (this.expired.size > EXPIRED_IDS_KEPT) this.expired.delete(this.expired.values().next().value as string);
  }

  /** At the cap, the oldest finished stream goes; running streams are never evicted. */
  private makeRoom(): void {
    if (this.streams.size < this.config.CHAT_RESUME_MAX_STREAMS) return;
    for (const recording of this.streams.values()) {
      if (recording.finished) return this.expire(recording.id);
    }
  }
}
