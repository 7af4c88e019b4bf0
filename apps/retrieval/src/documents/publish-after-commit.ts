import { Logger } from '@nestjs/common';
import { UnavailableError } from '../common/errors';
import type { RetrievalMetrics } from '../common/metrics';

const logger = new Logger('DocumentEvents');

/**
 * Publishes a fact about a committed change. A failure is not swallowed: the caller gets
 * UNAVAILABLE and may retry, which is safe because ingest and delete are idempotent by id.
 */
export async function publishAfterCommit(
  type: string,
  documentId: string,
  metrics: RetrievalMetrics,
  publish: () => Promise<void>,
): Promise<void> {
  try {
    await publish();
  } catch (err) {
    metrics.eventPublishFailed(type);
    logger.error(`${type} for ${documentId} not published: ${err instanceof Error ? err.message : String(err)}`);
    throw new UnavailableError(`document ${documentId} was stored, but its ${type} event could not be published; retry the call`);
  }
}
