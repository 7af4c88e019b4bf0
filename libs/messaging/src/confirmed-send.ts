import { randomUUID } from 'node:crypto';
import type { ConfirmChannel, Message, MessageProperties, Options } from 'amqplib';
import { PublishNackedError } from './errors';
import { SEND_TOKEN_HEADER, type Headers } from './policy';

/**
 * Sends to a queue through the default exchange on one confirm channel and resolves only when
 * the broker has taken responsibility: confirmed, not nacked, not returned as unroutable.
 */
export class ConfirmedSender {
  private readonly returned = new Set<string>();

  constructor(private readonly channel: ConfirmChannel) {
    channel.on('return', (message: Message) => {
      const token: unknown = message.properties.headers?.[SEND_TOKEN_HEADER];
      if (typeof token === 'string') this.returned.add(token);
    });
  }

  async sendToQueue(queue: string, content: Buffer, options: Options.Publish): Promise<void> {
    const token = randomUUID();
    const headers: Headers = { ...(options.headers as Headers | undefined), [SEND_TOKEN_HEADER]: token };
    await new Promise<void>((resolve, reject) => {
      try {
        this.channel.sendToQueue(queue, content, { ...options, headers, mandatory: true }, (error: unknown) => {
          if (error) reject(error instanceof Error && error.message === 'message nacked' ? new PublishNackedError(`broker nacked a message for queue "${queue}"`) : error);
          else resolve();
        });
      } catch (error) {
        // amqplib throws synchronously when the channel is already closed.
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    // The broker sends basic.return before the confirm, so the mark is already here.
    if (this.returned.delete(token)) {
      throw new Error(`queue "${queue}" does not exist: the message was returned as unroutable`);
    }
  }
}

/** Publish options that carry a received message on unchanged except for its headers. */
export function forwardOptions(properties: MessageProperties, headers: Headers): Options.Publish {
  const options: Options.Publish = { persistent: true, headers };
  if (properties.messageId !== undefined) options.messageId = String(properties.messageId);
  if (properties.correlationId !== undefined) options.correlationId = String(properties.correlationId);
  if (properties.contentType !== undefined) options.contentType = String(properties.contentType);
  if (properties.contentEncoding !== undefined) options.contentEncoding = String(properties.contentEncoding);
  if (properties.type !== undefined) options.type = String(properties.type);
  if (properties.appId !== undefined) options.appId = String(properties.appId);
  if (typeof properties.timestamp === 'number') options.timestamp = properties.timestamp;
  return options;
}
