/**
 * Polls `probe` every `intervalMs` (50) until it returns something other than undefined, and
 * returns that; fails naming `what` and the time waited once `timeoutMs` has passed.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** waitFor for a yes/no condition: resolves once `condition` holds. */
export async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, intervalMs = 50): Promise<void> {
  await waitFor(what, async () => ((await condition()) ? true : undefined), timeoutMs, intervalMs);
}
