import { Column, CreateDateColumn, Entity, PrimaryColumn, Unique, UpdateDateColumn } from 'typeorm';

export const GATEWAY_SCHEMA = 'gateway';

@Entity({ name: 'conversations', schema: GATEWAY_SCHEMA })
export class ConversationEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column({ type: 'text', nullable: true }) summary!: string | null;
  @Column({ name: 'summary_turn_index', type: 'int', nullable: true }) summaryTurnIndex!: number | null;
  @Column({ name: 'turn_count', type: 'int', default: 0 }) turnCount!: number;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

@Entity({ name: 'messages', schema: GATEWAY_SCHEMA })
@Unique('uq_messages_turn', ['conversationId', 'turnIndex', 'role'])
export class MessageEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column({ name: 'conversation_id', type: 'uuid' }) conversationId!: string;
  @Column({ name: 'turn_index', type: 'int' }) turnIndex!: number;
  @Column({ type: 'text' }) role!: 'user' | 'assistant';
  @Column({ type: 'text' }) content!: string;
  @Column({ type: 'text', nullable: true }) model!: string | null;
  @Column({ type: 'jsonb', default: () => "'[]'" }) references!: unknown[];
  @Column({ type: 'jsonb', nullable: true }) usage!: Record<string, number> | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}

/** Envelope ids of consumed messages, recorded with their effect so redeliveries are skipped. */
@Entity({ name: 'processed_messages', schema: GATEWAY_SCHEMA })
export class ProcessedMessageEntity {
  @PrimaryColumn('text') id!: string;
  @CreateDateColumn({ name: 'processed_at', type: 'timestamptz' }) processedAt!: Date;
}

export const GATEWAY_ENTITIES = [ConversationEntity, MessageEntity, ProcessedMessageEntity];
