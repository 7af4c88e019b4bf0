import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import type { DataSource } from 'typeorm';
import { DATA_SOURCE, pgPoolOf } from '@ragmesh/persistence';
import type { JobStatus } from '../persistence/entities';

export interface JobRecord {
  id: string;
  memberId: string;
  callbackUrl: string;
  status: JobStatus;
  attempts: number;
  content: string | null;
  lastError: string | null;
}

/** A transition as stored: what `feedback.status.changed` announces. */
export interface StatusChange {
  jobId: string;
  status: JobStatus;
  attempts: number;
  lastError?: string;
  /** When the status was entered (the row's status_changed_at). */
  at: Date;
}

/** The transition of `jobId` stamped `at` (its status_changed_at). */
export type StatusMark = Pick<StatusChange, 'jobId' | 'at'>;

/** A job this delivery holds the lock of and has marked running (its attempt counted). */
export interface StartedJob {
  /** The row was created by this delivery (the job was `queued` at the gateway until now). */
  created: boolean;
  /** The `running` transition. */
  running: StatusChange;
  /** The job succeeded with its content, and the envelope id is recorded, in one commit. */
  succeed(content: string): Promise<StatusChange>;
  fail(status: Extract<JobStatus, 'failed' | 'dead'>, error: string): Promise<StatusChange>;
}

/**
 * busy: another delivery of the job holds its lock (retry later). done: this message was
 * processed already or the job succeeded, whichever message asked for it (nothing to do).
 */
export type JobRun<T> = { outcome: 'busy' } | { outcome: 'done' } | { outcome: 'ran'; value: T };

/** feedback.jobs and feedback.processed_messages, as the use-case sees them. */
export abstract class JobsRepository {
  /**
   * Takes the job's lock without waiting and starts the job (created when new, marked running,
   * attempt counted), then runs `work`, whose succeed/fail commit before the lock is released.
   */
  abstract runJob<T>(envelopeId: string, job: Pick<JobRecord, 'id' | 'memberId' | 'callbackUrl'>, work: (job: StartedJob) => Promise<T>): Promise<JobRun<T>>;
  /**
   * The broker confirmed the events of these transitions (a later transition of a job stays
   * pending). Written later, in batches; resolves once written. A mark that is never written only
   * means the relay publishes the same event again.
   */
  abstract markStatusPublished(marks: StatusMark[]): Promise<void>;
  /** Transitions older than `olderThanMs` whose event is not confirmed yet, oldest first. */
  abstract unpublishedStatuses(limit: number, olderThanMs: number): Promise<StatusChange[]>;
}

// Bounded so a huge upstream error message cannot bloat the row.
export const MAX_ERROR_LENGTH = 2_000;
const LOCK_NAMESPACE = 'feedback.job:';
/** How long confirmed marks wait for a lock release to carry them before they get a statement of their own. */
export const STATUS_MARK_FLUSH_MS = 50;

interface ChangeRow {
  id: string;
  status: JobStatus;
  attempts: number;
  last_error: string | null;
  status_changed_at: Date;
}

/** LOCK_AND_START's one row: the lock's result, and the started job's columns (null when none was started). */
type StartRow = { locked: boolean; created: boolean | null } & { [K in keyof ChangeRow]: ChangeRow[K] | null };

const CHANGE_COLUMNS = 'id, status, attempts, last_error, status_changed_at';
/**
 * clock_timestamp(), not now(): transitions inside one transaction get their own instants. Cut to
 * milliseconds, so the stamp survives the round trip through a JS Date (markStatusPublished compares it).
 */
const STAMP = `date_trunc('milliseconds', clock_timestamp())`;

/*
 * The job path runs as named statements on the lock's connection: parsed and planned once per
 * connection, and no pool checkout per statement. Three round trips per job: lock + start,
 * succeed (or fail), unlock (carrying the confirmed marks).
 */

/**
 * Lock and start in one statement. The statement's snapshot is older than the lock, so a success
 * committed just before the lock was taken may be invisible to the NOT EXISTS; the ON CONFLICT
 * condition is evaluated on the row's latest version and refuses a succeeded job regardless.
 * xmax = 0 only on a freshly inserted row: tells a new job from a retried one.
 */
