import { Inject, Injectable } from '@nestjs/common';
import { classifyGrpcError, PermanentError } from '@ragmesh/messaging';
import { GenerationRepository } from '../grpc/generation.repository';
import { SummariesRepository, type StoredSummary } from './summaries.repository';
import { SummarizerMetrics, type SummaryOutcome } from './summarizer.metrics';
import { limitSentences } from './summary-guard';
import { SummaryEventsRepository } from './summary-events.repository';

export const SUMMARY_POLICY = Symbol('SUMMARY_POLICY');
export interface SummaryPolicy {
  maxSentences: number;
}

export interface SummarizeTurnCommand {
  /** The envelope id: the idempotency key. */
  envelopeId: string;
  conversationId: string;
  turnIndex: number;
  question: string;
  answer: string;
}

/** Folds one completed turn into the conversation's rolling summary and announces it. */
@Injectable()
export class SummarizeTurnUseCase {
  constructor(
    private readonly summaries: SummariesRepository,
    private readonly generation: GenerationRepository,
    private readonly events: SummaryEventsRepository,
    private readonly metrics: SummarizerMetrics,
    @Inject(SUMMARY_POLICY) private readonly policy: SummaryPolicy,
  ) {}

  async execute(cmd: SummarizeTurnCommand): Promise<SummaryOutcome> {
    try {
      const outcome = await this.run(cmd);
      this.metrics.outcome(outcome);
      return outcome;
    } catch (err) {
      this.metrics.outcome(err instanceof PermanentError ? 'rejected' : 'failed');
      throw err;
    }
  }

  private async run(cmd: SummarizeTurnCommand): Promise<SummaryOutcome> {
    const [processed, current] = await Promise.all([
      this.summaries.findProcessed(cmd.envelopeId),
      this.summaries.findSummary(cmd.conversationId),
    ]);
    if (processed) {
      if (processed.publishedAt) return 'duplicate';
      // Committed earlier, but the event was never confirmed (crash or broker error after the commit).
      if (current && current.upToTurnIndex === cmd.turnIndex) await this.announce(current);
      await this.summaries.markPublished(cmd.envelopeId);
      return 'republished';
    }
    if (current && cmd.turnIndex <= current.upToTurnIndex) return 'covered';

    const generated = await this.summarize(current?.summary ?? '', cmd);
    const summary = limitSentences(generated.summary, this.policy.maxSentences);
    if (!summary) throw new PermanentError(`Summarize returned an empty summary for conversation ${cmd.conversationId} turn ${cmd.turnIndex}`);

    const stored: StoredSummary = { conversationId: cmd.conversationId, summary, upToTurnIndex: cmd.turnIndex, model: generated.model };
    const saved = await this.summaries.saveSummary(stored, cmd.envelopeId);
    if (saved !== 'saved') return saved;
    await this.announce(stored);
    await this.summaries.markPublished(cmd.envelopeId);
    return 'summarized';
  }

  private async summarize(previousSummary: string, cmd: SummarizeTurnCommand): Promise<{ summary: string; model: string }> {
    const stopTimer = this.metrics.duration.startTimer();
    try {
      const response = await this.generation.summarize({
        previousSummary,
        messages: [
          { role: 'user', content: cmd.question },
          { role: 'assistant', content: cmd.answer },
        ],
        maxSentences: this.policy.maxSentences,
        model: '',
      });
      stopTimer({ outcome: 'ok' });
      return { summary: response.summary ?? '', model: response.model ?? '' };
    } catch (err) {
      stopTimer({ outcome: 'error' });
      throw classifyGrpcError(err, 'generation Summarize');
    }
  }

  private announce(s: StoredSummary): Promise<void> {
    return this.events.summarized({ conversationId: s.conversationId, upToTurnIndex: s.upToTurnIndex, summary: s.summary, model: s.model });
  }
}
