import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { Envelope, MessagePayload } from '@ragmesh/contracts';
import { DEFAULT_RETRY, type Messaging, MESSAGING, type RetryPolicy } from '@ragmesh/messaging';
import { ProcessFeedbackUseCase } from './process-feedback.use-case';

export const REQUESTS_QUEUE = 'feedback-worker.requests';
/** The delays are baked into the retry queues' declarations: every replica must use the same policy. */
export const REQUESTS_RETRY: RetryPolicy = DEFAULT_RETRY;
/** Each in-flight job holds a database connection (its lock) and waits on an LLM: few by default. */
export const REQUESTS_PREFETCH = 4;
/** The pool grows with the prefetch (jobsPoolSize); this bounds what one worker asks of PostgreSQL. */
export const MAX_REQUESTS_PREFETCH = 32;

/**
 * Connections a worker needs: one per job in flight (its lock, and the job's own statements run
 * on it), plus the few the status relay, the batched status marks and the health check borrow
 * briefly (the formula keeps the headroom of when jobs borrowed too). More than the prefetch, so
 * those never wait for a lock holder.
 */
export const jobsPoolSize = (prefetch: number): number => prefetch + Math.ceil(prefetch / 2) + 1;

/** From config (FEEDBACK_RETRY_DELAYS_MS, FEEDBACK_PREFETCH); the constants above are the defaults. */
export interface RequestsOptions {
  retry: RetryPolicy;
  prefetch: number;
}
export const REQUESTS_OPTIONS = Symbol('FEEDBACK_REQUESTS_OPTIONS');

type FeedbackRequested = MessagePayload<'feedback.requested'>;

/** AMQP edge: the payload is validated by Messaging against the catalogue before it gets here. */
@Injectable()
export class RequestsConsumer {
  private readonly logger = new Logger(RequestsConsumer.name);

  constructor(
    @Inject(MESSAGING) private readonly messaging: Messaging,
    private readonly useCase: ProcessFeedbackUseCase,
    @Optional() @Inject(REQUESTS_OPTIONS) private readonly options: RequestsOptions = { retry: REQUESTS_RETRY, prefetch: REQUESTS_PREFETCH },
  ) {}

  /** Called by the bootstrap once everything else is up, so a failure can close the app cleanly. */
  async start(): Promise<void> {
    await this.messaging.consume({
      queue: REQUESTS_QUEUE,
      types: ['feedback.requested'],
      prefetch: this.options.prefetch,
      retry: this.options.retry,
      handle: (envelope, raw) => this.handle(envelope, raw.attempt),
    });
    this.logger.log({ queue: REQUESTS_QUEUE }, 'consuming');
  }

  async handle(envelope: Envelope<FeedbackRequested>, attempt: number): Promise<void> {
    const { jobId, memberId, callbackUrl, prompt, callbackAuthHeader, period, activity } = envelope.payload;
    const outcome = await this.useCase.execute({
      envelopeId: envelope.id,
      jobId,
      memberId,
      callbackUrl,
      prompt,
      callbackAuthHeader,
      ...(activity ? { activity: { memberId, ...(period ? { period } : {}), activity } } : {}),
      // Attempt n retries after delaysMs[n-1]; past the last delay Messaging dead-letters.
      isLastAttempt: attempt > this.options.retry.delaysMs.length,
    });
    this.logger.log({ envelopeId: envelope.id, jobId, attempt, outcome }, 'feedback request handled');
  }
}
