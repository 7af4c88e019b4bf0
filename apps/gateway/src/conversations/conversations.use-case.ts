import { Injectable } from '@nestjs/common';
import { NotFound } from '../http/api-error';
import type { Conversation, Reference, StoredMessage, SummaryOutcome, SummaryUpdate } from './conversation.types';
import { ConversationsRepository } from './conversations.repository';

export interface MessagePage {
  messages: StoredMessage[];
  /** Pass as `last_index` to get the turns before this page; null when this page reaches the first turn. */
  nextLastIndex: number | null;
}

@Injectable()
export class ConversationsUseCase {
  constructor(private readonly conversations: ConversationsRepository) {}

  async get(id: string, tenant: string): Promise<Conversation> {
    const conversation = await this.conversations.find(id, tenant);
    if (!conversation) throw new NotFound(`conversation ${id} not found`);
    return conversation;
  }

  /** Turns are numbered densely from 0, so a page is the index range [lastIndex - limit, lastIndex). */
  async messages(id: string, tenant: string, page: { lastIndex?: number; limit: number }): Promise<MessagePage> {
    const conversation = await this.get(id, tenant);
    const before = Math.min(page.lastIndex ?? conversation.turnCount, conversation.turnCount);
    const from = Math.max(before - page.limit, 0);
    const messages = before > 0 ? await this.conversations.messagesBetween(id, from, before) : [];
    return { messages, nextLastIndex: from > 0 ? from : null };
  }

  async references(id: string, tenant: string, turnIndex: number): Promise<Reference[]> {
    await this.get(id, tenant);
    const references = await this.conversations.findReferences(id, turnIndex);
    if (references === null) throw new NotFound(`conversation ${id} has no turn ${turnIndex}`);
    return references;
  }

  applySummary(update: SummaryUpdate): Promise<SummaryOutcome> {
    return this.conversations.applySummary(update);
  }
}
