import type { RegistryEvent } from '../events/event-log.repository';
import type { Adapter } from './adapters.repository';
import type { DatasetExample } from './dataset.repository';
import type { TrainingRun } from './runs.repository';

const iso = (d: Date | null) => d?.toISOString() ?? null;

export const runJson = (r: TrainingRun) => ({
  id: r.id,
  status: r.status,
  trigger: r.trigger,
  dataset_version: r.datasetVersion,
  base_model: r.baseModel,
  attempt: r.attempt,
  submission_id: r.submissionId,
  last_error: r.lastError,
  metrics: r.metrics,
  adapter_id: r.adapterId,
  created_at: r.createdAt.toISOString(),
  started_at: iso(r.startedAt),
  finished_at: iso(r.finishedAt),
});

export const adapterJson = (a: Adapter) => ({
  id: a.id,
  name: a.name,
  version: a.version,
  base_model: a.baseModel,
  path: a.path,
  run_id: a.runId,
  dataset_version: a.datasetVersion,
  metrics: a.metrics,
  is_default: a.isDefault,
  promoted_at: iso(a.promotedAt),
  created_at: a.createdAt.toISOString(),
});

export const exampleJson = (e: DatasetExample) => ({
  id: e.id,
  conversation_id: e.conversationId,
  turn_index: e.turnIndex,
  question: e.question,
  answer: e.answer,
  score: e.score,
  comment: e.comment,
  model: e.model,
  state: e.state,
  dataset_version: e.datasetVersion,
  created_at: e.createdAt.toISOString(),
});

export const eventJson = (e: RegistryEvent) => ({ seq: e.seq, type: e.type, subject: e.subject, data: e.data, at: e.at.toISOString() });

/** One line per example in the chat format the trainer reads. */
export const exampleJsonl = (e: DatasetExample) =>
  JSON.stringify({ id: e.id, messages: [{ role: 'user', content: e.question }, { role: 'assistant', content: e.answer }], score: e.score });
