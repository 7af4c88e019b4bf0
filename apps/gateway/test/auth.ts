/**
 * The API key gateway tests send (`Authorization: Bearer …`). In-process gateway tests seed it
 * through RAGMESH_BOOTSTRAP_API_KEY (every scope); the e2e harness sends the same value.
 */
export const TEST_API_KEY = 'rgm_e2e_0123456789abcdef0123456789abcdef';

export function authHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${TEST_API_KEY}`, ...extra };
}

/** fetch with the test key added to whatever headers the call sets. */
export function authFetch(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, headers: authHeaders((init.headers ?? {}) as Record<string, string>) });
}
