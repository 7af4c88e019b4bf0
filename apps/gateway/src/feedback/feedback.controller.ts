import { Body, Controller, Get, Headers, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { Tenant } from '../auth/principal';
import { RequireScope } from '../auth/scopes.decorator';
import { ok, type Envelope } from '../http/envelope';
import { parseOrThrow, ZodValidationPipe } from '../http/zod-validation.pipe';
import { feedbackRequestSchema, type FeedbackRequestBody, idempotencyKeySchema, jobIdSchema } from './feedback.schema';
import { FeedbackUseCase } from './feedback.use-case';

// A key sees only its tenant's jobs; Idempotency-Keys are scoped to the tenant too.
@Controller('v1/feedback')
@RequireScope('feedback')
export class FeedbackController {
  constructor(private readonly feedback: FeedbackUseCase) {}

  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  async create(
    @Body(new ZodValidationPipe(feedbackRequestSchema)) body: FeedbackRequestBody,
    @Headers('idempotency-key') rawIdempotencyKey: string | undefined,
    @Tenant() tenant: string,
  ): Promise<Envelope<{ jobId: string }>> {
    // Nest runs no pipes on @Headers: validated here, named as the client sends it.
    const idempotencyKey = parseOrThrow(idempotencyKeySchema, rawIdempotencyKey, ['Idempotency-Key']);
    const { jobId, replayed } = await this.feedback.accept({ request: body, idempotencyKey, tenant });
    return ok(replayed ? 'feedback job already accepted' : 'feedback job accepted', { jobId });
  }

  @Get(':jobId')
  async get(@Param('jobId', new ZodValidationPipe(jobIdSchema, ['jobId'])) jobId: string, @Tenant() tenant: string) {
    const job = await this.feedback.get(jobId, tenant);
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
