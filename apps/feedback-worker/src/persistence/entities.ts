import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export const FEEDBACK_SCHEMA = 'feedback';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'dead'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

@Entity({ name: 'jobs', schema: FEEDBACK_SCHEMA })
export class JobEntity {
  /** The jobId of feedback.requested, chosen by the gateway when it accepted the request. */
  @PrimaryColumn('uuid') id!: string;
  @Column({ name: 'member_id', type: 'text' }) memberId!: string;
  @Column({ name: 'callback_url', type: 'text' }) callbackUrl!: string;
  @Column({ type: 'text' }) status!: JobStatus;
  @Column({ type: 'int', default: 0 }) attempts!: number;
  @Column({ type: 'text', nullable: true }) content!: string | null;
  @Column({ name: 'last_error', type: 'text', nullable: true }) lastError!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  /** When the current status was entered; the status event carries it as `at`. */
  @Column({ name: 'status_changed_at', type: 'timestamptz' }) statusChangedAt!: Date;
  /** The status_changed_at whose event the broker confirmed; behind it = an event still to publish. */
  @Column({ name: 'status_published_at', type: 'timestamptz', nullable: true }) statusPublishedAt!: Date | null;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

/** Envelope ids of consumed messages, recorded with the job's success. */
@Entity({ name: 'processed_messages', schema: FEEDBACK_SCHEMA })
export class ProcessedMessageEntity {
  @PrimaryColumn('text') id!: string;
  @CreateDateColumn({ name: 'processed_at', type: 'timestamptz' }) processedAt!: Date;
}

export const FEEDBACK_ENTITIES = [JobEntity, ProcessedMessageEntity];
