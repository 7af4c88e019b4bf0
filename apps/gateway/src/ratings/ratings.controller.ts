import { Body, Controller, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { Tenant } from '../auth/principal';
import { RequireScope } from '../auth/scopes.decorator';
import { conversationIdSchema, turnIndexSchema } from '../conversations/conversations.schema';
import { ok } from '../http/envelope';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { type RatingBody, ratingBodySchema } from './ratings.schema';
import { RatingsUseCase } from './ratings.use-case';

@Controller('v1/conversations')
@RequireScope('chat')
export class RatingsController {
  constructor(private readonly ratings: RatingsUseCase) {}

  /** 202: the rating is announced; the model registry decides whether it becomes a training example. */
  @Post(':id/messages/:index/rating')
  @HttpCode(HttpStatus.ACCEPTED)
  async rate(
    @Param('id', new ZodValidationPipe(conversationIdSchema, ['id'])) id: string,
    @Param('index', new ZodValidationPipe(turnIndexSchema, ['index'])) index: number,
    @Body(new ZodValidationPipe(ratingBodySchema)) body: RatingBody,
    @Tenant() tenant: string,
  ) {
    const rating = await this.ratings.rate({ conversationId: id, turnIndex: index, tenant, score: body.score, comment: body.comment });
    return ok('rating accepted', {
      conversation_id: rating.conversationId,
      turn_index: rating.turnIndex,
      score: rating.score,
      comment: rating.comment,
      rated_at: rating.ratedAt.toISOString(),
    });
  }
}
