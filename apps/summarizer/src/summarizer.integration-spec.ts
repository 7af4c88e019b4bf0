import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { EVENTS_EXCHANGE, type Envelope, type MessagePayload, PROTO_LOADER_OPTIONS, protoPath } from '@ragmesh/contracts';
import { Messaging } from '@ragmesh/messaging';
import amqplib, { type ChannelModel } from 'amqplib';
import { Client } from 'pg';
import { startSummarizer, type RunningSummarizer } from './bootstrap';
import { loadAppConfig } from './config';
import { collectPublished, waitFor as pollFor } from '@ragmesh/testing';

jest.setTimeout(60_000);

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/ragmesh';
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
// Four sentences: the stored summary must be cut to three.
const FIXED_SUMMARY = 'The user asked about refunds. The assistant explained the 14-day policy. The user thanked them. This fourth sentence must go.';
const STORED_SUMMARY = 'The user asked about refunds. The assistant explained the 14-day policy. The user thanked them.';

type Summarized = MessagePayload<'conversation.summarized'>;
interface SummarizeCall {
  previous_summary?: string;
  previousSummary?: string;
  messages: { role: string; content: string }[];
  maxSentences: number;
}

/** The worker's round trips are slower than the shared default allows: 20 s. */
const waitFor = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> => pollFor(what, probe, timeoutMs);

