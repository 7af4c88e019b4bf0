import { z } from 'zod';
import { ValidationFailed } from '../http/api-error';
import { parseStreamId } from './stream-id';

const STREAM_ID_RULE = 'must be a stream id from the X-Stream-Id header or the reference event (<replica>.<uuid>, or a uuid)';
/** SSE ids are decimal event numbers; EventSource sends back exactly what it last saw. */
const lastEventIdSchema = z
  .string()
  .trim()
  .regex(/^\d{1,9}$/, 'must be the id of an event of this stream (a non-negative integer)')
  .transform(Number);

export interface ResumeRequest {
  streamId: string;
  /** The replica holding the stream; undefined for old-format (plain uuid) ids, which are looked up here. */
  owner: string | undefined;
  afterId: number;
}

/** Validates a resume request; 400 naming the header or parameter at fault. */
export function parseResumeRequest(rawStreamId: string, rawLastEventId: string): ResumeRequest {
  const streamId = parseStreamId(rawStreamId);
  if (!streamId) throw new ValidationFailed([{ field: 'stream_id', reason: STREAM_ID_RULE }]);
  const afterId = lastEventIdSchema.safeParse(rawLastEventId);
  if (!afterId.success) throw new ValidationFailed([{ field: 'Last-Event-ID', reason: afterId.error.issues[0].message }]);
  return { streamId: streamId.id, owner: streamId.owner, afterId: afterId.data };
}
