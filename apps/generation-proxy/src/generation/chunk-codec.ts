import type { generation } from '@ragmesh/contracts';

/**
 * Protobuf encoding of `GenerateChunk` written out by hand. The stream sends one chunk per
 * token, and proto-loader's generic serializer (`fromObject` + `encode`) was ~6% of the proxy's
 * CPU per token; this writes the same bytes directly. Field numbers are those of
 * proto/ragmesh/v1/generation.proto (GenerateChunk, Usage); the spec decodes its output with
 * proto-loader to keep the two in step.
 */

const DELTA = 0x0a; // field 1, length-delimited
const FINISH_REASON = 0x12; // field 2
const USAGE = 0x1a; // field 3
const MODEL = 0x22; // field 4
const UPSTREAM = 0x2a; // field 5
const PROMPT_TOKENS = 0x08; // Usage field 1, varint
const COMPLETION_TOKENS = 0x10; // Usage field 2
const TOTAL_TOKENS = 0x18; // Usage field 3
const MAX_VARINT_BYTES = 5;

type Serialize = (chunk: generation.GenerateChunk) => Buffer;

const isCount = (n: number | undefined): boolean => n === undefined || (Number.isInteger(n) && n >= 0 && n <= 0x7fffffff);

function varintLength(n: number): number {
  let length = 1;
  while (n >= 0x80) {
    n >>>= 7;
    length++;
  }
  return length;
}

function writeVarint(buf: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[at++] = n;
  return at;
}

function writeCount(buf: Buffer, at: number, tag: number, n: number): number {
  if (!n) return at;
  buf[at] = tag;
  return writeVarint(buf, at + 1, n);
}

function writeString(buf: Buffer, at: number, tag: number, value: string, bytes: number): number {
  if (bytes === 0) return at;
  buf[at++] = tag;
  at = writeVarint(buf, at, bytes);
  return at + buf.write(value, at, 'utf8');
}

function usageBytes(usage: generation.Usage): number {
  let n = 0;
  if (usage.promptTokens) n += 1 + varintLength(usage.promptTokens);
  if (usage.completionTokens) n += 1 + varintLength(usage.completionTokens);
  if (usage.totalTokens) n += 1 + varintLength(usage.totalTokens);
  return n;
}

/** The fast path; anything it does not expect (negative counts) goes to `fallback`. */
export function chunkSerializer(fallback: Serialize): Serialize {
  return (chunk) => {
    const usage = chunk.usage;
    if (usage && !(isCount(usage.promptTokens) && isCount(usage.completionTokens) && isCount(usage.totalTokens))) return fallback(chunk);
    const delta = Buffer.byteLength(chunk.delta ?? '');
    const finish = Buffer.byteLength(chunk.finishReason ?? '');
    const model = Buffer.byteLength(chunk.model ?? '');
    const upstream = Buffer.byteLength(chunk.upstream ?? '');
    const usageLength = usage ? usageBytes(usage) : 0;
    const field = (bytes: number) => (bytes === 0 ? 0 : 1 + MAX_VARINT_BYTES + bytes);
    const buf = Buffer.allocUnsafe(field(delta) + field(finish) + field(model) + field(upstream) + (usage ? 1 + MAX_VARINT_BYTES + usageLength : 0));
    let at = writeString(buf, 0, DELTA, chunk.delta ?? '', delta);
    at = writeString(buf, at, FINISH_REASON, chunk.finishReason ?? '', finish);
    if (usage) {
      // A set message field is written even when empty (presence), as protobufjs does.
      buf[at++] = USAGE;
      at = writeVarint(buf, at, usageLength);
      at = writeCount(buf, at, PROMPT_TOKENS, usage.promptTokens);
      at = writeCount(buf, at, COMPLETION_TOKENS, usage.completionTokens);
      at = writeCount(buf, at, TOTAL_TOKENS, usage.totalTokens);
    }
    at = writeString(buf, at, MODEL, chunk.model ?? '', model);
    at = writeString(buf, at, UPSTREAM, chunk.upstream ?? '', upstream);
    return buf.subarray(0, at);
  };
}

interface MethodDefinition {
  responseSerialize: Serialize;
}

/** Swaps the GenerateStream response serializer in proto-loader's package definition (before Nest builds the server). */
export function useFastChunkSerializer(packageDefinition: object, serviceName: string): void {
  const service = (packageDefinition as Record<string, Record<string, MethodDefinition> | undefined>)[serviceName];
  const method = service?.GenerateStream;
  if (!method) throw new Error(`${serviceName}.GenerateStream is not in the package definition`);
  method.responseSerialize = chunkSerializer(method.responseSerialize);
}
