import { HttpStatus, Injectable } from '@nestjs/common';
import { getCorrelationId } from '@ragmesh/observability';
import { randomUUID } from 'node:crypto';
import { ApiError, NotFound } from '../http/api-error';
import { OutboxRelay } from '../outbox/outbox.relay';
import { buildFeedbackPrompt } from './feedback-prompt';
import { FeedbackRepository, type FeedbackJobView, type FeedbackStatusChanged, type StatusOutcome } from './feedback.repository';
import type { FeedbackRequestBody } from './feedback.schema';
import { decideIdempotency, requestHash } from './idempotency';

export interface AcceptFeedbackCommand {
  request: FeedbackRequestBody;
  tenant: string;
  idempotencyKey?: string;
}

export type AcceptOutcome = { jobId: string; replayed: boolean };

export class IdempotencyConflict extends ApiError {
  constructor(key: string) {
    super(HttpStatus.UNPROCESSABLE_ENTITY, `Idempotency-Key "${key}" was already used with a different request`);
  }
}

@Injectable()
export class FeedbackUseCase {
  constructor(
    private readonly jobs: FeedbackRepository,
    private readonly relay: OutboxRelay,
  ) {}

  async accept(cmd: AcceptFeedbackCommand): Promise<AcceptOutcome> {
    const { callbackAuthHeader, ...stored } = cmd.request;
    const hash = requestHash(cmd.request);
    const jobId = randomUUID();
    const result = await this.jobs.create({
      jobId,
      tenant: cmd.tenant,
      memberId: stored.memberId,
      request: stored,
      requestHash: hash,
      idempotencyKey: cmd.idempotencyKey,
      message: {
        // The envelope id is fixed here, so a re-published outbox row is the same message to consumers.
        id: randomUUID(),
        correlationId: getCorrelationId(),
        payload: {
          jobId,
          memberId: stored.memberId,
          callbackUrl: stored.callbackUrl,
          prompt: buildFeedbackPrompt(stored),
          period: { startDate: stored.startDate, endDate: stored.endDate },
          activity: stored.activity,
          ...(callbackAuthHeader ? { callbackAuthHeader } : {}),
        },
      },
    });
    if (result.created) {
      this.relay.wake();
      return { jobId: result.jobId, replayed: false };
    }
    const decision = decideIdempotency(result.existing, hash);
    if (decision.kind === 'replay') return { jobId: decision.jobId, replayed: true };
    throw new IdempotencyConflict(cmd.idempotencyKey ?? '');
  }

  async get(jobId: string, tenant: string): Promise<FeedbackJobView> {
    const job = await this.jobs.find(jobId, tenant);
    if (!job) throw new NotFound(`feedback job ${jobId} not found`);
    return job;
  }

  applyStatus(envelopeId: string, event: FeedbackStatusChanged): Promise<StatusOutcome> {
    return this.jobs.applyStatus(envelopeId, event);
  }

  applyStatuses(events: { envelopeId: string; event: FeedbackStatusChanged }[]): Promise<StatusOutcome[]> {
    return this.jobs.applyStatuses(events);
  }
}
