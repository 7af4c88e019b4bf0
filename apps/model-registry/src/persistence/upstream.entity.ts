import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

export const UPSTREAM_KINDS = ['vllm', 'ray-serve', 'openai-compatible'] as const;
export type UpstreamKind = (typeof UPSTREAM_KINDS)[number] | 'local';
export const UPSTREAM_STATUSES = ['unknown', 'up', 'down'] as const;
export type UpstreamStatus = (typeof UPSTREAM_STATUSES)[number];

@Entity({ name: 'upstreams' })
export class UpstreamEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'text', unique: true })
  name!: string;

  @Column({ name: 'base_url', type: 'text' })
  baseUrl!: string;

  @Column({ type: 'text' })
  kind!: UpstreamKind;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  models!: string[];

  @Column({ type: 'text', default: 'unknown' })
  status!: UpstreamStatus;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;

  @Column({ name: 'checked_at', type: 'timestamptz', nullable: true })
  checkedAt!: Date | null;

  @Column({ type: 'double precision', default: 1 })
  weight!: number;

  @Column({ name: 'max_concurrency', type: 'integer', default: 0 })
  maxConcurrency!: number;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  labels!: string[];

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
