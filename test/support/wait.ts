/**
 * Waiting on a condition instead of a fixed sleep: a test that must act once something happened
 * (a call reached its upstream, a log line was written) polls for it, so a busy machine only makes
 * it wait longer. Rejects with `what` after `timeoutMs`.
 */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
