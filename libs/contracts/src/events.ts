import { z } from 'zod';

/**
 * The message catalogue: every routing key and its payload schema, declared once.
 * Events are facts that happened; commands are work to do later. Both travel on the one
 * topic exchange inside the envelope `{id, type, version, occurredAt, correlationId, payload}`.
 */
export const EVENTS_EXCHANGE = 'ragmesh.events';

/**
 * `z.string().datetime({ offset: true })`, with its regex built once: zod 3 builds that regex on
 * every parse, and every message every service consumes parses one or two of these. Same regex
 * (zod's own `datetimeRegex`), same message.
 */
const ISO_DATE_TIME = z.datetimeRegex({ offset: true, local: false, precision: null });
const isoDate = z.string().regex(ISO_DATE_TIME, 'Invalid datetime');

export const conversationTurnCompleted = z.object({
  conversationId: z.string().uuid(),
  turnIndex: z.number().int().nonnegative(),
  question: z.string(),
  answer: z.string(),
  model: z.string(),
  referenceChunkIds: z.array(z.string()),
  completedAt: isoDate,
});

export const conversationSummarized = z.object({
  conversationId: z.string().uuid(),
  upToTurnIndex: z.number().int().nonnegative(),
  summary: z.string().min(1),
  model: z.string(),
});

export const documentIngested = z.object({
  documentId: z.string().min(1),
  title: z.string(),
  chunkCount: z.number().int().nonnegative(),
  replaced: z.boolean(),
  collection: z.string(),
});

export const documentDeleted = z.object({
  documentId: z.string().min(1),
});

export const feedbackRequested = z.object({
  jobId: z.string().uuid(),
  memberId: z.string().min(1),
  callbackUrl: z.string().url(),
  /** Built by the gateway from the activity, so a worker that reads only the prompt still works. */
  prompt: z.string().min(1),
  // Optional additions (issue 6); older producers omit them.
  period: z.object({ startDate: isoDate, endDate: isoDate }).optional(),
  activity: z.record(z.unknown()).optional(),
  /** Sent verbatim as the callback's Authorization header. */
  callbackAuthHeader: z.string().min(1).optional(),
});

export const FEEDBACK_JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'dead'] as const;
export type FeedbackJobStatus = (typeof FEEDBACK_JOB_STATUSES)[number];

export const feedbackStatusChanged = z.object({
  jobId: z.string().uuid(),
  status: z.enum(FEEDBACK_JOB_STATUSES),
  attempts: z.number().int().nonnegative(),
  lastError: z.string().optional(),
  at: isoDate,
});

export const RATING_MIN_SCORE = 1;
export const RATING_MAX_SCORE = 5;

/** A user rated an answer (issue 7); the model registry turns good ones into training examples. */
export const conversationRated = z.object({
  conversationId: z.string().uuid(),
  turnIndex: z.number().int().nonnegative(),
  question: z.string(),
  answer: z.string(),
  model: z.string(),
  score: z.number().int().min(RATING_MIN_SCORE).max(RATING_MAX_SCORE),
  comment: z.string().optional(),
  ratedAt: isoDate,
});

/** A model or adapter on an upstream was loaded, unloaded or started failing (issue 7). */
export const modelStatusChanged = z.object({
  upstream: z.string().min(1),
  model: z.string().min(1),
  kind: z.enum(['base', 'adapter', 'embedding']),
  loaded: z.boolean(),
  previouslyLoaded: z.boolean(),
  lastError: z.string().optional(),
  at: isoDate,
});

export const MessageCatalogue = {
  'conversation.turn.completed': { kind: 'event', version: 1, schema: conversationTurnCompleted },
  'conversation.summarized': { kind: 'event', version: 1, schema: conversationSummarized },
  'document.ingested': { kind: 'event', version: 1, schema: documentIngested },
  'document.deleted': { kind: 'event', version: 1, schema: documentDeleted },
  'feedback.requested': { kind: 'command', version: 1, schema: feedbackRequested },
  'feedback.status.changed': { kind: 'event', version: 1, schema: feedbackStatusChanged },
  'conversation.rated': { kind: 'event', version: 1, schema: conversationRated },
  'model.status.changed': { kind: 'event', version: 1, schema: modelStatusChanged },
} as const;

export type MessageType = keyof typeof MessageCatalogue;
export type MessagePayload<T extends MessageType> = z.infer<(typeof MessageCatalogue)[T]['schema']>;

export const isMessageType = (value: string): value is MessageType => value in MessageCatalogue;

export interface Envelope<P = unknown> {
  id: string;
  type: string;
  version: number;
  occurredAt: string;
  correlationId?: string;
  payload: P;
}

export const envelopeSchema = z.object({
  id: z.string().min(1),
  type: z.string().min(1),
  version: z.number().int().positive(),
  occurredAt: isoDate,
  correlationId: z.string().optional(),
  payload: z.unknown(),
});
