import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { DATA_SOURCE, MicroBatcher } from '@ragmesh/persistence';
import Redis from 'ioredis';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../config';

export type LimitName = 'requests' | 'tokens' | 'streams';

/** One limit's state after a request was counted (or refused), as the X-RateLimit-* headers report it. */
export interface LimitState {
  limit: LimitName;
  max: number;
  remaining: number;
  resetSeconds: number;
  allowed: boolean;
}

export interface Charge {
  limit: LimitName;
  /** 1 when unset. */
  points?: number;
}

export interface Admission {
  /** One per charge, in the order given. */
  states: LimitState[];
  /** The first refusing limit; its state is what the 429 reports. */
  refused?: LimitState;
}

/** The one limit a refused request stays charged on. */
const KEPT_ON_REFUSAL: LimitName = 'requests';

type LimitsConfig = Pick<
  AppConfig,
  'RATE_LIMIT_STORE' | 'REDIS_URL' | 'RATE_LIMIT_REQUESTS_PER_MIN' | 'RATE_LIMIT_TOKENS_PER_MIN' | 'RATE_LIMIT_CONCURRENT_STREAMS'
>;

const MINUTE_SECONDS = 60;
/**
 * Stream slots are a counter taken on open and given back on close, in a window this long: a
 * replica that dies holding slots leaks them for at most this long. (A window boundary resets
 * the counter, so the cap is approximate across it.)
 */
const STREAM_SLOT_WINDOW_SECONDS = 15 * MINUTE_SECONDS;
const TABLE = 'rate_limits';
const SCHEMA = 'gateway';

/** Consumes counted together at most (one batch may hold several keys and limits: one store call per pair). */
const RATE_LIMIT_BATCH = 256;

interface ConsumeRequest {
  limit: LimitName;
  keyId: string;
  points: number;
}

/** A store failure is carried per request, so it fails only the requests of its own limit and key. */
type ConsumeOutcome = LimitState | { error: unknown };

function isLimiterRes(value: unknown): value is RateLimiterRes {
  return value instanceof RateLimiterRes;
}

/**
 * Per-key limits shared by every gateway replica through one store: PostgreSQL (default), Redis
 * (RATE_LIMIT_STORE=redis) or this process's memory. Built on rate-limiter-flexible; if the
 * store fails a per-process memory limiter takes over, so a store outage degrades to per-replica
 * limits instead of failing requests.
 */
@Injectable()
export class RateLimits implements OnApplicationShutdown {
  private readonly logger = new Logger(RateLimits.name);
  private readonly redis?: Redis;
  private readonly limiters: Record<LimitName, RateLimiterAbstract>;
  private readonly max: Record<LimitName, number>;
  private readonly consumes = new MicroBatcher<ConsumeRequest, ConsumeOutcome>({
    maxBatch: RATE_LIMIT_BATCH,
    runBatch: (requests) => this.consumeGrouped(requests),
    runOne: (r) => this.consumeNow(r.limit, r.keyId, r.points).catch((error: unknown) => ({ error })),
  });

