/**
 * The fail-fast error-rate breaker (Hystrix semantics) behind one interface, so the opossum-backed
 * breaker and the counter-based one are interchangeable:
 * closed → open when, over the rolling window, at least `volumeThreshold` calls were seen and the
 * error percentage exceeds `errorThresholdPercentage`; open → half-open after `resetTimeoutMs`,
 * letting one probe through; the probe's success closes it, its failure re-opens it.
 */
export type BreakerState = 'closed' | 'open' | 'halfOpen';

/** One admitted call: report exactly one of these, once. */
export interface FailFastPermit {
  success(): void;
  failure(): void;
}

export interface FailFastBreaker {
  readonly state: BreakerState;
  /** Synchronous admission: a permit, or undefined when the breaker rejects the call. */
  tryAcquire(): FailFastPermit | undefined;
  /** Releases timers and listeners. Idempotent. */
  close(): void;
}
