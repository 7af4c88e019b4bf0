import { foldChunks, toChunk } from './chunk-mapping';

describe('chunk mapping', () => {
  const usage = { promptTokens: 10, completionTokens: 4, totalTokens: 14 };

  it('maps a delta to a text chunk naming the upstream that served it', () => {
    expect(toChunk({ type: 'delta', text: 'Hel' }, '10.0.0.5:8000')).toEqual({
      delta: 'Hel',
      finishReason: '',
      usage: undefined,
      model: '',
      upstream: '10.0.0.5:8000',
    });
  });

  it('maps the final event to finish reason, usage, model and upstream', () => {
    expect(toChunk({ type: 'done', finishReason: 'stop', usage, model: 'qwen', }, 'default')).toEqual({
      delta: '',
      finishReason: 'stop',
      usage,
      model: 'qwen',
      upstream: 'default',
    });
  });

  it('folds a stream into the unary response', () => {
    const chunks = [
      toChunk({ type: 'delta', text: 'Hel' }, 'local'),
      toChunk({ type: 'delta', text: 'lo.' }, 'local'),
      toChunk({ type: 'done', finishReason: 'length', usage, model: 'local-extractive' }, 'local'),
    ];
    expect(foldChunks(chunks)).toEqual({ text: 'Hello.', finishReason: 'length', usage, model: 'local-extractive', upstream: 'local' });
  });
});
