import * as protoLoader from '@grpc/proto-loader';
import { generation, PROTO_LOADER_OPTIONS, protoPath } from '@ragmesh/contracts';
import { chunkSerializer, useFastChunkSerializer } from './chunk-codec';

const SERVICE = 'ragmesh.v1.GenerationService';

describe('hand-written GenerateChunk serializer', () => {
  const definition = protoLoader.loadSync(protoPath('generation'), PROTO_LOADER_OPTIONS);
  const method = (definition[SERVICE] as protoLoader.ServiceDefinition).GenerateStream;
  const reference = method.responseSerialize as (c: generation.GenerateChunk) => Buffer;
  const decode = method.responseDeserialize as (b: Buffer) => generation.GenerateChunk;
  const fast = chunkSerializer(reference);

  const chunks: generation.GenerateChunk[] = [
    { delta: ' tok1', finishReason: '', usage: undefined, model: '', upstream: '10.0.0.7:8000' },
    { delta: '환불은 14일 이내 🙂', finishReason: '', usage: undefined, model: '', upstream: 'local' },
    { delta: 'x'.repeat(300), finishReason: '', usage: undefined, model: '', upstream: '' },
    { delta: '', finishReason: 'stop', usage: { promptTokens: 1234, completionTokens: 64, totalTokens: 1298 }, model: 'fake-model', upstream: 'vllm-a:8000' },
    { delta: '', finishReason: 'length', usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, model: 'm', upstream: 'u' },
    { delta: '', finishReason: 'stop', usage: { promptTokens: 2 ** 31 - 1, completionTokens: 300_000, totalTokens: 2 ** 31 - 1 }, model: '', upstream: '' },
  ];

  it.each(chunks.map((c, i) => [i, c]))('chunk %i decodes to what proto-loader decodes from its own bytes', (_i, chunk) => {
    const bytes = fast(chunk);
    expect(decode(bytes)).toEqual(decode(reference(chunk)));
    // protobufjs also writes fields holding their default (''); proto3 may omit them.
    expect(bytes.length).toBeLessThanOrEqual(reference(chunk).length);
  });

  it('falls back to the generic serializer for values it does not expect', () => {
    const weird = { delta: '', finishReason: 'stop', usage: { promptTokens: -1, completionTokens: 1, totalTokens: 0 }, model: '', upstream: '' };
    expect(decode(fast(weird))).toEqual(decode(reference(weird)));
  });

  it('is installed on the GenerateStream method of a package definition', () => {
    const fresh = protoLoader.loadSync(protoPath('generation'), PROTO_LOADER_OPTIONS);
    useFastChunkSerializer(fresh, SERVICE);
    const installed = (fresh[SERVICE] as protoLoader.ServiceDefinition).GenerateStream.responseSerialize;
    expect(installed).not.toBe(reference);
    expect(decode(installed(chunks[3]) as Buffer)).toEqual(decode(reference(chunks[3])));
    expect(() => useFastChunkSerializer({}, SERVICE)).toThrow(/GenerateStream is not in the package definition/u);
  });
});
