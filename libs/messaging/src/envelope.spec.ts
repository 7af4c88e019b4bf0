import { randomUUID } from 'node:crypto';
import type { MessagePayload } from '@ragmesh/contracts';
import { buildEnvelope, decodeEnvelope } from './envelope';
import { InvalidMessageError } from './errors';

const summarized: MessagePayload<'conversation.summarized'> = {
  conversationId: randomUUID(),
  upToTurnIndex: 3,
  summary: 'They talked.',
  model: 'local-extractive-summarizer',
};

const bytes = (value: unknown): Buffer => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

describe('buildEnvelope', () => {
  it('wraps a valid payload with id, type, catalogue version, time and correlation id', () => {
    const now = new Date('2025-03-04T05:06:07.000Z');
    const envelope = buildEnvelope('conversation.summarized', summarized, { id: 'm-1', correlationId: 'c-1', now });
    expect(envelope).toEqual({
      id: 'm-1',
      type: 'conversation.summarized',
      version: 1,
      occurredAt: '2025-03-04T05:06:07.000Z',
      correlationId: 'c-1',
      payload: summarized,
    });
  });

  it('makes a uuid id when none is given', () => {
    expect(buildEnvelope('document.deleted', { documentId: 'd' }).id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('rejects a payload failing its schema, naming the field', () => {
    const bad = { ...summarized, conversationId: 'not-a-uuid', summary: '' };
    expect(() => buildEnvelope('conversation.summarized', bad)).toThrow(InvalidMessageError);
    expect(() => buildEnvelope('conversation.summarized', bad)).toThrow(/payload\.conversationId: Invalid uuid.*payload\.summary/);
  });

  it('rejects an unknown type', () => {
    expect(() => buildEnvelope('no.such.type' as 'document.deleted', { documentId: 'd' })).toThrow('unknown message type "no.such.type"');
  });

  it('rejects an empty id', () => {
    expect(() => buildEnvelope('document.deleted', { documentId: 'd' }, { id: '' })).toThrow(InvalidMessageError);
  });
});

describe('decodeEnvelope', () => {
  const valid = buildEnvelope('conversation.summarized', summarized, { correlationId: 'c-1' });

  it('accepts a valid envelope of an accepted type', () => {
    const result = decodeEnvelope(bytes(valid), ['conversation.summarized']);
    expect(result).toEqual({ ok: true, envelope: valid });
  });

  it.each<[string, unknown, RegExp]>([
    ['malformed JSON', '{"id": ', /^malformed JSON: /],
    ['a non-object', '42', /^invalid envelope: /],
    ['a missing id', { ...valid, id: undefined }, /^invalid envelope: id: Required/],
    ['a bad occurredAt', { ...valid, occurredAt: 'yesterday' }, /^invalid envelope: occurredAt: /],
    ['an unknown type', { ...valid, type: 'no.such.type' }, /^unknown message type "no.such.type"/],
    ['a type this queue does not consume', { ...valid, type: 'document.deleted', payload: { documentId: 'd' } }, /not consumed by this queue/],
    ['a newer version', { ...valid, version: 2 }, /^unsupported version 2 of conversation.summarized/],
    ['a payload failing its schema', { ...valid, payload: { ...summarized, upToTurnIndex: -1 } }, /^invalid conversation.summarized payload: payload\.upToTurnIndex: /],
  ])('rejects %s with a reason', (_name, body, reason) => {
    const result = decodeEnvelope(bytes(body), ['conversation.summarized']);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(reason);
  });
});
