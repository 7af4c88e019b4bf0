import { Metadata, status } from '@grpc/grpc-js';
import { RpcException } from '@nestjs/microservices';
import { generation } from '@ragmesh/contracts';
import { ChatEngine, GenerateEvent, GenerateInput, LocalExtractiveEngine, UpstreamHttpError } from '@ragmesh/llm';
import { MetricsService } from '@ragmesh/observability';
import { splitSentences } from '@ragmesh/text';
import { Registry } from 'prom-client';
import { lastValueFrom, Observable, toArray } from 'rxjs';
import { StaticEngineRouter } from '../engines/engine-router';
import { AdmissionController } from './admission-control';
import { GenerationMetrics } from './generation.metrics';
import { toGenerateCommand } from './generation.schemas';
import { GenerationUseCase, limitSentences } from './generation.use-case';
import { toRpcException } from './grpc-errors';

const usage = { promptTokens: 3, completionTokens: 2, totalTokens: 5 };
const question = toGenerateCommand({ messages: [{ role: 'user', content: 'What is the refund window?' }] });

/** An upstream stand-in whose stream is written by each test. */
class ScriptedEngine implements ChatEngine {
  readonly name = 'openai-compatible';
  lastInput?: GenerateInput;
  summary = '';
  constructor(private readonly script: (input: GenerateInput) => AsyncIterable<GenerateEvent>) {}
  generate(input: GenerateInput): AsyncIterable<GenerateEvent> {
    this.lastInput = input;
    return this.script(input);
  }
  summarize(): Promise<string> {
    return Promise.resolve(this.summary);
  }
  listModels(): Promise<string[]> {
    return Promise.resolve(['qwen']);
  }
}

function waitForAbort(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
}

function setup(upstream?: ChatEngine, admission = new AdmissionController(4, 4)) {
  const registry = new Registry();
  const metrics = new GenerationMetrics(new MetricsService(undefined, registry));
  const router = new StaticEngineRouter({ local: new LocalExtractiveEngine(), upstream, upstreamModel: 'qwen' });
  return { useCase: new GenerationUseCase(router, admission, metrics), admission, registry };
}

async function collectError(stream: Observable<generation.GenerateChunk>) {
  const chunks: generation.GenerateChunk[] = [];
  const error = await new Promise<unknown>((resolve) =>
    stream.subscribe({ next: (c) => chunks.push(c), error: resolve, complete: () => resolve(undefined) }),
  );
  return { chunks, error };
}

const rpcError = (err: unknown) => toRpcException(err).getError() as { code: number; message: string };

