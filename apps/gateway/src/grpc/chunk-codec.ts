import type { generation } from '@ragmesh/contracts';

/**
 * Protobuf decoding of `GenerateChunk` written out by hand: the mirror of the proxy's encoder
 * (apps/generation-proxy/src/generation/chunk-codec.ts). A stream delivers one chunk per token,
 * and proto-loader's generic deserializer (`decode` + `toObject` with defaults) is a per-token
 * cost; this reads the five fields directly. Field numbers are those of
 * proto/ragmesh/v1/generation.proto (GenerateChunk, Usage); the spec checks the result against
 * proto-loader's on the same bytes. Anything unusual (a repeated `usage`, groups, truncation)
 * goes to the generic deserializer, which also owns the error for bytes that are not a chunk.
 */

type Deserialize = (bytes: Buffer) => generation.GenerateChunk;

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/** Thrown inside the fast path only; the caller answers it by using the fallback. */
const UNEXPECTED = new Error('GenerateChunk needs the generic decoder');

class Reader {
  at = 0;

  constructor(
    readonly buf: Buffer,
    readonly end: number,
  ) {}

  /** A varint as a JS number of its low 32 bits, signed (int32 semantics, as protobufjs reads it). */
  varint32(): number {
    let value = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.at >= this.end) throw UNEXPECTED;
      const byte = this.buf[this.at++];
      if (shift < 32) value |= (byte & 0x7f) << shift;
      shift += 7;
      if (byte < 0x80) return value | 0;
    }
    throw UNEXPECTED;
  }

  string(): string {
    const length = this.varint32();
    const start = this.at;
    if (length < 0 || start + length > this.end) throw UNEXPECTED;
    this.at = start + length;
    return length === 0 ? '' : this.buf.toString('utf8', start, this.at);
  }

  skip(wireType: number): void {
    if (wireType === VARINT) this.varint32();
    else if (wireType === FIXED64) this.at += 8;
    else if (wireType === FIXED32) this.at += 4;
    else if (wireType === LENGTH_DELIMITED) {
      const length = this.varint32();
      if (length < 0) throw UNEXPECTED;
      this.at += length;
    } else throw UNEXPECTED;
    if (this.at > this.end) throw UNEXPECTED;
  }
}

function readUsage(reader: Reader): generation.Usage {
  const length = reader.varint32();
  const end = reader.at + length;
  if (length < 0 || end > reader.end) throw UNEXPECTED;
  const usage: generation.Usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
  const inner = new Reader(reader.buf, end);
  inner.at = reader.at;
  while (inner.at < end) {
    const tag = inner.varint32();
    if (tag <= 0) throw UNEXPECTED;
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (wireType !== VARINT || field < 1 || field > 3) inner.skip(wireType);
    else if (field === 1) usage.promptTokens = inner.varint32();
    else if (field === 2) usage.completionTokens = inner.varint32();
    else usage.totalTokens = inner.varint32();
  }
  reader.at = end;
  return usage;
}

function decodeChunk(bytes: Buffer): generation.GenerateChunk {
  const reader = new Reader(bytes, bytes.length);
  // proto-loader's shape with `defaults: true`: every string present, an absent message null.
  const chunk = { delta: '', finishReason: '', usage: null as generation.Usage | null, model: '', upstream: '' };
  while (reader.at < reader.end) {
    const tag = reader.varint32();
    if (tag <= 0) throw UNEXPECTED;
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (wireType !== LENGTH_DELIMITED || field < 1 || field > 5) reader.skip(wireType);
    else if (field === 1) chunk.delta = reader.string();
    else if (field === 2) chunk.finishReason = reader.string();
    // A second `usage` is rare enough to leave to the generic decoder (whatever it makes of it).
    else if (field === 3) {
      if (chunk.usage) throw UNEXPECTED;
      chunk.usage = readUsage(reader);
    } else if (field === 4) chunk.model = reader.string();
    else chunk.upstream = reader.string();
  }
  // The generated type says `usage?: Usage`; at runtime proto-loader gives null, and so does this.
  return chunk as generation.GenerateChunk;
}

/** The fast path; anything it does not expect goes to `fallback`. */
export function chunkDeserializer(fallback: Deserialize): Deserialize {
  return (bytes) => {
    try {
      return decodeChunk(bytes);
    } catch (err) {
      if (err === UNEXPECTED) return fallback(bytes);
      throw err;
    }
  };
}

interface MethodDefinition {
  responseDeserialize: Deserialize;
}

/** Swaps the GenerateStream response deserializer in proto-loader's package definition (before the client is built). */
export function useFastChunkDeserializer(packageDefinition: object, serviceName: string): void {
  const service = (packageDefinition as Record<string, Record<string, MethodDefinition> | undefined>)[serviceName];
  const method = service?.GenerateStream;
  if (!method) throw new Error(`${serviceName}.GenerateStream is not in the package definition`);
  method.responseDeserialize = chunkDeserializer(method.responseDeserialize);
}