  constructor(@Inject(APP_CONFIG) config: LimitsConfig, @Inject(DATA_SOURCE) ds: DataSource) {
    this.max = {
      requests: config.RATE_LIMIT_REQUESTS_PER_MIN,
      tokens: config.RATE_LIMIT_TOKENS_PER_MIN,
      streams: config.RATE_LIMIT_CONCURRENT_STREAMS,
    };
    const durations: Record<LimitName, number> = { requests: MINUTE_SECONDS, tokens: MINUTE_SECONDS, streams: STREAM_SLOT_WINDOW_SECONDS };
    if (config.RATE_LIMIT_STORE === 'redis') {
      this.redis = new Redis(config.REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
      this.redis.on('error', (err: Error) => this.logger.warn(`rate limit store (redis): ${err.message}`));
    }
    const build = (name: LimitName): RateLimiterAbstract => {
      const base = { keyPrefix: `rl_${name}`, points: this.max[name], duration: durations[name] };
      const insuranceLimiter = new RateLimiterMemory(base);
      if (config.RATE_LIMIT_STORE === 'memory') return insuranceLimiter;
      if (this.redis) return new RateLimiterRedis({ ...base, storeClient: this.redis, insuranceLimiter });
      return new RateLimiterPostgres({ ...base, storeClient: ds, storeType: 'typeorm', schemaName: SCHEMA, tableName: TABLE, tableCreated: true, insuranceLimiter });
    };
    this.limiters = { requests: build('requests'), tokens: build('tokens'), streams: build('streams') };
  }

  /**
   * Counts `points` against the key; `allowed: false` past the limit (the points are counted even
   * then, as the library does). The consumes of one event-loop turn for the same limit and key
   * share one store round trip (see consumeGrouped).
   */
  async consume(limit: LimitName, keyId: string, points = 1): Promise<LimitState> {
    const outcome = await this.consumes.submit({ limit, keyId, points });
    if ('error' in outcome) throw outcome.error;
    return outcome;
  }

  private async consumeNow(limit: LimitName, keyId: string, points: number): Promise<LimitState> {
    const { res, accepted } = await this.counted(limit, keyId, points);
    return this.state(limit, res.consumedPoints, res.msBeforeNext, accepted);
  }

  /** The store's counters after counting `points`, and whether the library accepted them. */
  private async counted(limit: LimitName, keyId: string, points: number): Promise<{ res: RateLimiterRes; accepted: boolean }> {
    try {
      return { res: await this.limiters[limit].consume(keyId, points), accepted: true };
    } catch (rejection: unknown) {
      if (isLimiterRes(rejection)) return { res: rejection, accepted: false };
      throw rejection;
    }
  }

  /**
   * One store round trip per limit and key for the whole batch: the group's points are counted
   * at once, and each request gets the state it would have had counted alone, in order (the
   * total before it plus its own points), so the n-th request past the limit is refused exactly
   * as one after another. A group whose store call fails fails only its own requests.
   */
  private async consumeGrouped(requests: readonly ConsumeRequest[]): Promise<ConsumeOutcome[]> {
    const groups = new Map<string, number[]>();
    for (const [i, r] of requests.entries()) {
      const key = `${r.limit}\0${r.keyId}`;
      const group = groups.get(key);
      if (group) group.push(i);
      else groups.set(key, [i]);
    }
    const outcomes: ConsumeOutcome[] = new Array(requests.length);
    await Promise.all(
      [...groups.values()].map(async (members) => {
        const { limit, keyId } = requests[members[0]];
        const total = members.reduce((sum, i) => sum + requests[i].points, 0);
        try {
          const { res } = await this.counted(limit, keyId, total);
          let consumed = res.consumedPoints - total;
          for (const i of members) {
            consumed += requests[i].points;
            outcomes[i] = this.state(limit, consumed, res.msBeforeNext, consumed <= this.max[limit]);
          }
        } catch (error: unknown) {
          for (const i of members) outcomes[i] = { error };
        }
      }),
    );
    return outcomes;
  }

  /**
   * Counts every charge at once: the store round trips run side by side, so admission costs one
   * round trip of latency instead of one per limit. `refused` is the first refusing limit in the
   * order given. A refused request keeps its `requests` point (that limit counts attempts: giving
   * it back would let a key whose token budget is spent retry without bound) and gets every other
   * point back, the refusing limit's too: it used no tokens and holds no stream slot.
   */
  async consumeAll(keyId: string, charges: readonly Charge[]): Promise<Admission> {
    const settled = await Promise.allSettled(charges.map((c) => this.consume(c.limit, keyId, c.points ?? 1)));
    const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    const states = settled.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
    const refused = states.find((s) => s && !s.allowed);
    if (failure || refused) {
      // A store error (with the memory insurance gone too) refuses like a limit: nothing it took stays taken.
      await Promise.all(
        charges.map(async (c, i) => {
          if (!states[i] || c.limit === KEPT_ON_REFUSAL) return;
          await this.release(c.limit, keyId, c.points ?? 1).catch((err: unknown) => this.logger.warn(`${c.limit} points not given back: ${String(err)}`));
        }),
      );
    }
    if (failure) throw failure.reason;
    return { states: states as LimitState[], refused };
  }

  /** Gives points back (a closed stream's slot). */
  async release(limit: LimitName, keyId: string, points = 1): Promise<void> {
    await this.limiters[limit].reward(keyId, points);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.redis) await this.redis.quit().catch(() => undefined);
  }

  private state(limit: LimitName, consumedPoints: number, msBeforeNext: number, allowed: boolean): LimitState {
    const max = this.max[limit];
    return {
      limit,
      max,
      remaining: Math.max(0, Math.min(max, max - consumedPoints)),
      resetSeconds: Math.max(1, Math.ceil(msBeforeNext / 1000)),
      allowed,
    };
  }
}
