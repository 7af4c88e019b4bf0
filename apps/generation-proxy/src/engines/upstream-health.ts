import type { HealthCheck } from '@ragmesh/observability';
import axios from 'axios';
import type { HealthReport } from './upstream-pool';

export const UPSTREAM_HEALTH_TIMEOUT_MS = 2_000;

/** vLLM serves /health at the root, while the OpenAI API may be configured as ".../v1". */
export function upstreamRoot(baseUrl: string): string {
  return baseUrl.replace(/\/+$/u, '').replace(/\/v1$/u, '');
}

/** Liveness only: GET /health answers 200. */
export function upstreamHealthCheck(baseUrl: string, timeoutMs = UPSTREAM_HEALTH_TIMEOUT_MS): HealthCheck {
  const url = `${upstreamRoot(baseUrl)}/health`;
  return async () => {
    const response = await axios.get(url, { timeout: timeoutMs, validateStatus: () => true });
    if (response.status !== 200) throw new Error(`upstream ${url} answered HTTP ${response.status}`);
  };
}

/**
 * The pool's active check: /health answers 200 AND /v1/models lists what the server serves
 * (a vLLM that is up but still loading, or lost its model, serves nothing). With `requiredModel`
 * (GENERATION_UPSTREAM_MODEL), a server that does not list it is unhealthy.
 */
export function upstreamModelsCheck(
  baseUrl: string,
  requiredModel?: string,
  timeoutMs = UPSTREAM_HEALTH_TIMEOUT_MS,
): () => Promise<HealthReport> {
  const live = upstreamHealthCheck(baseUrl, timeoutMs);
  const url = `${upstreamRoot(baseUrl)}/v1/models`;
  return async () => {
    await live();
    const response = await axios.get<{ data?: { id?: unknown }[] }>(url, { timeout: timeoutMs, validateStatus: () => true });
    if (response.status !== 200) throw new Error(`upstream ${url} answered HTTP ${response.status}`);
    const data = response.data?.data;
    if (!Array.isArray(data)) throw new Error(`upstream ${url} has no data array`);
    const models = data.map((m) => m.id).filter((id): id is string => typeof id === 'string');
    if (requiredModel && !models.includes(requiredModel)) {
      throw new Error(`upstream ${url} does not serve ${requiredModel} (serves: ${models.join(', ') || 'nothing'})`);
    }
    return { models };
  };
}
