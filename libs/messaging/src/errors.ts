/** Thrown by a handler when retrying cannot help: the message goes straight to the dead-letter queue. */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
}

/** The message was refused before anything was sent: unknown type or a payload failing its schema. */
export class InvalidMessageError extends Error {
  override readonly name = 'InvalidMessageError';
}

/** The broker returned a mandatory message: no queue is bound to its routing key. */
export class UnroutableMessageError extends Error {
  override readonly name = 'UnroutableMessageError';
  constructor(
    readonly routingKey: string,
    readonly messageId: string,
    reply: string,
  ) {
    super(`message ${messageId} with routing key "${routingKey}" is unroutable (${reply}): no queue is bound to it`);
  }
}

/**
 * No confirm within the publish deadline (the broker down or unreachable). The message may still
 * arrive later if it had already been sent: publish it again with the same id, consumers dedupe.
 */
export class PublishTimeoutError extends Error {
  override readonly name = 'PublishTimeoutError';
}

/** The broker refused (nacked) a publish. */
export class PublishNackedError extends Error {
  override readonly name = 'PublishNackedError';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
