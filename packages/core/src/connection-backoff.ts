/**
 * gRPC connection backoff (doc/connection-backoff.md), for every reconnecting client here (the lean
 * transport's sessions, the xDS stream): the first retry waits
 * INITIAL_BACKOFF, each next one × MULTIPLIER up to MAX_BACKOFF, every wait
 * jittered by ±JITTER. A connect attempt is given max(MIN_CONNECT_TIMEOUT, wait).
 */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
  readonly jitter: number;
  readonly minConnectTimeoutMs: number;
}

export const GRPC_CONNECTION_BACKOFF: BackoffOptions = Object.freeze({
  initialMs: 1_000,
  maxMs: 120_000,
  multiplier: 1.6,
  jitter: 0.2,
  minConnectTimeoutMs: 20_000,
});

export class ConnectionBackoff {
  private nextBaseMs: number;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {
    this.nextBaseMs = options.initialMs;
  }

  /** The wait before the next attempt; advances the sequence. */
  nextDelayMs(): number {
    const base = this.nextBaseMs;
    this.nextBaseMs = Math.min(base * this.options.multiplier, this.options.maxMs);
    const spread = base * this.options.jitter;
    return Math.max(0, base - spread + this.random() * 2 * spread);
  }

  /** How long one connect attempt may take. */
  connectTimeoutMs(): number {
    return Math.max(this.options.minConnectTimeoutMs, this.nextBaseMs);
  }

  /** After a successful connection the sequence starts over. */
  reset(): void {
    this.nextBaseMs = this.options.initialMs;
  }
}
