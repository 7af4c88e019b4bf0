import { randomUUID } from 'node:crypto';
import type { ZodError } from 'zod';
import { MessageCatalogue, envelopeSchema, isMessageType } from '@ragmesh/contracts';
import type { Envelope, MessagePayload, MessageType } from '@ragmesh/contracts';
import { InvalidMessageError } from './errors';

/** "payload.conversationId: Invalid uuid; payload.turnIndex: Required" */
export function describeZodError(error: ZodError, prefix: string): string {
  return error.issues
    .map((issue) => `${[prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

export interface EnvelopeOptions {
  id?: string;
  correlationId?: string;
  now?: Date;
}

/** Validates the payload against the catalogue and wraps it; throws InvalidMessageError naming the bad field. */
export function buildEnvelope<T extends MessageType>(type: T, payload: MessagePayload<T>, opts: EnvelopeOptions = {}): Envelope<MessagePayload<T>> {
  if (!isMessageType(type)) {
    throw new InvalidMessageError(`unknown message type "${String(type)}"`);
  }
  const entry = MessageCatalogue[type];
  const parsed = entry.schema.safeParse(payload);
  if (!parsed.success) {
    throw new InvalidMessageError(`invalid ${type} payload: ${describeZodError(parsed.error, 'payload')}`);
  }
  if (opts.id !== undefined && opts.id.length === 0) {
    throw new InvalidMessageError('envelope id must not be empty');
  }
  return {
    id: opts.id ?? randomUUID(),
    type,
    version: entry.version,
    occurredAt: (opts.now ?? new Date()).toISOString(),
    correlationId: opts.correlationId,
    payload: parsed.data as MessagePayload<T>,
  };
}

export type DecodeResult<T extends MessageType> =
  | { ok: true; envelope: Envelope<MessagePayload<T>> }
  | { ok: false; reason: string };

/** Turns raw message bytes into a validated envelope of one of `accepted`, or says why it cannot be processed. */
export function decodeEnvelope<T extends MessageType>(content: Buffer, accepted: readonly T[]): DecodeResult<T> {
  let json: unknown;
  try {
    json = JSON.parse(content.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: `malformed JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success) {
    return { ok: false, reason: `invalid envelope: ${describeZodError(envelope.error, '')}` };
  }
  const { type, version } = envelope.data;
  if (!isMessageType(type)) {
    return { ok: false, reason: `unknown message type "${type}"` };
  }
  if (!(accepted as readonly string[]).includes(type)) {
    return { ok: false, reason: `message type "${type}" is not consumed by this queue` };
  }
  const entry = MessageCatalogue[type];
  if (version > entry.version) {
    return { ok: false, reason: `unsupported version ${version} of ${type} (this consumer knows up to ${entry.version})` };
  }
  const payload = entry.schema.safeParse(envelope.data.payload);
  if (!payload.success) {
    return { ok: false, reason: `invalid ${type} payload: ${describeZodError(payload.error, 'payload')}` };
  }
  return { ok: true, envelope: { ...envelope.data, payload: payload.data as MessagePayload<T> } };
}
