import type { HealthCheck } from '@ragmesh/observability';
import axios from 'axios';

export const UPSTREAM_HEALTH_TIMEOUT_MS = 2_000;

/** vLLM serves /health at the root, while the OpenAI API may be configured as ".../v1". */
export function upstreamRoot(baseUrl: string): string {
  return baseUrl.replace(/\/+$/u, '').replace(/\/v1$/u, '');
}

export function upstreamHealthCheck(baseUrl: string, timeoutMs = UPSTREAM_HEALTH_TIMEOUT_MS): HealthCheck {
  const url = `${upstreamRoot(baseUrl)}/health`;
  return async () => {
    const response = await axios.get(url, { timeout: timeoutMs, validateStatus: () => true });
    if (response.status !== 200) throw new Error(`upstream ${url} answered HTTP ${response.status}`);
  };
}
