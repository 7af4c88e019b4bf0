import { Controller, Get, Param, Query } from '@nestjs/common';
import { Tenant } from '../auth/principal';
import { RequireScope } from '../auth/scopes.decorator';
import { ok, type Envelope } from '../http/envelope';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import type { Reference, StoredMessage } from './conversation.types';
import { conversationIdSchema, messagesQuerySchema, type MessagesQuery, turnIndexSchema } from './conversations.schema';
import { ConversationsUseCase } from './conversations.use-case';

const toMessageView = (m: StoredMessage) => ({
  turn_index: m.turnIndex,
  role: m.role,
  content: m.content,
  model: m.model,
  usage: m.usage,
  reference_count: m.references.length,
  created_at: m.createdAt.toISOString(),
});

@Controller('v1/conversations')
@RequireScope('chat')
export class ConversationsController {
  constructor(private readonly conversations: ConversationsUseCase) {}

  @Get(':id')
  async get(@Param('id', new ZodValidationPipe(conversationIdSchema, ['id'])) id: string, @Tenant() tenant: string) {
    const c = await this.conversations.get(id, tenant);
    return ok('conversation', {
      id: c.id,
      summary: c.summary,
      summary_turn_index: c.summaryTurnIndex,
      turns: c.turnCount,
      created_at: c.createdAt.toISOString(),
      updated_at: c.updatedAt.toISOString(),
    });
  }

  @Get(':id/messages')
  async messages(
    @Param('id', new ZodValidationPipe(conversationIdSchema, ['id'])) id: string,
    @Query(new ZodValidationPipe(messagesQuerySchema)) query: MessagesQuery,
    @Tenant() tenant: string,
  ): Promise<Envelope<{ messages: ReturnType<typeof toMessageView>[]; next_last_index: number | null }>> {
    const page = await this.conversations.messages(id, tenant, { lastIndex: query.last_index, limit: query.limit });
    return ok(`${page.messages.length} messages`, { messages: page.messages.map(toMessageView), next_last_index: page.nextLastIndex });
  }

  @Get(':id/messages/:index/references')
  async references(
    @Param('id', new ZodValidationPipe(conversationIdSchema, ['id'])) id: string,
    @Param('index', new ZodValidationPipe(turnIndexSchema, ['index'])) index: number,
    @Tenant() tenant: string,
  ): Promise<Envelope<{ turn_index: number; references: Reference[] }>> {
    const references = await this.conversations.references(id, tenant, index);
    return ok(`${references.length} references`, { turn_index: index, references });
  }
}
