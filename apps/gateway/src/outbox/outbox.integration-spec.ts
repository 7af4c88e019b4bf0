import type { NestExpressApplication } from '@nestjs/platform-express';
import { EVENTS_EXCHANGE, type Envelope, type MessagePayload } from '@ragmesh/contracts';
import { DATA_SOURCE } from '@ragmesh/persistence';
import { collectPublished, waitFor } from '@ragmesh/testing';
import * as amqplib from 'amqplib';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { TEST_API_KEY } from '../../test/auth';
import { createGatewayApp } from '../app';
import { loadAppConfig } from '../config';
import { OUTBOX_RETRY_BASE_MS, OutboxRelay } from './outbox.relay';

/* The gateway's outbox relay against the real PostgreSQL and RabbitMQ: a batch where one row cannot be published. */

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/ragmesh';

type Requested = Envelope<MessagePayload<'feedback.requested'>>;

jest.setTimeout(30_000);

interface OutboxState {
  id: string;
  attempts: number;
  last_error: string | null;
  published_at: Date | null;
  backoff_ms: number;
}

describe('outbox relay (integration)', () => {
  let app: NestExpressApplication;
  let ds: DataSource;
  let amqp: amqplib.ChannelModel;
  const requested: Requested[] = [];

  beforeAll(async () => {
    amqp = await amqplib.connect(AMQP_URL);
    await collectPublished<Requested>(await amqp.createChannel(), EVENTS_EXCHANGE, 'feedback.requested', (m) => requested.push(m));
    const config = loadAppConfig({ ...process.env, RAGMESH_BOOTSTRAP_API_KEY: TEST_API_KEY, DATABASE_URL, AMQP_URL, LOG_LEVEL: 'error', RETRIEVAL_GRPC_URL: '127.0.0.1:1', GENERATION_GRPC_URL: '127.0.0.1:1' });
    app = await createGatewayApp(config);
    await app.init();
    ds = app.get<DataSource>(DATA_SOURCE);
  });

  afterAll(async () => {
    await amqp?.close();
    await app?.close();
  });

  it('publishes the good rows of a batch, and backs off each failed one with its own attempt count and error', async () => {
    const good = randomUUID();
    const jobId = randomUUID();
    const payload: MessagePayload<'feedback.requested'> = {
      jobId,
      memberId: 'm-outbox',
      callbackUrl: 'http://backend.example/cb',
      prompt: 'p',
      period: { startDate: '2024-05-01T00:00:00.000Z', endDate: '2024-05-31T00:00:00.000Z' },
      activity: { challenges: [] },
    };
    const unknownType = randomUUID();
    const retried = randomUUID();
    // One statement, so the relay's next pass claims all three together. The second bad row has
    // failed twice before: its back-off is longer.
    await ds.query(
      `INSERT INTO gateway.outbox (id, type, payload, attempts)
       VALUES ($1, 'feedback.requested', $2::jsonb, 0), ($3, 'no.such.type', '{}'::jsonb, 0), ($4, 'no.such.type', '{}'::jsonb, 2)`,
      [good, JSON.stringify(payload), unknownType, retried],
    );
    try {
      app.get(OutboxRelay).wake();
      const rows = await waitFor('the batch relayed', async () => {
        const found: OutboxState[] = await ds.query(
          `SELECT id, attempts, last_error, published_at, extract(epoch FROM next_attempt_at - now()) * 1000 AS backoff_ms FROM gateway.outbox WHERE id = ANY($1::uuid[])`,
          [[good, unknownType, retried]],
        );
        const byId = new Map(found.map((r) => [r.id, r]));
        return byId.get(good)?.published_at && byId.get(unknownType)?.attempts === 1 && byId.get(retried)?.attempts === 3 ? byId : undefined;
      });
      const message = await waitFor('feedback.requested', () => requested.find((e) => e.payload.jobId === jobId));
      expect(message.id).toBe(good);

      for (const id of [unknownType, retried]) {
        expect(rows.get(id)).toMatchObject({ published_at: null, last_error: '"no.such.type" is not in the message catalogue' });
      }
      // 2^attempts × base: 200 ms after the first failure, 800 ms after the third (less what has passed since).
      expect(Number(rows.get(unknownType)?.backoff_ms)).toBeLessThanOrEqual(OUTBOX_RETRY_BASE_MS);
      expect(Number(rows.get(retried)?.backoff_ms)).toBeGreaterThan(OUTBOX_RETRY_BASE_MS);
      expect(Number(rows.get(retried)?.backoff_ms)).toBeLessThanOrEqual(4 * OUTBOX_RETRY_BASE_MS);
    } finally {
      // Rows that can never be published would be retried for as long as this database lives.
      await ds.query(`DELETE FROM gateway.outbox WHERE id = ANY($1::uuid[])`, [[unknownType, retried]]);
    }
  });
});
