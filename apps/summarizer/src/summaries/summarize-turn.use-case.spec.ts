import { status } from '@grpc/grpc-js';
import { PermanentError } from '@ragmesh/messaging';
import { MetricsService } from '@ragmesh/observability';
import { Registry } from 'prom-client';
import { GenerationRepository, type SummarizeRequest, type SummarizeResponse } from '../grpc/generation.repository';
import { type ProcessedMessage, type SaveResult, SummariesRepository, type StoredSummary } from './summaries.repository';
import { SummarizeTurnUseCase, type SummarizeTurnCommand } from './summarize-turn.use-case';
import { SummarizerMetrics } from './summarizer.metrics';
import { type ConversationSummarized, SummaryEventsRepository } from './summary-events.repository';

class InMemorySummaries extends SummariesRepository {
  readonly summaries = new Map<string, StoredSummary>();
  readonly processed = new Map<string, ProcessedMessage>();

  async findSummary(conversationId: string): Promise<StoredSummary | null> {
    return this.summaries.get(conversationId) ?? null;
  }
  async findProcessed(envelopeId: string): Promise<ProcessedMessage | null> {
    return this.processed.get(envelopeId) ?? null;
  }
  async saveSummary(summary: StoredSummary, envelopeId: string): Promise<SaveResult> {
    if (this.processed.has(envelopeId)) return 'duplicate';
    const current = this.summaries.get(summary.conversationId);
    if (current && current.upToTurnIndex >= summary.upToTurnIndex) {
      this.processed.set(envelopeId, { id: envelopeId, publishedAt: new Date() });
      return 'stale';
    }
    this.processed.set(envelopeId, { id: envelopeId, publishedAt: null });
    this.summaries.set(summary.conversationId, { ...summary });
    return 'saved';
  }
  async markPublished(envelopeId: string): Promise<void> {
    this.processed.set(envelopeId, { id: envelopeId, publishedAt: new Date() });
  }
}

class FakeGeneration extends GenerationRepository {
  readonly requests: SummarizeRequest[] = [];
  reply: SummarizeResponse | Error = { summary: 'The user asked about refunds. The assistant explained the policy.', model: 'fake-summarizer' };

  async summarize(request: SummarizeRequest): Promise<SummarizeResponse> {
    this.requests.push(request);
    if (this.reply instanceof Error) throw this.reply;
    return this.reply;
  }
}

class RecordingEvents extends SummaryEventsRepository {
  readonly published: ConversationSummarized[] = [];
  fail = false;
  async summarized(payload: ConversationSummarized): Promise<void> {
    if (this.fail) throw new Error('broker nacked');
    this.published.push(payload);
  }
}

const grpcError = (code: status, details: string): Error => Object.assign(new Error(`${code} ${details}`), { code, details });

const CONVERSATION = '4f0c7a6e-8a57-4c5e-9d0e-2b7c1f1d9a01';

