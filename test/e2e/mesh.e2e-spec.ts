import OpenAI from 'openai';
import { randomUUID } from 'node:crypto';
import { authHeaders, E2E_API_KEY, E2E_PORTS, pollUntil, rawUnaryCall, RunningMesh, startMesh } from './harness';

/**
 * The vertical slice across every boundary: REST → gRPC → PostgreSQL → RabbitMQ → back,
 * with the six services as separate processes.
 */
jest.setTimeout(180_000);

interface Envelope<T> {
  status: string;
  message: string;
  data: T;
}

let mesh: RunningMesh;
const runId = randomUUID().slice(0, 8);
const koDocId = `e2e-ko-${runId}`;
const enDocId = `e2e-en-${runId}`;

async function call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Envelope<T> }> {
  const res = await fetch(`${mesh.gatewayUrl}${path}`, {
    method,
    headers: authHeaders({ 'content-type': 'application/json', ...headers }),
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Envelope<T> };
}

async function grpcHealth(port: number): Promise<string> {
  // HealthCheckRequest{service: ""} encodes to zero bytes; HealthCheckResponse.status is field 1 (varint): 1 = SERVING
  const value = await rawUnaryCall(port, '/grpc.health.v1.Health/Check');
  return value[0] === 0x08 && value[1] === 1 ? 'SERVING' : `raw:${value.toString('hex')}`;
}

beforeAll(async () => {
  mesh = await startMesh();
});

afterAll(async () => {
  await mesh?.stop();
});

describe('the mesh stands up', () => {
  it('serves health and Prometheus metrics on every service', async () => {
    const ops = [E2E_PORTS.gateway, E2E_PORTS.retrievalOps, E2E_PORTS.generationOps, E2E_PORTS.registryOps, E2E_PORTS.feedbackOps, E2E_PORTS.summarizerOps];
    for (const port of ops) {
      const live = await fetch(`http://127.0.0.1:${port}/health/live`);
      expect(live.status).toBe(200);
      const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
      expect(ready.status).toBe(200);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/process_cpu_user_seconds_total/);
    }
  });

  it('answers the standard gRPC health check on every gRPC server', async () => {
    for (const port of [E2E_PORTS.retrievalGrpc, E2E_PORTS.generationGrpc, E2E_PORTS.registryGrpc]) {
      await expect(grpcHealth(port)).resolves.toBe('SERVING');
    }
  });
});

describe('documents and search (gateway → retrieval over gRPC → PostgreSQL)', () => {
  it('ingests Korean and English documents', async () => {
    const ko = await call<{ document_id: string; chunk_count: number }>('POST', '/v1/documents', {
      id: koDocId,
      title: '제주도 여행 안내',
      format: 'markdown',
      content: '# 제주도\n\n제주도는 한국의 남쪽에 있는 화산섬이다. 한라산은 제주도의 중앙에 있으며 높이는 1947미터이다.\n\n## 음식\n\n제주도의 흑돼지는 유명한 향토 음식이다.',
      metadata: { lang: 'ko' },
    });
    expect(ko.status).toBe(201);
    expect(ko.body.status).toBe('ok');
    expect(ko.body.data.document_id).toBe(koDocId);
    expect(ko.body.data.chunk_count).toBeGreaterThanOrEqual(1);

    const en = await call<{ document_id: string; chunk_count: number }>('POST', '/v1/documents', {
      id: enDocId,
      title: 'Rabbit care',
      format: 'text',
      content: 'Rabbits need hay every day. A rabbit should have fresh water and room to run.',
      metadata: { lang: 'en' },
    });
    expect(en.status).toBe(201);
  });

  it('finds the Korean document first for a Korean query with particles', async () => {
    const res = await call<{ results: { document_id: string; score: number; bm25: number }[] }>('POST', '/v1/search', { query: '한라산의 높이는?', top_k: 3 });
    expect(res.status).toBe(200);
    expect(res.body.data.results.length).toBeGreaterThan(0);
    expect(res.body.data.results[0].document_id).toBe(koDocId);
    expect(res.body.data.results[0].score).toBeGreaterThan(0);
  });

  it('rejects bad input with 400 naming the field, and unknown routes with 404', async () => {
    const empty = await call<{ errors: { field: string; reason: string }[] }>('POST', '/v1/documents', { title: 'x', content: '' });
    expect(empty.status).toBe(400);
    expect(empty.body.status).toBe('error');
    expect(empty.body.data.errors.map((e) => e.field)).toContain('content');

    const malformed = await call('POST', '/v1/search', '{"query": ');
    expect(malformed.status).toBe(400);

    const noMessages = await call<{ errors: { field: string }[] }>('POST', '/v1/chat/completions', { model: 'local-extractive' });
    expect(noMessages.status).toBe(400);
    expect(noMessages.body.data.errors.map((e) => e.field)).toContain('messages');

    const unknown = await call('GET', '/v1/nope');
    expect(unknown.status).toBe(404);
  });
});

