import { Inject, Injectable, Logger } from '@nestjs/common';
import { classifyGrpcError, PermanentError } from '@ragmesh/messaging';
import { type ChatMessage, feedbackActivityMessage, parseFeedbackActivityDocument } from '@ragmesh/llm';
import { getCorrelationId } from '@ragmesh/observability';
import { OutboundError } from '@ragmesh/outbound';
import { GenerationRepository } from '../grpc/generation.repository';
import { CallbackClient, classifyCallbackStatus } from './callback.client';
import { type AttemptOutcome, FeedbackMetrics } from './feedback.metrics';
import { JobEvents } from './job-events';
import { JobsRepository, type StartedJob, type StatusChange } from './jobs.repository';

export const FEEDBACK_GENERATION_OPTIONS = Symbol('FEEDBACK_GENERATION_OPTIONS');
export interface FeedbackGenerationOptions {
  /** FEEDBACK_MODEL: `local-feedback` by default; empty lets the proxy choose (an upstream LLM). */
  model: string;
}

export interface ProcessFeedbackCommand {
  /** The envelope id: the idempotency key of the message. */
  envelopeId: string;
  jobId: string;
  memberId: string;
  callbackUrl: string;
  prompt: string;
  /** The facts the feedback is written from (`{memberId, period?, activity}`), when the request carried them; validated here. */
  activity?: unknown;
  /** Sent as the callback's Authorization header when the request carried one. */
  callbackAuthHeader?: string;
  /** No retry follows a failure of this attempt: the job is dead if it fails. */
  isLastAttempt: boolean;
}

export type FeedbackOutcome = 'succeeded' | 'duplicate';

/** Thrown when another delivery of the same job is running: retry later, it will have finished. */
export class JobBusyError extends Error {
  override readonly name = 'JobBusyError';
}

/** The activity as the generation-proxy reads it; a document that does not fit will never fit: dead letter. */
function activityMessage(activity: unknown): ChatMessage {
  const parsed = parseFeedbackActivityDocument(activity);
  if (parsed.success) return feedbackActivityMessage(parsed.data);
  const issue = parsed.error.issues[0];
  throw new PermanentError(`invalid activity: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Generates the feedback text and delivers it, signed, to the product backend's callback URL — once. */
@Injectable()
export class ProcessFeedbackUseCase {
  private readonly logger = new Logger(ProcessFeedbackUseCase.name);

  constructor(
    private readonly jobs: JobsRepository,
    private readonly generation: GenerationRepository,
    private readonly callbacks: CallbackClient,
    private readonly metrics: FeedbackMetrics,
    private readonly events: JobEvents,
    @Inject(FEEDBACK_GENERATION_OPTIONS) private readonly options: FeedbackGenerationOptions,
  ) {}

  async execute(cmd: ProcessFeedbackCommand): Promise<FeedbackOutcome> {
    // Never deliver twice, whichever message asked for it: the job is locked and started in one step, or refused.
    const result = await this.jobs.runJob(cmd.envelopeId, { id: cmd.jobId, memberId: cmd.memberId, callbackUrl: cmd.callbackUrl }, (job) => this.run(cmd, job));
    switch (result.outcome) {
      case 'busy':
        throw new JobBusyError(`job ${cmd.jobId} is being processed by another delivery`);
      case 'done':
        return 'duplicate';
      case 'ran':
        return result.value;
    }
  }

  private async run(cmd: ProcessFeedbackCommand, job: StartedJob): Promise<FeedbackOutcome> {
    if (job.created) this.metrics.transition('queued');
    // Not awaited: the job does not wait for the broker's confirm of `running` (the row keeps it pending until then).
    void this.entered(job.running);
    const startedAt = performance.now();
    try {
      const content = await this.generate(cmd);
      await this.deliver(cmd, content);
      await this.finished(await job.succeed(content), startedAt);
      return 'succeeded';
    } catch (err) {
      const status = err instanceof PermanentError || cmd.isLastAttempt ? 'dead' : 'failed';
      try {
        await this.finished(await job.fail(status, errorText(err)), startedAt);
      } catch (recordErr) {
        // The message outcome (retry or dead letter) still follows the original error.
        this.logger.error({ jobId: cmd.jobId, correlationId: getCorrelationId(), err: errorText(recordErr) }, 'could not record job failure');
      }
      throw err;
    }
  }

  private async finished(change: StatusChange, startedAt: number): Promise<void> {
    this.metrics.attemptFinished(change.status as AttemptOutcome, (performance.now() - startedAt) / 1000);
    await this.entered(change);
  }

  /** Every transition: counted, logged with the correlation id, announced (the row keeps it pending until confirmed). */
  private async entered(change: StatusChange): Promise<void> {
    this.metrics.transition(change.status);
    const line = { jobId: change.jobId, status: change.status, attempts: change.attempts, correlationId: getCorrelationId(), ...(change.lastError ? { lastError: change.lastError } : {}) };
    if (change.status === 'dead') this.logger.error(line, `feedback job ${change.status}`);
    else if (change.status === 'failed') this.logger.warn(line, `feedback job ${change.status}`);
    else this.logger.log(line, `feedback job ${change.status}`);
    await this.events.statusChanged(change);
  }

  private async generate(cmd: ProcessFeedbackCommand): Promise<string> {
    const messages: ChatMessage[] = [{ role: 'user', content: cmd.prompt }];
    if (cmd.activity !== undefined) messages.unshift(activityMessage(cmd.activity));
    let text: string;
    try {
      const response = await this.generation.generate({
        model: this.options.model,
        messages,
        context: [],
        maxTokens: 0,
        temperature: 0,
        sessionId: '',
        persona: '',
      });
      text = response.text ?? '';
    } catch (err) {
      throw classifyGrpcError(err, 'generation Generate');
    }
    // An upstream hiccup can yield nothing; sending an empty feedback would be worse than retrying.
    if (!text.trim()) throw new Error('generation Generate returned no text');
    return text;
  }

  private async deliver(cmd: ProcessFeedbackCommand, content: string): Promise<void> {
    let status: number;
    try {
      // webhook-id = the job id: the same on every retry, so a receiver can drop a repeat.
      ({ status } = await this.callbacks.deliver(cmd.callbackUrl, cmd.jobId, { memberId: cmd.memberId, content, jobId: cmd.jobId }, { authHeader: cmd.callbackAuthHeader }));
    } catch (err) {
      const message = `callback to ${new URL(cmd.callbackUrl).host} failed: ${errorText(err)}`;
      // A refused target (private address, bad redirect…) will be refused again: no retries.
      if (err instanceof OutboundError && !err.retryable) throw new PermanentError(message, { cause: err });
      throw new Error(message, { cause: err });
    }
    switch (classifyCallbackStatus(status)) {
      case 'delivered':
        return;
      case 'rejected':
        throw new PermanentError(`callback refused with HTTP ${status}`);
      case 'retry':
        throw new Error(`callback answered HTTP ${status}`);
    }
  }
}
