import { chunk, deltaChunkJson, type CompletionMeta } from './openai-format';

describe('deltaChunkJson', () => {
  const metas: CompletionMeta[] = [
    { id: 'chatcmpl-abc', created: 1_700_000_000, model: 'fake-model' },
    { id: 'chatcmpl-x', created: 0, model: '' },
    { id: 'chatcmpl-"quoted"', created: 1, model: 'm "with" \\ "content":"" and \u0000 and }]}' },
  ];
  const texts = ['', ' tok1', '"', '\\', 'line\nbreak', '환불 🙂', '\u2028\u2029', '"content":""},"finish_reason":null}]}', '\u0000\u001f'];

  it.each(metas)('serializes exactly what JSON.stringify(chunk(…)) does (model %j)', (meta) => {
    const json = deltaChunkJson(meta);
    for (const text of texts) {
      expect(json(text)).toBe(JSON.stringify(chunk(meta, { content: text })));
      expect(JSON.parse(json(text))).toEqual(chunk(meta, { content: text }));
    }
  });
});
