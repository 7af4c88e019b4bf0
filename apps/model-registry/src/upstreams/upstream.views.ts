import type { registry } from '@ragmesh/contracts';
import type { UpstreamRecord } from './upstream.repository';

export function toGrpcUpstream(u: UpstreamRecord): registry.Upstream {
  return {
    id: u.id,
    name: u.name,
    baseUrl: u.baseUrl,
    kind: u.kind,
    models: u.models,
    status: u.status,
    lastError: u.lastError ?? '',
    checkedAt: u.checkedAt?.toISOString() ?? '',
    weight: u.weight,
    maxConcurrency: u.maxConcurrency,
    labels: u.labels,
    updatedAt: u.updatedAt.toISOString(),
  };
}

/** REST bodies use snake_case, like the proto's JSON names and the OpenAI API. */
export interface UpstreamJson {
  id: string;
  name: string;
  base_url: string;
  kind: string;
  models: string[];
  status: string;
  last_error: string | null;
  checked_at: string | null;
  weight: number;
  max_concurrency: number;
  labels: string[];
  updated_at: string;
}

export function toJsonUpstream(u: UpstreamRecord): UpstreamJson {
  return {
    id: u.id,
    name: u.name,
    base_url: u.baseUrl,
    kind: u.kind,
    models: u.models,
    status: u.status,
    last_error: u.lastError,
    checked_at: u.checkedAt?.toISOString() ?? null,
    weight: u.weight,
    max_concurrency: u.maxConcurrency,
    labels: u.labels,
    updated_at: u.updatedAt.toISOString(),
  };
}
