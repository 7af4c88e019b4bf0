import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { ApiError, NotFound } from '../http/api-error';
import { type DeadLetter, DeadLettersRepository } from './dead-letters.repository';
import type { DeadLetterQueue } from './dead-letters.schema';

/** A dead letter as an operator sees it: the reason first, secrets out. */
export interface DeadLetterView {
  messageId: string | null;
  type: string | null;
  routingKey: string;
  correlationId: string | null;
  reason: string | null;
  failedAt: string | null;
  attempt: number;
  /** The envelope when the body is JSON (with secrets redacted), else the raw text. */
  body: unknown;
}

/** Payload fields that hold a caller's credential: never shown back. */
const SECRET_PAYLOAD_FIELDS = ['callbackAuthHeader'];
export const REDACTED = '[redacted]';
const MAX_RAW_BODY = 4_096;

export function toView(letter: DeadLetter): DeadLetterView {
  return {
    messageId: letter.messageId ?? null,
    type: letter.type ?? null,
    routingKey: letter.routingKey,
    correlationId: letter.correlationId ?? null,
    reason: letter.reason ?? null,
    failedAt: letter.failedAt ?? null,
    attempt: letter.attempt,
    body: readableBody(letter.body),
  };
}

function readableBody(raw: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // Malformed messages are dead letters too; show what arrived.
    return raw.length > MAX_RAW_BODY ? `${raw.slice(0, MAX_RAW_BODY)}…` : raw;
  }
  const payload = (parsed as { payload?: unknown } | null)?.payload;
  if (payload && typeof payload === 'object') {
    for (const field of SECRET_PAYLOAD_FIELDS) if (field in payload) (payload as Record<string, unknown>)[field] = REDACTED;
  }
  return parsed;
}

/** The broker refused or is unreachable: 404 when the dead-letter queue does not exist yet, else 503. */
function brokerError(err: unknown, queue: string): ApiError {
  const message = err instanceof Error ? err.message : String(err);
  if (/NOT_FOUND|404/.test(message)) {
    return new NotFound(`no dead-letter queue for ${queue} yet: its consumer has not declared it`);
  }
  return new ApiError(HttpStatus.SERVICE_UNAVAILABLE, `dead letters of ${queue} unavailable: ${message}`);
}

@Injectable()
export class DeadLettersUseCase {
  private readonly logger = new Logger(DeadLettersUseCase.name);

  constructor(private readonly letters: DeadLettersRepository) {}

  async list(queue: DeadLetterQueue, limit: number): Promise<DeadLetterView[]> {
    try {
      return (await this.letters.list(queue, limit)).map(toView);
    } catch (err) {
      throw brokerError(err, queue);
    }
  }

  async replayAll(queue: DeadLetterQueue, limit: number): Promise<number> {
    let replayed: number;
    try {
      replayed = await this.letters.replayAll(queue, limit);
    } catch (err) {
      throw brokerError(err, queue);
    }
    this.logger.log({ queue, replayed }, 'dead letters replayed by an operator');
    return replayed;
  }

  async replayOne(queue: DeadLetterQueue, messageId: string): Promise<void> {
    let found: boolean;
    try {
      found = await this.letters.replayOne(queue, messageId);
    } catch (err) {
      throw brokerError(err, queue);
    }
    if (!found) throw new NotFound(`no dead letter ${messageId} in ${queue}`);
    this.logger.log({ queue, messageId }, 'dead letter replayed by an operator');
  }
}