describe('chat (gateway → retrieval → generation-proxy → answer with references → summary)', () => {
  const openai = (): OpenAI => new OpenAI({ baseURL: `${mesh.gatewayUrl}/v1`, apiKey: E2E_API_KEY, maxRetries: 0 });

  it('lists the local engine in /v1/models through the official client', async () => {
    const models = await openai().models.list();
    expect(models.data.map((m) => m.id)).toContain('local-extractive');
  });

  it('answers a Korean question with references, and the turn is summarized in the background', async () => {
    const correlationId = `e2e-corr-${runId}`;
    const completion = await openai().chat.completions.create(
      { model: 'local-extractive', messages: [{ role: 'user', content: '한라산의 높이는 얼마인가요?' }] },
      { headers: { 'x-correlation-id': correlationId } },
    );
    const content = completion.choices[0].message.content ?? '';
    expect(content).toContain('1947');
    expect(content).toMatch(/\[1\]/);
    expect(completion.usage?.total_tokens).toBeGreaterThan(0);
    const extra = completion as unknown as { references: { document_id: string; chunk_id: string }[]; session_id: string };
    expect(extra.references[0].document_id).toBe(koDocId);
    expect(extra.session_id).toMatch(/^[0-9a-f-]{36}$/);

    // The stored turn and the summary written by the summarizer, stored back by the gateway.
    const conversation = await pollUntil(
      async () => {
        const res = await call<{ summary: string | null }>('GET', `/v1/conversations/${extra.session_id}`);
        return res.status === 200 && res.body.data.summary ? res.body.data : undefined;
      },
      30_000,
      'the conversation summary',
    );
    expect(conversation.summary).toContain('1947');

    const refs = await call<{ references: { chunk_id: string }[] }>('GET', `/v1/conversations/${extra.session_id}/messages/0/references`);
    expect(refs.status).toBe(200);
    expect(refs.body.data.references[0].chunk_id).toBe(extra.references[0].chunk_id);

    // One correlation id travelled HTTP → gRPC → AMQP: it is in the logs of every hop.
    for (const svc of ['gateway', 'retrieval', 'generation-proxy', 'summarizer']) {
      expect(mesh.logOf(svc)).toContain(correlationId);
    }
  });

  it('streams through the official client, with usage at the end', async () => {
    const stream = await openai().chat.completions.create({
      model: 'local-extractive',
      messages: [{ role: 'user', content: '제주도의 유명한 음식은?' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | undefined;
    let finish: string | null = null;
    for await (const chunk of stream) {
      chunks += 1;
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(chunks).toBeGreaterThan(2);
    expect(text).toContain('흑돼지');
    expect(finish).toBe('stop');
    expect(usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('answers with rag off without references', async () => {
    const res = await call<unknown>('POST', '/v1/chat/completions', { messages: [{ role: 'user', content: '안녕하세요' }], rag: false });
    expect(res.status).toBe(200);
    const body = res.body as unknown as { references: unknown[]; choices: { message: { content: string } }[] };
    expect(body.references).toEqual([]);
    expect(body.choices[0].message.content.length).toBeGreaterThan(0);
  });
});
