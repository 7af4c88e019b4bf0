import { Injectable, Logger } from '@nestjs/common';
import { classifyGrpcError, PermanentError } from '@ragmesh/messaging';
import { GenerationRepository } from '../grpc/generation.repository';
import { CallbackClient, classifyCallbackStatus } from './callback.client';
import { FeedbackMetrics } from './feedback.metrics';
import { JobEvents } from './job-events';
import { JobsRepository } from './jobs.repository';

export interface ProcessFeedbackCommand {
  /** The envelope id: the idempotency key of the message. */
  envelopeId: string;
  jobId: string;
  memberId: string;
  callbackUrl: string;
  prompt: string;
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
  ) {}

  async execute(cmd: ProcessFeedbackCommand): Promise<FeedbackOutcome> {
    const result = await this.jobs.withJobLock(cmd.jobId, () => this.run(cmd));
    if (!result.acquired) throw new JobBusyError(`job ${cmd.jobId} is being processed by another delivery`);
    return result.value;
  }

  private async run(cmd: ProcessFeedbackCommand): Promise<FeedbackOutcome> {
    if (await this.jobs.isProcessed(cmd.envelopeId)) return 'duplicate';
    const existing = await this.jobs.find(cmd.jobId);
    // Never deliver twice, whichever message asked for it.
    if (existing?.status === 'succeeded') return 'duplicate';

    const { created, attempts } = await this.jobs.start({ id: cmd.jobId, memberId: cmd.memberId, callbackUrl: cmd.callbackUrl });
    if (created) this.metrics.transition('queued');
    this.metrics.transition('running');
    await this.events.statusChanged({ jobId: cmd.jobId, status: 'running', attempts });
    try {
      const content = await this.generate(cmd.prompt);
      await this.deliver(cmd, content);
      await this.jobs.succeed(cmd.jobId, content, cmd.envelopeId);
      this.metrics.transition('succeeded');
      await this.events.statusChanged({ jobId: cmd.jobId, status: 'succeeded', attempts });
      return 'succeeded';
    } catch (err) {
      const status = err instanceof PermanentError || cmd.isLastAttempt ? 'dead' : 'failed';
      try {
        await this.jobs.fail(cmd.jobId, status, errorText(err));
        this.metrics.transition(status);
        await this.events.statusChanged({ jobId: cmd.jobId, status, attempts, lastError: errorText(err) });
      } catch (recordErr) {
        // The message outcome (retry or dead letter) still follows the original error.
        this.logger.error({ jobId: cmd.jobId, err: errorText(recordErr) }, 'could not record job failure');
      }
      throw err;
    }
  }

  private async generate(prompt: string): Promise<string> {
    let text: string;
    try {
      const response = await this.generation.generate({
        model: '',
        messages: [{ role: 'user', content: prompt }],
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
      ({ status } = await this.callbacks.deliver(
        cmd.callbackUrl,
        cmd.jobId,
        { memberId: cmd.memberId, content, jobId: cmd.jobId },
        { authHeader: cmd.callbackAuthHeader },
      ));
    } catch (err) {
      throw new Error(`callback to ${new URL(cmd.callbackUrl).host} failed: ${errorText(err)}`, { cause: err });
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
