/**
 * Envoy's jittered exponential back-off: before retry N (1-based) wait a uniform draw in
 * [0, (2^N − 1) × base), capped at `max` (default 10 × base). Full jitter: the floor is 0.
 */
export function retryBackoffMs(retry: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min((2 ** Math.min(retry, 30) - 1) * baseMs, maxMs);
  return Math.floor(random() * ceiling);
}

/** The upper bound of retry N's back-off, for tests and docs. */
export function retryBackoffCeilingMs(retry: number, baseMs: number, maxMs: number): number {
  return Math.min((2 ** Math.min(retry, 30) - 1) * baseMs, maxMs);
}
