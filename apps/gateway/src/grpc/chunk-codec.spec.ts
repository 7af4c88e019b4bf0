import * as protoLoader from '@grpc/proto-loader';
import { generation, PROTO_LOADER_OPTIONS, protoPath } from '@ragmesh/contracts';
import { chunkDeserializer, useFastChunkDeserializer } from './chunk-codec';

const SERVICE = 'ragmesh.v1.GenerationService';

describe('hand-written GenerateChunk deserializer', () => {
  const definition = protoLoader.loadSync(protoPath('generation'), PROTO_LOADER_OPTIONS);
  const method = (definition[SERVICE] as protoLoader.ServiceDefinition).GenerateStream;
  const encode = method.responseSerialize as (c: Partial<generation.GenerateChunk>) => Buffer;
  const reference = method.responseDeserialize as (b: Buffer) => generation.GenerateChunk;
  const fast = chunkDeserializer(reference);

  const chunks: Partial<generation.GenerateChunk>[] = [
    { delta: ' tok1', upstream: '10.0.0.7:8000' },
    { delta: '환불은 14일 이내 🙂', upstream: 'local' },
    { delta: 'x'.repeat(300) },
    { finishReason: 'stop', usage: { promptTokens: 1234, completionTokens: 64, totalTokens: 1298 }, model: 'fake-model', upstream: 'vllm-a:8000' },
    { finishReason: 'length', usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, model: 'm', upstream: 'u' },
    { finishReason: 'stop', usage: { promptTokens: 2 ** 31 - 1, completionTokens: 300_000, totalTokens: -5 } },
    {},
  ];

  it.each(chunks.map((c, i) => [i, c]))('chunk %i decodes as proto-loader decodes the same bytes', (_i, chunk) => {
    const bytes = encode(chunk);
    expect(fast(bytes)).toEqual(reference(bytes));
  });

  it('skips fields it does not know, as protobuf readers must', () => {
    // field 9 varint 150, field 10 fixed32, field 11 fixed64, field 12 bytes "ab", then delta "hi"
    const unknown = Buffer.from([0x48, 0x96, 0x01, 0x55, 1, 2, 3, 4, 0x59, 1, 2, 3, 4, 5, 6, 7, 8, 0x62, 2, 0x61, 0x62, 0x0a, 2, 0x68, 0x69]);
    expect(fast(unknown)).toEqual(reference(unknown));
    expect(fast(unknown).delta).toBe('hi');
  });

  it('leaves what it does not handle to the generic decoder: a repeated usage, bytes that are not a chunk', () => {
    const twice = Buffer.concat([encode({ usage: { promptTokens: 3 } as generation.Usage }), encode({ usage: { completionTokens: 4, totalTokens: 7 } as generation.Usage })]);
    expect(fast(twice)).toEqual(reference(twice));
    // A string cut short: protobufjs reads what is there, and so does the fallback.
    const truncated = encode({ delta: 'hello' }).subarray(0, 4);
    expect(fast(truncated)).toEqual(reference(truncated));
  });

  it('is installed on the GenerateStream method of a package definition', () => {
    const fresh = protoLoader.loadSync(protoPath('generation'), PROTO_LOADER_OPTIONS);
    useFastChunkDeserializer(fresh, SERVICE);
    const installed = (fresh[SERVICE] as protoLoader.ServiceDefinition).GenerateStream.responseDeserialize;
    expect(installed).not.toBe(reference);
    const bytes = encode(chunks[3]);
    expect(installed(bytes)).toEqual(reference(bytes));
    expect(() => useFastChunkDeserializer({}, SERVICE)).toThrow(/GenerateStream is not in the package definition/u);
  });
});