/** A stand-in generation-proxy: the real proto, a fixed summary, every request recorded. */
async function startFakeGenerationProxy(calls: SummarizeCall[]): Promise<{ server: grpc.Server; port: number }> {
  const definition = loadSync(protoPath('generation'), PROTO_LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { ragmesh: { v1: { GenerationService: { service: grpc.ServiceDefinition } } } };
  const unimplemented = (_call: unknown, callback: grpc.sendUnaryData<unknown>): void =>
    callback({ code: grpc.status.UNIMPLEMENTED, details: 'not in this fake' });
  const server = new grpc.Server();
  server.addService(pkg.ragmesh.v1.GenerationService.service, {
    Summarize: (call: grpc.ServerUnaryCall<SummarizeCall, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      calls.push(call.request);
      callback(null, { summary: FIXED_SUMMARY, model: 'fake-summarizer' });
    },
    Generate: unimplemented,
    GenerateStream: (call: grpc.ServerWritableStream<unknown, unknown>) => call.emit('error', { code: grpc.status.UNIMPLEMENTED }),
    ListModels: unimplemented,
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port };
}

describe('summarizer (PostgreSQL + RabbitMQ + gRPC)', () => {
  const calls: SummarizeCall[] = [];
  const observed: Envelope<Summarized>[] = [];
  let proxy: grpc.Server;
  let service: RunningSummarizer;
  let publisher: Messaging;
  let observer: ChannelModel;
  let pg: Client;

  beforeAll(async () => {
    const fake = await startFakeGenerationProxy(calls);
    proxy = fake.server;
    const config = loadAppConfig({ DATABASE_URL, AMQP_URL, OPS_PORT: '0', GENERATION_GRPC_URL: `127.0.0.1:${fake.port}`, LOG_LEVEL: 'warn' });
    service = await startSummarizer(config);

    observer = await amqplib.connect(AMQP_URL);
    await collectPublished<Envelope<Summarized>>(await observer.createChannel(), EVENTS_EXCHANGE, 'conversation.summarized', (m) => observed.push(m));

    publisher = new Messaging({ url: AMQP_URL, service: 'summarizer-integration-test' });
    await publisher.connect();
    pg = new Client({ connectionString: DATABASE_URL });
    await pg.connect();
  });

  afterAll(async () => {
    await publisher?.close();
    await observer?.close();
    await service?.close();
    await pg?.end();
    proxy?.forceShutdown();
  });

  const turn = (conversationId: string, turnIndex: number): MessagePayload<'conversation.turn.completed'> => ({
    conversationId,
    turnIndex,
    question: `Question ${turnIndex}: how do refunds work?`,
    answer: `Answer ${turnIndex}: within 14 days.`,
    model: 'local-extractive',
    referenceChunkIds: [],
    completedAt: new Date().toISOString(),
  });
  const callsFor = (conversationId: string): SummarizeCall[] => calls.filter((c) => c.messages.some((m) => m.content.includes(conversationId)));
  const eventsFor = (conversationId: string): Envelope<Summarized>[] => observed.filter((e) => e.payload.conversationId === conversationId);
  const summaryRow = async (conversationId: string) => {
    const { rows } = await pg.query<{ summary: string; up_to_turn_index: number; model: string; updated_at: Date }>(
      'SELECT summary, up_to_turn_index, model, updated_at FROM summarizer.summaries WHERE conversation_id = $1',
      [conversationId],
    );
    return rows[0];
  };
  const duplicates = async (): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${service.opsPort}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('ragmesh_summaries_total{') && l.includes('outcome="duplicate"'));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };

  it('is ready once PostgreSQL and RabbitMQ are reachable', async () => {
    const res = await fetch(`http://127.0.0.1:${service.opsPort}/health/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', checks: { postgres: { status: 'ok' }, rabbitmq: { status: 'ok' } } });
  });

  it('summarizes a completed turn into summarizer.summaries and announces conversation.summarized', async () => {
    const conversationId = randomUUID();
    // The question carries the conversation id so the fake's calls can be told apart.
    await publisher.publish('conversation.turn.completed', { ...turn(conversationId, 0), question: `About ${conversationId}` });

    const [event] = await waitFor('conversation.summarized', async () => (eventsFor(conversationId).length > 0 ? eventsFor(conversationId) : undefined));
    expect(event.payload).toEqual({ conversationId, upToTurnIndex: 0, summary: STORED_SUMMARY, model: 'fake-summarizer' });
    expect(event.id).toBe(`summary:${conversationId}:0`);

    const row = await summaryRow(conversationId);
    expect(row).toMatchObject({ summary: STORED_SUMMARY, up_to_turn_index: 0, model: 'fake-summarizer' });
    const [call] = callsFor(conversationId);
    expect(call.messages).toEqual([
      { role: 'user', content: `About ${conversationId}` },
      { role: 'assistant', content: 'Answer 0: within 14 days.' },
    ]);
    expect(call.maxSentences).toBe(3);

    // The next turn builds on the stored summary.
    await publisher.publish('conversation.turn.completed', { ...turn(conversationId, 1), question: `Again ${conversationId}` });
    await waitFor('the second summary', async () => (eventsFor(conversationId).length === 2 ? true : undefined));
    expect(callsFor(conversationId)[1].previousSummary).toBe(STORED_SUMMARY);
    expect((await summaryRow(conversationId)).up_to_turn_index).toBe(1);
  });

  it('handles the same envelope twice as one summary update and one event', async () => {
    const conversationId = randomUUID();
    const envelopeId = `turn:${conversationId}:0`;
    const duplicatesBefore = await duplicates();
    const payload = { ...turn(conversationId, 0), question: `About ${conversationId}` };

    await publisher.publish('conversation.turn.completed', payload, { id: envelopeId });
    await waitFor('the first summary', async () => (eventsFor(conversationId).length === 1 ? true : undefined));
    const first = await summaryRow(conversationId);

    await publisher.publish('conversation.turn.completed', payload, { id: envelopeId });
    await waitFor('the duplicate to be handled', async () => ((await duplicates()) > duplicatesBefore ? true : undefined));
    // Give a wrongly published second event time to arrive before counting.
    await new Promise((r) => setTimeout(r, 500));

    expect(eventsFor(conversationId)).toHaveLength(1);
    expect(callsFor(conversationId)).toHaveLength(1);
    expect((await summaryRow(conversationId)).updated_at).toEqual(first.updated_at);
    const { rows } = await pg.query('SELECT published_at FROM summarizer.processed_messages WHERE id = $1', [envelopeId]);
    expect(rows).toHaveLength(1);
    expect(rows[0].published_at).not.toBeNull();
  });
});
