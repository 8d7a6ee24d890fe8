/** gRPC's connection backoff (A6/connection-backoff.md): 1 s initial, ×1.6, ±20 % jitter, 120 s cap. */
export interface BackoffOptions {
  readonly initialMs?: number;
  readonly multiplier?: number;
  readonly jitter?: number;
  readonly maxMs?: number;
  /** Uniform in [0, 1); injectable for tests. */
  readonly random?: () => number;
}

export class Backoff {
  private readonly initialMs: number;
  private readonly multiplier: number;
  private readonly jitter: number;
  private readonly maxMs: number;
  private readonly random: () => number;
  private currentMs: number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 1000;
    this.multiplier = options.multiplier ?? 1.6;
    this.jitter = options.jitter ?? 0.2;
    this.maxMs = options.maxMs ?? 120_000;
    this.random = options.random ?? Math.random;
    this.currentMs = this.initialMs;
  }

  /** The next delay: the current base ± jitter; the base then grows by the multiplier up to the cap. */
  next(): number {
    const base = this.currentMs;
    this.currentMs = Math.min(base * this.multiplier, this.maxMs);
    return base * (1 + this.jitter * (this.random() * 2 - 1));
  }

  /** After a stream that got a response: start again from the initial delay. */
  reset(): void {
    this.currentMs = this.initialMs;
  }
}