const LOCK_AND_START = {
  name: 'feedback-job-lock-and-start',
  text: `WITH lock AS MATERIALIZED (SELECT pg_try_advisory_lock(hashtext($5::text)) AS locked),
     started AS (
       INSERT INTO feedback.jobs AS j (id, member_id, callback_url, status, attempts, status_changed_at)
       SELECT $1::uuid, $2::text, $3::text, 'running', 1, ${STAMP}
       FROM lock
       WHERE lock.locked AND NOT EXISTS (SELECT 1 FROM feedback.processed_messages WHERE id = $4::text)
       ON CONFLICT (id) DO UPDATE
         SET status = 'running', attempts = j.attempts + 1, member_id = EXCLUDED.member_id,
             callback_url = EXCLUDED.callback_url, status_changed_at = ${STAMP}, updated_at = now()
         WHERE j.status <> 'succeeded'
       RETURNING (xmax = 0) AS created, ${CHANGE_COLUMNS}
     )
     SELECT lock.locked, started.* FROM lock LEFT JOIN started ON true`,
};

// One statement, so one commit: the success and the processed envelope id are stored together.
const SUCCEED = {
  name: 'feedback-job-succeed',
  text: `WITH processed AS (
       INSERT INTO feedback.processed_messages (id) VALUES ($3::text) ON CONFLICT (id) DO NOTHING
     )
     UPDATE feedback.jobs SET status = 'succeeded', content = $2::text, last_error = NULL, status_changed_at = ${STAMP}, updated_at = now()
     WHERE id = $1::uuid RETURNING ${CHANGE_COLUMNS}`,
};

const FAIL = {
  name: 'feedback-job-fail',
  text: `UPDATE feedback.jobs SET status = $2::text, last_error = $3::text, status_changed_at = ${STAMP}, updated_at = now()
     WHERE id = $1::uuid RETURNING ${CHANGE_COLUMNS}`,
};

/** The marks' job ids and stamps are the parameters `ids` and `ats`. */
const markPublished = (ids: string, ats: string): string => `UPDATE feedback.jobs j SET status_published_at = m.at
  FROM unnest(${ids}::uuid[], ${ats}::timestamptz[]) AS m(id, at)
  WHERE j.id = m.id AND j.status_changed_at = m.at`;

const UNLOCK = { name: 'feedback-job-unlock', text: `SELECT pg_advisory_unlock(hashtext($1::text)) AS unlocked` };
// The marks ride along with the release (a statement each job needs anyway) instead of a statement of their own.
const UNLOCK_AND_MARK = {
  name: 'feedback-job-unlock-and-mark',
  text: `WITH marked AS (${markPublished('$2', '$3')}) SELECT pg_advisory_unlock(hashtext($1::text)) AS unlocked`,
};

function toChange(row: ChangeRow | undefined): StatusChange {
  if (!row) throw new Error('feedback job row vanished during its transition');
  return { jobId: row.id, status: row.status, attempts: row.attempts, at: row.status_changed_at, ...(row.last_error ? { lastError: row.last_error } : {}) };
}

/** Marks waiting to be written, with the callers waiting on them. */
interface PendingMarks {
  marks: StatusMark[];
  settle(err?: unknown): void;
}

