import { Controller, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { RequireScope } from '../auth/scopes.decorator';
import { ok } from '../http/envelope';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { DEAD_LETTER_QUEUES, type DeadLetterQueue, limitSchema, messageIdSchema, queueSchema } from './dead-letters.schema';
import { DeadLettersUseCase } from './dead-letters.use-case';

/** Operators inspect and replay the feedback pipeline's dead letters. */
@Controller('v1/admin/dead-letters')
@RequireScope('admin')
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLettersUseCase) {}

  @Get()
  queues() {
    return ok('queues with dead letters an operator can inspect', { queues: DEAD_LETTER_QUEUES });
  }

  @Get(':queue')
  async list(@Param('queue', new ZodValidationPipe(queueSchema, ['queue'])) queue: DeadLetterQueue, @Query(new ZodValidationPipe(limitSchema)) query: { limit: number }) {
    const deadLetters = await this.deadLetters.list(queue, query.limit);
    return ok(`${deadLetters.length} dead letter(s) in ${queue}`, { queue, count: deadLetters.length, deadLetters });
  }

  @Post(':queue/replay')
  @HttpCode(HttpStatus.OK)
  async replayAll(@Param('queue', new ZodValidationPipe(queueSchema, ['queue'])) queue: DeadLetterQueue, @Query(new ZodValidationPipe(limitSchema)) query: { limit: number }) {
    const replayed = await this.deadLetters.replayAll(queue, query.limit);
    return ok(`${replayed} dead letter(s) replayed to ${queue}`, { queue, replayed });
  }

  @Post(':queue/:messageId/replay')
  @HttpCode(HttpStatus.OK)
  async replayOne(
    @Param('queue', new ZodValidationPipe(queueSchema, ['queue'])) queue: DeadLetterQueue,
    @Param('messageId', new ZodValidationPipe(messageIdSchema, ['messageId'])) messageId: string,
  ) {
    await this.deadLetters.replayOne(queue, messageId);
    return ok(`dead letter ${messageId} replayed to ${queue}`, { queue, messageId, replayed: 1 });
  }
}
