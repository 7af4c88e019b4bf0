import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 7: upstream routing fields, model status, the improvement loop (examples, dataset
 * versions, training runs, adapters), runtime settings and the append-only event log.
 * Unqualified names: the data source's search_path puts them in the service's schema.
 */
export class ImprovementLoop1731500000000 implements MigrationInterface {
  name = 'ImprovementLoop1731500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE upstreams
        ADD COLUMN weight double precision NOT NULL DEFAULT 1 CHECK (weight > 0),
        ADD COLUMN max_concurrency integer NOT NULL DEFAULT 0 CHECK (max_concurrency >= 0),
        ADD COLUMN labels text[] NOT NULL DEFAULT '{}',
        ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now()`);
    await q.query(`
      CREATE TABLE model_status (
        upstream_id uuid NOT NULL REFERENCES upstreams(id) ON DELETE CASCADE,
        model text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('base', 'adapter', 'embedding')),
        base_model text,
        loaded boolean NOT NULL,
        loaded_at timestamptz,
        load_duration_seconds double precision,
        memory_bytes double precision,
        kv_cache_usage double precision,
        running_requests integer,
        waiting_requests integer,
        device text,
        last_error text,
        checked_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (upstream_id, model)
      )`);
    await q.query(`CREATE TABLE settings (key text PRIMARY KEY, value jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`
      CREATE TABLE dataset_versions (
        version integer PRIMARY KEY,
        example_count integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE dataset_examples (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        source_message_id text NOT NULL UNIQUE,
        conversation_id uuid NOT NULL,
        turn_index integer NOT NULL,
        question text NOT NULL,
        answer text NOT NULL,
        score integer NOT NULL,
        comment text,
        model text NOT NULL,
        content_hash text NOT NULL UNIQUE,
        state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'in_run', 'trained')),
        dataset_version integer REFERENCES dataset_versions(version),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX dataset_examples_state_idx ON dataset_examples (state, created_at)`);
    // Immutable membership of each version, so a failed run's examples can return to "pending" without losing history.
    await q.query(`
      CREATE TABLE dataset_version_examples (
        version integer NOT NULL REFERENCES dataset_versions(version),
        example_id uuid NOT NULL,
        PRIMARY KEY (version, example_id)
      )`);
    await q.query(`
      CREATE TABLE deleted_examples (
        id uuid PRIMARY KEY,
        row jsonb NOT NULL,
        deleted_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE training_runs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        dataset_version integer NOT NULL REFERENCES dataset_versions(version),
        base_model text NOT NULL,
        status text NOT NULL CHECK (status IN ('submitted', 'running', 'succeeded', 'failed', 'stopped')),
        trigger text NOT NULL,
        attempt integer NOT NULL DEFAULT 1,
        submission_id text,
        last_error text,
        metrics jsonb,
        adapter_id uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz
      )`);
    // At most one active run: the coalescing rule, enforced by the database.
    await q.query(`CREATE UNIQUE INDEX training_runs_one_active ON training_runs ((true)) WHERE status IN ('submitted', 'running')`);
    await q.query(`
      CREATE TABLE adapters (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL UNIQUE,
        base_model text NOT NULL,
        version integer NOT NULL,
        path text NOT NULL,
        run_id uuid,
        dataset_version integer,
        metrics jsonb NOT NULL DEFAULT '{}',
        is_default boolean NOT NULL DEFAULT false,
        promoted_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (base_model, version)
      )`);
    await q.query(`CREATE UNIQUE INDEX adapters_one_default ON adapters (base_model) WHERE is_default`);
    await q.query(`
      CREATE TABLE registry_events (
        seq bigserial PRIMARY KEY,
        message_id text UNIQUE,
        type text NOT NULL,
        subject text NOT NULL,
        data jsonb NOT NULL DEFAULT '{}',
        at timestamptz NOT NULL DEFAULT now()
      )`);
    // Append-only: history cannot be rewritten, only added to.
    await q.query(`
      CREATE FUNCTION registry_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'registry_events is append-only'; END $$`);
    await q.query(`
      CREATE TRIGGER registry_events_no_change BEFORE UPDATE OR DELETE ON registry_events
      FOR EACH ROW EXECUTE FUNCTION registry_events_append_only()`);
    await q.query(`CREATE TABLE processed_messages (id text PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['processed_messages', 'registry_events', 'adapters', 'training_runs', 'deleted_examples', 'dataset_version_examples', 'dataset_examples', 'dataset_versions', 'settings', 'model_status']) {
      await q.query(`DROP TABLE ${table}`);
    }
    await q.query('DROP FUNCTION registry_events_append_only()');
    await q.query('ALTER TABLE upstreams DROP COLUMN weight, DROP COLUMN max_concurrency, DROP COLUMN labels, DROP COLUMN updated_at');
  }
}
