import { Body, Controller, Get, Headers, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { ok, type Envelope } from '../http/envelope';
import { parseOrThrow, ZodValidationPipe } from '../http/zod-validation.pipe';
import { feedbackRequestSchema, type FeedbackRequestBody, idempotencyKeySchema, jobIdSchema } from './feedback.schema';
import { FeedbackUseCase } from './feedback.use-case';

// Any caller may read any job until API keys exist (issue 9 scopes jobs and idempotency keys to the key that created them).
@Controller('v1/feedback')
export class FeedbackController {
  constructor(private readonly feedback: FeedbackUseCase) {}

  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  async create(
    @Body(new ZodValidationPipe(feedbackRequestSchema)) body: FeedbackRequestBody,
    @Headers('idempotency-key') rawIdempotencyKey: string | undefined,
  ): Promise<Envelope<{ jobId: string }>> {
    // Nest runs no pipes on @Headers: validated here, named as the client sends it.
    const idempotencyKey = parseOrThrow(idempotencyKeySchema, rawIdempotencyKey, ['Idempotency-Key']);
    const { jobId, replayed } = await this.feedback.accept({ request: body, idempotencyKey });
    return ok(replayed ? 'feedback job already accepted' : 'feedback job accepted', { jobId });
  }

  @Get(':jobId')
  async get(@Param('jobId', new ZodValidationPipe(jobIdSchema, ['jobId'])) jobId: string) {
    const job = await this.feedback.get(jobId);
    return ok(`feedback job ${job.status}`, {
      jobId: job.jobId,
      memberId: job.memberId,
      status: job.status,
      attempts: job.attempts,
      lastError: job.lastError,
      createdAt: job.createdAt.toISOString(),
      updatedAt: job.updatedAt.toISOString(),
      statusChangedAt: job.statusChangedAt?.toISOString() ?? null,
    });
  }
}
