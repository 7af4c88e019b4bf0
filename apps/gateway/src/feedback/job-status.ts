import type { FeedbackJobStatus } from '@ragmesh/contracts';

/** Later in a job's life wins a tie: `running` and `succeeded` can carry the same millisecond. */
const STATUS_RANK: Record<FeedbackJobStatus, number> = { queued: 0, running: 1, failed: 2, succeeded: 3, dead: 3 };

export interface StatusStamp {
  status: FeedbackJobStatus;
  at: Date | null;
}

/**
 * Status events may arrive out of order (retries, several consumers): apply one only when it is
 * newer than what is stored, so a late `running` never hides a `succeeded`.
 */
export function isNewerStatus(current: StatusStamp, incoming: { status: FeedbackJobStatus; at: Date }): boolean {
  if (current.at === null) return true;
  const diff = incoming.at.getTime() - current.at.getTime();
  if (diff !== 0) return diff > 0;
  return STATUS_RANK[incoming.status] >= STATUS_RANK[current.status];
}

/** STATUS_RANK of a status-valued SQL expression. */
export const rankSql = (status: string): string =>
  `CASE ${status} ${Object.entries(STATUS_RANK).map(([name, rank]) => `WHEN '${name}' THEN ${rank}`).join(' ')} END`;

/**
 * isNewerStatus as a SQL condition on a gateway.feedback_jobs row, for an UPDATE's WHERE: the
 * stored row is `status`/`status_changed_at` (prefixed by `row`, e.g. `j.`), the incoming one the given expressions. In an
 * UPDATE the condition is re-checked on the newest row version, so concurrent events cannot both win.
 */
export function newerStatusSql(incomingStatus: string, incomingAt: string, row = ''): string {
  const at = `${row}status_changed_at`;
  return `(${at} IS NULL OR ${incomingAt} > ${at}
    OR (${incomingAt} = ${at} AND ${rankSql(incomingStatus)} >= ${rankSql(`${row}status`)}))`;
}
