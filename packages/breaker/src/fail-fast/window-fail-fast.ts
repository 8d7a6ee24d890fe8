/**
 * The fail-fast breaker without opossum: the same Hystrix rule over a ring of count buckets that
 * advance lazily from the clock (no timer at all: open → half-open is noticed by the first call
 * after `resetTimeoutMs`). Its permit is the breaker itself, so admission allocates nothing.
 * Thresholds as opossum: opens when calls ≥ volumeThreshold and error % > errorThresholdPercentage.
 */
import type { Clock } from '@xmesh/core';
import type { EventEmitter } from 'eventemitter3';
import type { FailFastConfig } from '@xmesh/xds';
import type { ResilienceEvents } from '../events.js';
import type { BreakerState, FailFastBreaker, FailFastPermit } from './fail-fast.js';

export class WindowFailFast implements FailFastBreaker, FailFastPermit {
  private readonly calls: Float64Array;
  private readonly failures: Float64Array;
  private readonly bucketMs: number;
  /** Absolute bucket number of the newest bucket. */
  private head: number;
  private current: BreakerState = 'closed';
  private openedAt = 0;
  private probeInFlight = false;

  constructor(
    private readonly cluster: string,
    private readonly config: FailFastConfig,
    private readonly clock: Clock,
    private readonly events: EventEmitter<ResilienceEvents>,
  ) {
    this.calls = new Float64Array(config.rollingBuckets);
    this.failures = new Float64Array(config.rollingBuckets);
    this.bucketMs = config.rollingWindowMs / config.rollingBuckets;
    this.head = Math.floor(clock.now() / this.bucketMs);
  }

  get state(): BreakerState {
    return this.current;
  }

  tryAcquire(): FailFastPermit | undefined {
    if (this.current === 'closed') return this;
    if (this.current === 'open') {
      if (this.clock.now() - this.openedAt < this.config.resetTimeoutMs) return undefined;
      this.current = 'halfOpen';
      this.probeInFlight = false;
      this.events.emit('breaker.halfOpen', { cluster: this.cluster });
    }
    if (this.probeInFlight) return undefined;
    this.probeInFlight = true;
    return this;
  }

  success(): void {
    if (this.current === 'halfOpen') {
      this.current = 'closed';
      this.probeInFlight = false;
      this.calls.fill(0);
      this.failures.fill(0);
      this.events.emit('breaker.close', { cluster: this.cluster });
      return;
    }
    this.calls[this.bucket()]!++;
  }

  failure(): void {
    if (this.current === 'halfOpen') {
      this.open(100);
      return;
    }
    const b = this.bucket();
    this.calls[b]!++;
    this.failures[b]!++;
    if (this.current !== 'closed') return;
    let calls = 0;
    let failures = 0;
    for (let i = 0; i < this.calls.length; i++) {
      calls += this.calls[i]!;
      failures += this.failures[i]!;
    }
    if (calls < this.config.volumeThreshold) return;
    const percentage = (failures * 100) / calls;
    if (percentage > this.config.errorThresholdPercentage) this.open(percentage);
  }

  close(): void {}

  private open(errorPercentage: number): void {
    this.current = 'open';
    this.openedAt = this.clock.now();
    this.probeInFlight = false;
    this.events.emit('breaker.open', { cluster: this.cluster, errorPercentage });
  }

  /** Index of the current bucket, zeroing buckets the clock moved past. */
  private bucket(): number {
    const n = this.calls.length;
    const now = Math.floor(this.clock.now() / this.bucketMs);
    if (now !== this.head) {
      const steps = Math.min(n, now - this.head);
      for (let s = 1; s <= steps; s++) {
        const i = (this.head + s) % n;
        this.calls[i] = 0;
        this.failures[i] = 0;
      }
      this.head = now;
    }
    return now % n;
  }
}
