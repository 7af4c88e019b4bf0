import { randomUUID } from 'node:crypto';
import { openServiceDataSource } from '@ragmesh/persistence';
import { waitUntil } from '@ragmesh/testing';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { dataSourceOptions } from '../persistence/data-source';
import { type StartedJob, TypeOrmJobsRepository } from './jobs.repository';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/ragmesh';

/** TypeOrmJobsRepository against PostgreSQL: the job lock, the one-statement start, and where the marks go. */
const originalQuery = Client.prototype.query;

describe('TypeOrmJobsRepository (PostgreSQL)', () => {
  let ds: DataSource;
  let repo: TypeOrmJobsRepository;
  let pg: Client;

  beforeAll(async () => {
    ds = await openServiceDataSource(dataSourceOptions({ DATABASE_URL, FEEDBACK_PREFETCH: 2 }));
    repo = new TypeOrmJobsRepository(ds);
    pg = new Client({ connectionString: DATABASE_URL });
    await pg.connect();
  });

  afterAll(async () => {
    await pg?.end();
    await ds?.destroy();
  });

  const job = (id = randomUUID()) => ({ id, memberId: 'member-1', callbackUrl: 'http://127.0.0.1/cb' });
  const lockKey = (jobId: string) => `feedback.job:${jobId}`;
  /** Whether another session could take the job's lock right now (released at once if so). */
  const lockFree = async (jobId: string): Promise<boolean> => {
    const { rows } = await pg.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [lockKey(jobId)]);
    if (rows[0].locked) await pg.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey(jobId)]);
    return rows[0].locked;
  };
  const row = async (jobId: string) =>
    (
      await pg.query<{ status: string; attempts: number; published: boolean }>(
        'SELECT status, attempts, status_published_at IS NOT DISTINCT FROM status_changed_at AS published FROM feedback.jobs WHERE id = $1',
        [jobId],
      )
    ).rows[0];
  it('starts a new job under its lock, stores the outcome, and releases the lock only after that commit', async () => {
    const { id } = job();
    const seen: { statusInside?: string; lockFreeInside?: boolean } = {};
    const result = await repo.runJob('env-a', job(id), async (started: StartedJob) => {
      expect(started.created).toBe(true);
      expect(started.running).toMatchObject({ jobId: id, status: 'running', attempts: 1 });
      expect(await lockFree(id)).toBe(false);
      const done = await started.succeed('feedback text');
      // Committed (another session sees it) while the lock is still held.
      seen.statusInside = (await row(id)).status;
      seen.lockFreeInside = await lockFree(id);
      return done;
    });
    expect(result).toMatchObject({ outcome: 'ran', value: { jobId: id, status: 'succeeded', attempts: 1 } });
    expect(seen).toEqual({ statusInside: 'succeeded', lockFreeInside: false });
    expect(await lockFree(id)).toBe(true);
    const { rows } = await pg.query('SELECT 1 FROM feedback.processed_messages WHERE id = $1', ['env-a']);
    expect(rows).toHaveLength(1);
  });

  it('refuses a job whose success commits while its start waits on the row (the start\'s snapshot predates the lock)', async () => {
    const { id } = job();
    await repo.runJob('env-r1', job(id), async () => undefined); // left running, as by a delivery that is about to succeed
    const finisher = new Client({ connectionString: DATABASE_URL });
    await finisher.connect();
    try {
      await finisher.query('BEGIN');
      await finisher.query(`UPDATE feedback.jobs SET status = 'succeeded' WHERE id = $1`, [id]);
      const work = jest.fn();
      // Its snapshot sees `running`; the insert conflicts and waits for the finisher's row lock.
      const run = repo.runJob('env-r2', job(id), work);
      await waitUntil('the start to wait on the row', async () => {
        const { rows } = await pg.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%pg_try_advisory_lock%'`,
        );
        return rows[0].n > 0;
      });
      await finisher.query('COMMIT');
      await expect(run).resolves.toEqual({ outcome: 'done' });
      expect(work).not.toHaveBeenCalled();
      expect(await row(id)).toMatchObject({ status: 'succeeded', attempts: 1 });
      expect(await lockFree(id)).toBe(true);
    } finally {
      await finisher.end();
    }
  });

  it('answers busy without touching the row while another session holds the lock', async () => {
    const { id } = job();
    await pg.query('SELECT pg_advisory_lock(hashtext($1))', [lockKey(id)]);
    try {
      const work = jest.fn();
      await expect(repo.runJob('env-b', job(id), work)).resolves.toEqual({ outcome: 'busy' });
      expect(work).not.toHaveBeenCalled();
      expect(await row(id)).toBeUndefined();
    } finally {
      await pg.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey(id)]);
    }
  });

  it('answers done for a processed envelope and for a succeeded job under any envelope, and frees the lock', async () => {
    const { id } = job();
    await repo.runJob('env-c1', job(id), (started) => started.succeed('text'));
    const work = jest.fn();
    await expect(repo.runJob('env-c1', job(id), work)).resolves.toEqual({ outcome: 'done' });
    // Another envelope (a re-sent publish): only the row's status can tell.
    await expect(repo.runJob('env-c2', job(id), work)).resolves.toEqual({ outcome: 'done' });
    expect(work).not.toHaveBeenCalled();
    expect(await row(id)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(await lockFree(id)).toBe(true);
  });

  it('counts each attempt of a retried job and keeps its failure until it succeeds', async () => {
    const { id } = job();
    const failed = await repo.runJob('env-d1', job(id), (started) => started.fail('failed', 'callback answered HTTP 503'));
    expect(failed).toMatchObject({ outcome: 'ran', value: { status: 'failed', attempts: 1, lastError: 'callback answered HTTP 503' } });
    const retried = await repo.runJob('env-d1', job(id), async (started) => {
      expect(started.created).toBe(false);
      expect(started.running).toMatchObject({ status: 'running', attempts: 2, lastError: 'callback answered HTTP 503' });
      return started.succeed('text');
    });
    expect(retried).toMatchObject({ outcome: 'ran', value: { status: 'succeeded', attempts: 2 } });
    expect((retried as { value: { lastError?: string } }).value.lastError).toBeUndefined();
  });

  it('releases the lock when the work throws, leaving the running row for a redelivery', async () => {
    const { id } = job();
    await expect(repo.runJob('env-e', job(id), async () => Promise.reject(new Error('worker bug')))).rejects.toThrow('worker bug');
    expect(await lockFree(id)).toBe(true);
    expect(await row(id)).toMatchObject({ status: 'running', attempts: 1 });
  });

  it('writes confirmed marks with the next lock release, and on its own when no release comes', async () => {
    const first = job();
    const { value: change } = (await repo.runJob('env-f1', first, (started) => started.succeed('text'))) as { value: { at: Date } };
    expect((await row(first.id)).published).toBe(false);

    // Carried by the release of another job's lock.
    const written = repo.markStatusPublished([{ jobId: first.id, at: change.at }]);
    await repo.runJob('env-f2', job(), async () => {
      expect((await row(first.id)).published).toBe(false);
    });
    await written;
    expect((await row(first.id)).published).toBe(true);

    // No release follows: written by a statement of its own shortly after.
    const lone = job();
    const { value: loneChange } = (await repo.runJob('env-f3', lone, (started) => started.fail('failed', 'x'))) as { value: { at: Date } };
    await repo.markStatusPublished([{ jobId: lone.id, at: loneChange.at }]);
    expect((await row(lone.id)).published).toBe(true);

    // A mark of a superseded transition changes nothing.
    await repo.markStatusPublished([{ jobId: lone.id, at: new Date(loneChange.at.getTime() - 1_000) }]);
    const stale = await pg.query<{ at: Date }>('SELECT status_published_at AS at FROM feedback.jobs WHERE id = $1', [lone.id]);
    expect(stale.rows[0].at.getTime()).toBe(loneChange.at.getTime());
  });

  it('costs three statements per job: lock + start, the outcome, the release (carrying the marks)', async () => {
    const previous = job();
    const { value: change } = (await repo.runJob('env-h1', previous, (started) => started.succeed('text'))) as { value: { at: Date } };
    const statements: string[] = [];
    // The pool's connections are node-postgres Clients: every statement of the repository passes here.
    const query = jest.spyOn(Client.prototype, 'query').mockImplementation(function (this: Client, ...args: unknown[]) {
      const config = args[0] as string | { name?: string; text: string };
      if (this !== pg) statements.push(typeof config === 'string' ? config : (config.name ?? config.text));
      return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
    } as never);
    try {
      void repo.markStatusPublished([{ jobId: previous.id, at: change.at }]);
      await repo.runJob('env-h2', job(), (started) => started.succeed('text'));
    } finally {
      query.mockRestore();
    }
    expect(statements).toEqual(['feedback-job-lock-and-start', 'feedback-job-succeed', 'feedback-job-unlock-and-mark']);
    expect((await row(previous.id)).published).toBe(true);
  });

  it('lists transitions whose event is not confirmed yet, oldest first', async () => {
    const { id } = job();
    await repo.runJob('env-g', job(id), (started) => started.succeed('text'));
    await pg.query(`UPDATE feedback.jobs SET status_changed_at = status_changed_at - interval '1 hour' WHERE id = $1`, [id]);
    const pending = await repo.unpublishedStatuses(1_000, 1_000);
    expect(pending.map((c) => c.jobId)).toContain(id);
  });
});
