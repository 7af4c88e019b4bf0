import { z } from 'zod';
import { ValidationFailed } from './api-error';
import { LONE_SURROGATE_REASON, loneSurrogatePath, parseOrThrow } from './zod-validation.pipe';

describe('lone surrogates', () => {
  it('finds the first unpaired surrogate in values and keys, at any depth, and passes paired ones', () => {
    expect(loneSurrogatePath({ messages: [{ role: 'user', content: 'hi 😀' }] })).toBeUndefined();
    expect(loneSurrogatePath({ messages: [{ role: 'user', content: 'ok' }, { role: 'user', content: 'x\ud800' }] })).toEqual(['messages', 1, 'content']);
    expect(loneSurrogatePath({ metadata: { 'k\udc00': 'v' } })).toEqual(['metadata', 'k\udc00']);
    expect(loneSurrogatePath('\udfff')).toEqual([]);
    let deep: unknown = 'end\ud834';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(loneSurrogatePath(deep)).toHaveLength(100_000);
  });

  it('is a 400 naming the field before the schema runs', () => {
    const schema = z.object({ messages: z.array(z.object({ content: z.string() })) });
    let error: unknown;
    try {
      parseOrThrow(schema, { messages: [{ content: 'a\ud800b' }] });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ValidationFailed);
    expect((error as ValidationFailed).errors).toEqual([{ field: 'messages[0].content', reason: LONE_SURROGATE_REASON }]);
    expect(parseOrThrow(schema, { messages: [{ content: 'a😀b' }] })).toEqual({ messages: [{ content: 'a😀b' }] });
  });
});