describe('SummarizeTurnUseCase', () => {
  let summaries: InMemorySummaries;
  let generation: FakeGeneration;
  let events: RecordingEvents;
  let registry: Registry;
  let useCase: SummarizeTurnUseCase;

  const turn = (overrides: Partial<SummarizeTurnCommand> = {}): SummarizeTurnCommand => ({
    envelopeId: `turn:${CONVERSATION}:0`,
    conversationId: CONVERSATION,
    turnIndex: 0,
    question: 'How do refunds work?',
    answer: 'Refunds are issued within 14 days.',
    ...overrides,
  });

  const outcomeCount = async (outcome: string): Promise<number> => {
    const metric = await registry.getSingleMetric('ragmesh_summaries_total')?.get();
    return metric?.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
  };

  beforeEach(() => {
    summaries = new InMemorySummaries();
    generation = new FakeGeneration();
    events = new RecordingEvents();
    registry = new Registry();
    useCase = new SummarizeTurnUseCase(summaries, generation, events, new SummarizerMetrics(new MetricsService(undefined, registry)), { maxSentences: 3 });
  });

  it('summarizes a new turn from the previous summary, stores it and announces it', async () => {
    summaries.summaries.set(CONVERSATION, { conversationId: CONVERSATION, summary: 'Earlier: greetings.', upToTurnIndex: 0, model: 'm0' });

    await expect(useCase.execute(turn({ envelopeId: 'e1', turnIndex: 1 }))).resolves.toBe('summarized');

    expect(generation.requests).toEqual([
      {
        previousSummary: 'Earlier: greetings.',
        messages: [
          { role: 'user', content: 'How do refunds work?' },
          { role: 'assistant', content: 'Refunds are issued within 14 days.' },
        ],
        maxSentences: 3,
        model: '',
      },
    ]);
    const expected = { conversationId: CONVERSATION, upToTurnIndex: 1, summary: 'The user asked about refunds. The assistant explained the policy.', model: 'fake-summarizer' };
    expect(summaries.summaries.get(CONVERSATION)).toEqual(expected);
    expect(events.published).toEqual([expected]);
    expect(summaries.processed.get('e1')?.publishedAt).toBeInstanceOf(Date);
    expect(await outcomeCount('summarized')).toBe(1);
  });

  it('stores at most three sentences whatever the generation proxy returns', async () => {
    generation.reply = { summary: 'One. Two? Three! Four. 다섯 번째 문장입니다.', model: 'chatty-llm' };

    await useCase.execute(turn());

    expect(summaries.summaries.get(CONVERSATION)?.summary).toBe('One. Two? Three!');
    expect(events.published[0].summary).toBe('One. Two? Three!');
  });

  it('skips a turn the summary already covers without calling the proxy', async () => {
    summaries.summaries.set(CONVERSATION, { conversationId: CONVERSATION, summary: 'Up to turn 4.', upToTurnIndex: 4, model: 'm' });

    await expect(useCase.execute(turn({ envelopeId: 'old', turnIndex: 3 }))).resolves.toBe('covered');
    await expect(useCase.execute(turn({ envelopeId: 'same', turnIndex: 4 }))).resolves.toBe('covered');

    expect(generation.requests).toHaveLength(0);
    expect(events.published).toHaveLength(0);
    expect(summaries.summaries.get(CONVERSATION)?.summary).toBe('Up to turn 4.');
  });

  it('handles a redelivered envelope once: one summary, one event', async () => {
    await useCase.execute(turn());
    await expect(useCase.execute(turn())).resolves.toBe('duplicate');

    expect(generation.requests).toHaveLength(1);
    expect(events.published).toHaveLength(1);
    expect(await outcomeCount('duplicate')).toBe(1);
  });

  it('re-announces a committed summary whose event was never confirmed', async () => {
    events.fail = true;
    await expect(useCase.execute(turn())).rejects.toThrow('broker nacked');
    expect(summaries.processed.get(`turn:${CONVERSATION}:0`)?.publishedAt).toBeNull();

    events.fail = false;
    await expect(useCase.execute(turn())).resolves.toBe('republished');

    expect(generation.requests).toHaveLength(1);
    expect(events.published).toHaveLength(1);
    expect(events.published[0].upToTurnIndex).toBe(0);
  });

  it('turns INVALID_ARGUMENT into a PermanentError (dead letter) and stores nothing', async () => {
    generation.reply = grpcError(status.INVALID_ARGUMENT, 'messages: must not be empty');

    const failure = useCase.execute(turn());
    await expect(failure).rejects.toBeInstanceOf(PermanentError);
    await expect(failure).rejects.toThrow('generation Summarize failed with INVALID_ARGUMENT: messages: must not be empty');
    expect(summaries.summaries.size).toBe(0);
    expect(summaries.processed.size).toBe(0);
    expect(await outcomeCount('rejected')).toBe(1);
  });

  it.each([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.RESOURCE_EXHAUSTED])('retries on gRPC code %s', async (code) => {
    generation.reply = grpcError(code, 'upstream busy');

    const failure = useCase.execute(turn());
    await expect(failure).rejects.toThrow(`failed with ${status[code]}`);
    await expect(failure).rejects.not.toBeInstanceOf(PermanentError);
    expect(summaries.processed.size).toBe(0);
    expect(await outcomeCount('failed')).toBe(1);
  });

  it('dead-letters an empty summary instead of storing it', async () => {
    generation.reply = { summary: '   ', model: 'm' };

    await expect(useCase.execute(turn())).rejects.toBeInstanceOf(PermanentError);
    expect(summaries.summaries.size).toBe(0);
    expect(events.published).toHaveLength(0);
  });
});
