import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * API keys (prefix + SHA-256 of the secret; the secret itself is never stored), the tenant each
 * conversation, feedback job and document belongs to, and the rate limiter's shared counters.
 * Rows written before keys existed belong to the `default` tenant.
 */
export class ApiKeysAndTenants1736000000000 implements MigrationInterface {
  name = 'ApiKeysAndTenants1736000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE gateway.api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        prefix text NOT NULL,
        hash text NOT NULL UNIQUE,
        tenant text NOT NULL,
        scopes text[] NOT NULL,
        expires_at timestamptz NULL,
        revoked_at timestamptz NULL,
        last_used_at timestamptz NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`ALTER TABLE gateway.conversations ADD COLUMN tenant text NOT NULL DEFAULT 'default'`);
    await q.query(`ALTER TABLE gateway.feedback_jobs ADD COLUMN tenant text NOT NULL DEFAULT 'default'`);
    // An Idempotency-Key is the caller's name for a request: two tenants may pick the same one.
    await q.query(`ALTER TABLE gateway.feedback_jobs DROP CONSTRAINT feedback_jobs_idempotency_key_key`);
    await q.query(`ALTER TABLE gateway.feedback_jobs ADD CONSTRAINT feedback_jobs_tenant_idempotency_key UNIQUE (tenant, idempotency_key)`);
    await q.query(`
      CREATE TABLE gateway.document_owners (
        document_id text PRIMARY KEY,
        tenant text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // rate-limiter-flexible's PostgreSQL layout (created here so the limiter never runs DDL at request time).
    await q.query(`
      CREATE TABLE gateway.rate_limits (
        key varchar(255) PRIMARY KEY,
        points integer NOT NULL DEFAULT 0,
        expire bigint
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS gateway.rate_limits`);
    await q.query(`DROP TABLE IF EXISTS gateway.document_owners`);
    await q.query(`ALTER TABLE gateway.feedback_jobs DROP CONSTRAINT IF EXISTS feedback_jobs_tenant_idempotency_key`);
    await q.query(`ALTER TABLE gateway.feedback_jobs ADD CONSTRAINT feedback_jobs_idempotency_key_key UNIQUE (idempotency_key)`);
    await q.query(`ALTER TABLE gateway.feedback_jobs DROP COLUMN IF EXISTS tenant`);
    await q.query(`ALTER TABLE gateway.conversations DROP COLUMN IF EXISTS tenant`);
    await q.query(`DROP TABLE IF EXISTS gateway.api_keys`);
  }
}
