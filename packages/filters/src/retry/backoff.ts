/**
 * Envoy's jittered exponential back-off: before retry N (1-based) wait a uniform draw in
 * [0, (2^N − 1) × base), capped at `max` (default 10 × base). Full jitter: the floor is 0.
 */
export function retryBackoffMs(retry: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * retryBackoffCeilingMs(retry, baseMs, maxMs));
}

/** The upper bound (exclusive) of retry N's back-off. */
export function retryBackoffCeilingMs(retry: number, baseMs: number, maxMs: number): number {
  return Math.min((2 ** Math.min(retry, 30) - 1) * baseMs, maxMs);
}
