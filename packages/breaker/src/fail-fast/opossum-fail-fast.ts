/**
 * The fail-fast breaker on opossum 9, configured for a cheap success path: no per-call timeout
 * (`timeout: false`), no latency percentiles, no snapshot interval, bucket rotation from the
 * mesh's shared controller. Admission is decided synchronously before `fire()` with opossum's own
 * rule (closed, or half-open with the probe slot free); the fired action's promise settles when the
 * call's outcome is reported, so opossum counts it and moves its state machine (its reset timer is
 * one timer per open, not per call).
 */
import { createRequire } from 'node:module';
import type CircuitBreaker from 'opossum';
import type { EventEmitter } from 'eventemitter3';
import type { FailFastConfig } from '@xmesh/xds';
import type { ResilienceEvents } from '../events.js';
import type { BucketRotation } from './bucket-rotation.js';
import type { BreakerState, FailFastBreaker, FailFastPermit } from './fail-fast.js';

const FAILED = new Error('upstream call failed');
const noop = (): void => undefined;

class OpossumPermit implements FailFastPermit {
  resolve: () => void = noop;
  reject: (error: Error) => void = noop;
  readonly promise = new Promise<void>((resolve, reject) => {
    this.resolve = resolve;
    this.reject = reject;
  });

  success(): void {
    this.resolve();
  }

  failure(): void {
    this.reject(FAILED);
  }
}

export class OpossumFailFast implements FailFastBreaker {
  private readonly breaker: CircuitBreaker<[OpossumPermit], void>;

  constructor(
    cluster: string,
    config: FailFastConfig,
    rotation: BucketRotation,
    events: EventEmitter<ResilienceEvents>,
  ) {
    const Breaker = loadOpossum();
    this.breaker = new Breaker((permit: OpossumPermit) => permit.promise, {
      timeout: false,
      errorThresholdPercentage: config.errorThresholdPercentage,
      volumeThreshold: config.volumeThreshold,
      rollingCountTimeout: config.rollingWindowMs,
      rollingCountBuckets: config.rollingBuckets,
      resetTimeout: config.resetTimeoutMs,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      rotateBucketController: rotation.controller(config.rollingWindowMs / config.rollingBuckets),
    });
    this.breaker.on('open', () => {
      const s = this.breaker.stats;
      events.emit('breaker.open', { cluster, errorPercentage: s.fires === 0 ? 0 : (s.failures * 100) / s.fires });
    });
    this.breaker.on('halfOpen', () => events.emit('breaker.halfOpen', { cluster }));
    this.breaker.on('close', () => events.emit('breaker.close', { cluster }));
  }

  get state(): BreakerState {
    if (this.breaker.halfOpen) return 'halfOpen';
    return this.breaker.opened ? 'open' : 'closed';
  }

  tryAcquire(): FailFastPermit | undefined {
    const b = this.breaker;
    if (!b.closed && !b.pendingClose) return undefined;
    const permit = new OpossumPermit();
    b.fire(permit).catch(noop);
    return permit;
  }

  close(): void {
    this.breaker.shutdown();
  }
}

/** opossum loads with the first breaker that uses it: processes without `fail_fast: opossum` never pay for it. */
function loadOpossum(): typeof CircuitBreaker {
  return createRequire(import.meta.url)('opossum') as typeof CircuitBreaker;
}
