import { chatRequestSchema } from '../chat/chat.schema';
import { ingestDocumentSchema } from '../documents/documents.schema';
import { ValidationFailed } from './api-error';
import { formatFieldPath, parseOrThrow } from './zod-validation.pipe';

function errorsOf(schema: Parameters<typeof parseOrThrow>[0], body: unknown) {
  try {
    parseOrThrow(schema, body);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationFailed);
    const failed = err as ValidationFailed;
    expect(failed.getStatus()).toBe(400);
    expect(failed.message).toBe('validation failed');
    expect(failed.data).toEqual({ errors: failed.errors });
    return failed.errors;
  }
  throw new Error('expected validation to fail');
}

describe('validation errors', () => {
  it('formats paths the way a client writes them', () => {
    expect(formatFieldPath(['messages', 0, 'content'])).toBe('messages[0].content');
    expect(formatFieldPath(['filters', 'lang'])).toBe('filters.lang');
    expect(formatFieldPath([])).toBe('body');
  });

  it('names a missing messages field', () => {
    expect(errorsOf(chatRequestSchema, { model: 'x' })).toEqual([{ field: 'messages', reason: 'is required' }]);
  });

  it('names the exact message with a bad role', () => {
    const errors = errorsOf(chatRequestSchema, {
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'wizard', content: 'abracadabra' },
      ],
    });
    expect(errors).toEqual([{ field: 'messages[1].role', reason: expect.stringContaining("'user'") }]);
  });

  it('names nested content and type errors together', () => {
    const errors = errorsOf(chatRequestSchema, { messages: [{ role: 'user', content: 42 }], temperature: 'hot', session_id: 'abc' });
    expect(errors.map((e) => e.field).sort()).toEqual(['messages[0].content', 'session_id', 'temperature']);
    expect(errors.find((e) => e.field === 'session_id')?.reason).toBe('must be a uuid');
  });

  it('requires a user message in the conversation', () => {
    expect(errorsOf(chatRequestSchema, { messages: [{ role: 'system', content: 'be brief' }] })).toEqual([
      { field: 'messages', reason: 'must contain a user message' },
    ]);
  });

  it('accepts an OpenAI request with unknown extra fields and applies defaults', () => {
    const parsed = parseOrThrow(chatRequestSchema, { model: 'm', messages: [{ role: 'user', content: 'hi' }], n: 1, user: 'u' });
    expect(parsed.rag).toBe(true);
    expect(parsed.messages).toEqual([{ role: 'user', content: 'hi' }]);
  });

  it('rejects a document without content and with a bad format', () => {
    const errors = errorsOf(ingestDocumentSchema, { title: 't', format: 'pdf' });
    expect(errors.map((e) => e.field).sort()).toEqual(['content', 'format']);
  });
});
