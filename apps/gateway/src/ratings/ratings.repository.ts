import { Inject, Injectable } from '@nestjs/common';
import type { MessagePayload } from '@ragmesh/contracts';
import { type Messaging, MESSAGING } from '@ragmesh/messaging';
import { DATA_SOURCE } from '@ragmesh/persistence';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';

export interface RatedTurn {
  question: string;
  answer: string;
  model: string;
}

/** Reads the turn being rated (the tenant's only) and announces the rating; adapters so the use-case can be tested alone. */
export abstract class RatingsRepository {
  abstract findTurn(conversationId: string, turnIndex: number, tenant: string): Promise<RatedTurn | null>;
  abstract publish(rating: MessagePayload<'conversation.rated'>): Promise<void>;
}

@Injectable()
export class PgAmqpRatingsRepository extends RatingsRepository {
  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(MESSAGING) private readonly messaging: Messaging,
  ) {
    super();
  }

  async findTurn(conversationId: string, turnIndex: number, tenant: string): Promise<RatedTurn | null> {
    const rows = await this.ds.query<{ role: string; content: string; model: string | null }[]>(
      `SELECT m.role, m.content, m.model FROM gateway.messages m JOIN gateway.conversations c ON c.id = m.conversation_id
       WHERE m.conversation_id = $1 AND m.turn_index = $2 AND c.tenant = $3`,
      [conversationId, turnIndex, tenant],
    );
    const question = rows.find((r) => r.role === 'user');
    const answer = rows.find((r) => r.role === 'assistant');
    if (!question || !answer) return null;
    return { question: question.content, answer: answer.content, model: answer.model ?? '' };
  }

  async publish(rating: MessagePayload<'conversation.rated'>): Promise<void> {
    // Each rating is its own fact (a user may re-rate); the registry keys examples by turn.
    await this.messaging.publish('conversation.rated', rating, { id: `rating:${randomUUID()}` });
  }
}
