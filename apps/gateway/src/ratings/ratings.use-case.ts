import { Injectable } from '@nestjs/common';
import { NotFound } from '../http/api-error';
import { RatingsRepository } from './ratings.repository';

export interface RateCommand {
  conversationId: string;
  turnIndex: number;
  tenant: string;
  score: number;
  comment?: string;
}

export interface Rating {
  conversationId: string;
  turnIndex: number;
  score: number;
  comment: string | null;
  ratedAt: Date;
}

/** A rating of one answer: the turn must exist (for this tenant); the rating is announced as `conversation.rated`. */
@Injectable()
export class RatingsUseCase {
  constructor(private readonly ratings: RatingsRepository) {}

  async rate(cmd: RateCommand): Promise<Rating> {
    const turn = await this.ratings.findTurn(cmd.conversationId, cmd.turnIndex, cmd.tenant);
    if (!turn) throw new NotFound(`conversation ${cmd.conversationId} has no answered turn ${cmd.turnIndex}`);
    const ratedAt = new Date();
    await this.ratings.publish({
      conversationId: cmd.conversationId,
      turnIndex: cmd.turnIndex,
      question: turn.question,
      answer: turn.answer,
      model: turn.model,
      score: cmd.score,
      ...(cmd.comment !== undefined ? { comment: cmd.comment } : {}),
      ratedAt: ratedAt.toISOString(),
    });
    return { conversationId: cmd.conversationId, turnIndex: cmd.turnIndex, score: cmd.score, comment: cmd.comment ?? null, ratedAt };
  }
}
