import { fieldName, InvalidRequestError, toGenerateCommand, toSummarizeCommand } from './generation.schemas';

const user = { role: 'user', content: 'hello' };

function invalid(fn: () => unknown): InvalidRequestError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidRequestError) return err;
    throw err;
  }
  throw new Error('expected InvalidRequestError');
}

describe('toGenerateCommand', () => {
  it('accepts a minimal request and maps proto zeros to "unset"', () => {
    expect(toGenerateCommand({ messages: [user] })).toEqual({
      model: '',
      messages: [user],
      context: [],
      maxTokens: undefined,
      temperature: undefined,
      sessionId: undefined,
      persona: undefined,
    });
  });

  it('keeps set values', () => {
    const command = toGenerateCommand({ model: ' qwen ', messages: [user], maxTokens: 256, temperature: 0.7, persona: 'tutor' });
    expect(command).toMatchObject({ model: 'qwen', maxTokens: 256, temperature: 0.7, persona: 'tutor' });
  });

  it.each([
    [{ messages: [] }, 'messages', /must not be empty/],
    [{}, 'messages', /must not be empty/],
    [{ messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role', /must be one of system, user, assistant/],
    [{ messages: [user], maxTokens: 8193 }, 'max_tokens', /must be <= 8192/],
    [{ messages: [user], maxTokens: -1 }, 'max_tokens', /must be >= 0/],
    [{ messages: [user], temperature: 2.5 }, 'temperature', /must be <= 2/],
    [{ messages: [user], temperature: -0.1 }, 'temperature', /must be >= 0/],
  ])('rejects %j naming %s', (request, field, reason) => {
    const error = invalid(() => toGenerateCommand(request as never));
    expect(error.field).toBe(field);
    expect(error.reason).toMatch(reason);
    expect(error.message.startsWith(`${field}: `)).toBe(true);
  });

  it('accepts the limits themselves', () => {
    expect(toGenerateCommand({ messages: [user], maxTokens: 8192, temperature: 2 })).toMatchObject({ maxTokens: 8192, temperature: 2 });
  });
});

describe('toSummarizeCommand', () => {
  it('defaults and caps max_sentences at 3', () => {
    expect(toSummarizeCommand({ messages: [user] }).maxSentences).toBe(3);
    expect(toSummarizeCommand({ messages: [user], maxSentences: 10 }).maxSentences).toBe(3);
    expect(toSummarizeCommand({ messages: [user], maxSentences: 2 }).maxSentences).toBe(2);
  });

  it('rejects negative max_sentences and empty messages', () => {
    expect(invalid(() => toSummarizeCommand({ messages: [user], maxSentences: -1 })).field).toBe('max_sentences');
    expect(invalid(() => toSummarizeCommand({ messages: [] })).field).toBe('messages');
  });
});

describe('fieldName', () => {
  it('spells paths as the proto does', () => {
    expect(fieldName(['context', 2, 'chunkId'])).toBe('context[2].chunk_id');
    expect(fieldName([])).toBe('request');
  });
});