/** The pg Pool under the DataSource: a job holds one of its connections across statements. */
function poolOf(ds: DataSource): Pool {
  const pool = pgPoolOf(ds);
  if (!pool) throw new Error('feedback-worker needs the postgres driver (no pg Pool on the DataSource)');
  return pool;
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * A pooled connection held for one job. It sits idle while the job generates and calls back, and
 * the pool does not watch a checked-out client: a connection lost meanwhile (its lock with it)
 * would be an unhandled 'error'. Noted here instead, and the connection is then closed, not reused.
 */
class JobConnection {
  private lost: Error | undefined;
  private readonly onError = (err: Error): void => {
    this.lost = err;
    this.logger.warn({ err: err.message }, 'job lock connection lost while the job ran');
  };

  private constructor(
    readonly client: PoolClient,
    private readonly logger: Logger,
  ) {
    client.on('error', this.onError);
  }

  static async open(pool: Pool, logger: Logger): Promise<JobConnection> {
    return new JobConnection(await pool.connect(), logger);
  }

  /** Back to the pool, unless the connection was lost. */
  release(): void {
    this.client.removeListener('error', this.onError);
    this.client.release(this.lost);
  }

  /** Closed instead of pooled: its session (and any lock it holds) ends. */
  close(err: unknown): void {
    this.client.removeListener('error', this.onError);
    this.client.release(this.lost ?? (err instanceof Error ? err : new Error(String(err))));
  }
}

@Injectable()
export class TypeOrmJobsRepository extends JobsRepository implements OnApplicationShutdown {
  private readonly logger = new Logger(TypeOrmJobsRepository.name);
  private pending: PendingMarks[] = [];
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {
    super();
  }

  async runJob<T>(envelopeId: string, job: Pick<JobRecord, 'id' | 'memberId' | 'callbackUrl'>, work: (job: StartedJob) => Promise<T>): Promise<JobRun<T>> {
    // A session lock on its own connection: a crashed worker's lock goes with its connection.
    const conn = await JobConnection.open(poolOf(this.ds), this.logger);
    const key = LOCK_NAMESPACE + job.id;
    let row: StartRow | undefined;
    try {
      ({ rows: [row] } = await conn.client.query<StartRow>({ ...LOCK_AND_START, values: [job.id, job.memberId, job.callbackUrl, envelopeId, key] }));
    } catch (err) {
      // Session locks outlive a failed statement: whether it was taken or not, it goes with the connection.
      conn.close(err);
      throw err;
    }
    if (row?.locked !== true) {
      conn.release();
      return { outcome: 'busy' };
    }
    try {
      if (row.id == null) return { outcome: 'done' };
      const { client } = conn;
      const started: StartedJob = {
        created: row.created === true,
        running: toChange(row as ChangeRow),
        succeed: async (content) => toChange((await client.query<ChangeRow>({ ...SUCCEED, values: [job.id, content, envelopeId] })).rows[0]),
        fail: async (status, error) => toChange((await client.query<ChangeRow>({ ...FAIL, values: [job.id, status, error.slice(0, MAX_ERROR_LENGTH)] })).rows[0]),
      };
      return { outcome: 'ran', value: await work(started) };
    } finally {
      // Only now: succeed/fail above committed (each is one autocommit statement) before the lock is released.
      await this.unlock(conn, key);
    }
  }

  /** Never rejects: a release that fails closes the connection instead, which releases the lock too. */
  private async unlock(conn: JobConnection, key: string): Promise<void> {
    const carried = this.takePending();
    try {
      if (carried) await conn.client.query({ ...UNLOCK_AND_MARK, values: [key, ...markColumns(carried.marks)] });
      else await conn.client.query({ ...UNLOCK, values: [key] });
      conn.release();
      carried?.settle();
    } catch (err) {
      conn.close(err);
      carried?.settle(err);
      this.logger.warn({ err: errorText(err) }, 'job lock release failed; its connection was closed instead');
    }
  }

  markStatusPublished(marks: StatusMark[]): Promise<void> {
    if (marks.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ marks, settle: (err) => (err === undefined ? resolve() : reject(err)) });
      if (!this.flushTimer) {
        this.flushTimer = setTimeout(() => void this.flushMarks(), STATUS_MARK_FLUSH_MS);
        this.flushTimer.unref();
      }
    });
  }

  /** Writes the marks no lock release has carried yet, in one statement. */
  async flushMarks(): Promise<void> {
    const carried = this.takePending();
    if (!carried) return;
    try {
      await this.ds.query(markPublished('$1', '$2'), markColumns(carried.marks));
      carried.settle();
    } catch (err) {
      carried.settle(err);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.ds.isInitialized) await this.flushMarks();
  }

  private takePending(): PendingMarks | undefined {
    if (this.pending.length === 0) return undefined;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const taken = this.pending;
    this.pending = [];
    return {
      marks: taken.flatMap((p) => p.marks),
      settle: (err) => {
        for (const p of taken) p.settle(err);
      },
    };
  }

  async unpublishedStatuses(limit: number, olderThanMs: number): Promise<StatusChange[]> {
    const rows: ChangeRow[] = await this.ds.query(
      `SELECT ${CHANGE_COLUMNS} FROM feedback.jobs
       WHERE status_published_at IS DISTINCT FROM status_changed_at
         AND status_changed_at < clock_timestamp() - make_interval(secs => $2::double precision / 1000)
       ORDER BY status_changed_at LIMIT $1`,
      [limit, olderThanMs],
    );
    return rows.map(toChange);
  }
}

/** The parameters of markPublished: job ids, then stamps. */
function markColumns(marks: StatusMark[]): [string[], Date[]] {
  return [marks.map((m) => m.jobId), marks.map((m) => m.at)];
}