describe('GenerationUseCase', () => {
  it('streams cited text from the local engine, then one final chunk with usage', async () => {
    const { useCase, registry } = setup();
    const command = toGenerateCommand({
      messages: [{ role: 'user', content: 'How long is the refund window?' }],
      context: [{ chunkId: 'c1', title: 'Refunds', text: 'The refund window is 30 days from delivery. Shipping is free.', score: 1 }],
    });
    const chunks = await lastValueFrom(useCase.stream(command).pipe(toArray()));
    const final = chunks[chunks.length - 1];
    const text = chunks.map((c) => c.delta).join('');
    expect(text).toContain('30 days');
    expect(text).toMatch(/\[1\]/);
    expect(chunks.slice(0, -1).every((c) => c.delta !== '' && c.finishReason === '')).toBe(true);
    expect(final).toMatchObject({ delta: '', model: 'local-extractive', upstream: 'local' });
    expect(final.finishReason).not.toBe('');
    expect(final.usage?.completionTokens).toBeGreaterThan(0);
    expect(await registry.getSingleMetricAsString('ragmesh_generation_requests_total')).toContain(
      'ragmesh_generation_requests_total{engine="local-extractive",outcome="ok"} 1',
    );
  });

  it('folds the stream for unary Generate', async () => {
    const engine = new ScriptedEngine(async function* () {
      yield { type: 'delta', text: 'Thirty ' };
      yield { type: 'delta', text: 'days.' };
      yield { type: 'done', finishReason: 'stop', usage, model: 'qwen' };
    });
    const { useCase } = setup(engine);
    const response = await useCase.generate(question, new AbortController().signal);
    expect(response).toEqual({ text: 'Thirty days.', finishReason: 'stop', usage, model: 'qwen', upstream: 'default' });
    expect(engine.lastInput?.model).toBe('qwen');
  });

  it('aborts the engine and frees the slot when the subscriber unsubscribes', async () => {
    let seenSignal: AbortSignal | undefined;
    const engine = new ScriptedEngine(async function* (input) {
      seenSignal = input.signal;
      yield { type: 'delta', text: 'partial' };
      await waitForAbort(input.signal);
    });
    const { useCase, admission } = setup(engine);
    const firstChunk = new Promise<void>((resolve) => {
      const subscription = useCase.stream(question).subscribe({
        next: () => {
          subscription.unsubscribe();
          resolve();
        },
      });
    });
    await firstChunk;
    expect(seenSignal?.aborted).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(admission.snapshot()).toEqual({ inFlight: 0, queued: 0 });
  });

  it('maps an upstream failure before the first token to UNAVAILABLE with the HTTP status', async () => {
    const engine = new ScriptedEngine(async function* () {
      throw new UpstreamHttpError(503, 'overloaded', 'http://vllm/v1/chat/completions');
    });
    const { chunks, error } = await collectError(setup(engine).useCase.stream(question));
    expect(chunks).toEqual([]);
    expect(rpcError(error)).toEqual({ code: status.UNAVAILABLE, message: expect.stringMatching(/HTTP 503/) as string });
  });

  it('maps an upstream 404 (unknown model) to NOT_FOUND', async () => {
    const engine = new ScriptedEngine(async function* () {
      throw new UpstreamHttpError(404, 'model does not exist', 'http://vllm/v1/chat/completions');
    });
    const { error } = await collectError(setup(engine).useCase.stream(toGenerateCommand({ model: 'nope', messages: question.messages })));
    expect(rpcError(error).code).toBe(status.NOT_FOUND);
  });

  it('ends the stream with an error after the first token, without repeating text', async () => {
    const engine = new ScriptedEngine(async function* () {
      yield { type: 'delta', text: 'Half an ans' };
      throw new Error('connection reset');
    });
    const { chunks, error } = await collectError(setup(engine).useCase.stream(question));
    expect(chunks.map((c) => c.delta)).toEqual(['Half an ans']);
    expect(rpcError(error)).toEqual({ code: status.ABORTED, message: expect.stringMatching(/after the first token.*connection reset/) as string });
  });

  it('treats a stream without a final event as a failure', async () => {
    const engine = new ScriptedEngine(async function* () {
      yield { type: 'delta', text: 'cut' };
    });
    const { error } = await collectError(setup(engine).useCase.stream(question));
    expect(rpcError(error).message).toMatch(/ended without a final event/);
  });

  it('rejects with RESOURCE_EXHAUSTED when slots and queue are full', async () => {
    const admission = new AdmissionController(1, 0);
    const hold = await admission.acquire();
    const { useCase } = setup(undefined, admission);
    const { error } = await collectError(useCase.stream(question));
    expect(error).toBeDefined();
    expect(rpcError(error)).toMatchObject({ code: status.RESOURCE_EXHAUSTED, message: expect.stringMatching(/capacity exhausted/) as string });
    // The hint the gateway turns into Retry-After.
    expect((toRpcException(error).getError() as { metadata: Metadata }).metadata.get('retry-after-ms')).toEqual(['1000']);
    hold();
  });

  it('maps an unknown model to NOT_FOUND before taking a slot', async () => {
    const { useCase, admission } = setup();
    await expect(useCase.generate(toGenerateCommand({ model: 'gpt-x', messages: question.messages }), new AbortController().signal)).rejects.toThrow(
      /not served/,
    );
    expect(admission.snapshot().inFlight).toBe(0);
  });

  describe('summarize', () => {
    const messages = [
      { role: 'user' as const, content: 'I ordered a laptop last week. It arrived broken. The screen has a crack.' },
      { role: 'assistant' as const, content: 'Sorry to hear that. You can return it within 30 days. A courier will pick it up.' },
    ];

    it('keeps the local summary within three sentences', async () => {
      const { useCase } = setup();
      const result = await useCase.summarize({ model: '', previousSummary: '', messages, maxSentences: 3 }, new AbortController().signal);
      expect(result.model).toBe('local-extractive-summarizer');
      expect(result.summary).not.toBe('');
      expect(splitSentences(result.summary).length).toBeLessThanOrEqual(3);
    });

    it('cuts an upstream summary that ignores the limit', async () => {
      const engine = new ScriptedEngine(async function* () {
        yield { type: 'done', finishReason: 'stop', usage, model: 'qwen' };
      });
      engine.summary = 'One. Two. Three. Four. Five.';
      const { useCase } = setup(engine);
      const result = await useCase.summarize({ model: '', previousSummary: '', messages, maxSentences: 3 }, new AbortController().signal);
      expect(result.summary).toBe('One. Two. Three.');
    });
  });

  it('limitSentences keeps Korean sentence boundaries', () => {
    expect(limitSentences('환불은 30일 이내입니다. 배송은 무료입니다. 문의는 메일로 주세요.', 2)).toBe('환불은 30일 이내입니다. 배송은 무료입니다.');
  });

  it('passes RpcExceptions through untouched', () => {
    const original = new RpcException({ code: status.INTERNAL, message: 'x' });
    expect(toRpcException(original)).toBe(original);
  });
});
