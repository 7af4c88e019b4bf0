import { z } from 'zod';
import { ValidationFailed } from '../http/api-error';

const streamIdSchema = z.string().uuid('must be a stream id (a uuid) from the X-Stream-Id header or the reference event');
/** SSE ids are decimal event numbers; EventSource sends back exactly what it last saw. */
const lastEventIdSchema = z
  .string()
  .trim()
  .regex(/^\d{1,9}$/, 'must be the id of an event of this stream (a non-negative integer)')
  .transform(Number);

/** Validates a resume request; 400 naming the header or parameter at fault. */
export function parseResumeRequest(rawStreamId: string, rawLastEventId: string): { streamId: string; afterId: number } {
  const streamId = streamIdSchema.safeParse(rawStreamId);
  if (!streamId.success) throw new ValidationFailed([{ field: 'stream_id', reason: streamId.error.issues[0].message }]);
  const afterId = lastEventIdSchema.safeParse(rawLastEventId);
  if (!afterId.success) throw new ValidationFailed([{ field: 'Last-Event-ID', reason: afterId.error.issues[0].message }]);
  return { streamId: streamId.data, afterId: afterId.data };
}
