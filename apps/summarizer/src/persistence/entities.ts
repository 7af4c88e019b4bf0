import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

export const SUMMARIZER_SCHEMA = 'summarizer';

/** The rolling summary of one conversation, covering every turn up to `upToTurnIndex`. */
@Entity({ name: 'summaries', schema: SUMMARIZER_SCHEMA })
export class SummaryEntity {
  @PrimaryColumn({ name: 'conversation_id', type: 'uuid' }) conversationId!: string;
  @Column({ type: 'text' }) summary!: string;
  @Column({ name: 'up_to_turn_index', type: 'int' }) upToTurnIndex!: number;
  @Column({ type: 'text' }) model!: string;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

/**
 * Envelope ids of consumed messages, recorded in the same transaction as the summary.
 * `published_at` stays null until `conversation.summarized` is confirmed, so a redelivery after
 * a crash between commit and publish announces the stored summary instead of dropping it.
 */
@Entity({ name: 'processed_messages', schema: SUMMARIZER_SCHEMA })
export class ProcessedMessageEntity {
  @PrimaryColumn('text') id!: string;
  @CreateDateColumn({ name: 'processed_at', type: 'timestamptz' }) processedAt!: Date;
  @Column({ name: 'published_at', type: 'timestamptz', nullable: true }) publishedAt!: Date | null;
}

export const SUMMARIZER_ENTITIES = [SummaryEntity, ProcessedMessageEntity];
