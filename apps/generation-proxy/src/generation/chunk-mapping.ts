import type { generation } from '@ragmesh/contracts';
import type { GenerateEvent, Usage } from '@ragmesh/llm';

const toProtoUsage = (usage: Usage): generation.Usage => ({
  promptTokens: usage.promptTokens,
  completionTokens: usage.completionTokens,
  totalTokens: usage.totalTokens,
});

/** Engine event → wire chunk: deltas carry text and the serving upstream; the final chunk carries the rest. */
export function toChunk(event: GenerateEvent, upstream: string): generation.GenerateChunk {
  if (event.type === 'delta') {
    return { delta: event.text, finishReason: '', usage: undefined, model: '', upstream };
  }
  return {
    delta: '',
    finishReason: event.finishReason,
    usage: toProtoUsage(event.usage),
    model: event.model,
    upstream,
  };
}

/** The unary answer is exactly the stream, folded: same text, same final fields. */
export function foldChunks(chunks: Iterable<generation.GenerateChunk>): generation.GenerateResponse {
  const response: generation.GenerateResponse = { model: '', text: '', finishReason: '', usage: undefined, upstream: '' };
  for (const chunk of chunks) {
    response.text += chunk.delta;
    if (chunk.finishReason) {
      response.finishReason = chunk.finishReason;
      response.usage = chunk.usage;
      response.model = chunk.model;
      response.upstream = chunk.upstream;
    }
  }
  return response;
}
