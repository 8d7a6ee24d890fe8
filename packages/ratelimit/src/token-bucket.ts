/**
 * Envoy's token bucket, refilled lazily from the clock: `tokensPerFill` tokens land at every
 * whole `fillIntervalMs` since the bucket was created (as Envoy's fill timer would add them),
 * capped at `maxTokens`, which is also the initial fill. No timer, no allocation per call.
 */
export interface TokenBucketSpec {
  readonly maxTokens: number;
  readonly tokensPerFill: number;
  readonly fillIntervalMs: number;
}

export class TokenBucket {
  private tokens: number;
  /** Clock time of the last fill boundary already credited. */
  private filledAt: number;
  /** Clock time of the last consume attempt, for idle eviction. */
  lastUsedAt: number;

  constructor(readonly spec: TokenBucketSpec, now: number) {
    this.tokens = spec.maxTokens;
    this.filledAt = now;
    this.lastUsedAt = now;
  }

  /** Takes one token if there is one. */
  tryConsume(now: number): boolean {
    this.refill(now);
    this.lastUsedAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Tokens left after crediting the fills due by `now`. */
  remaining(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  /** Milliseconds until the next fill lands. */
  msUntilNextFill(now: number): number {
    this.refill(now);
    return this.filledAt + this.spec.fillIntervalMs - now;
  }

  /** True when the bucket would be full by `now`: dropping it loses nothing. */
  isFullAt(now: number): boolean {
    return this.remaining(now) >= this.spec.maxTokens;
  }

  private refill(now: number): void {
    const { fillIntervalMs, tokensPerFill, maxTokens } = this.spec;
    const elapsed = now - this.filledAt;
    if (elapsed < fillIntervalMs) return;
    const fills = Math.floor(elapsed / fillIntervalMs);
    this.filledAt += fills * fillIntervalMs;
    const next = this.tokens + fills * tokensPerFill;
    this.tokens = next > maxTokens ? maxTokens : next;
  }
}
