/**
 * Everything that guards one cluster, composed: Envoy thresholds, outlier detection, the optional
 * fail-fast breaker, the optional queued admission, and their counters. Kept across config swaps
 * (`update`), keyed by cluster name by its owner; per-endpoint state is keyed by endpoint id.
 *
 * Per call: `admit()` (synchronous) → a permit or a MeshError; when the call ends,
 * `finish(permit, endpointId, outcome)` exactly once. Rejections fail with XMESH_CIRCUIT_OPEN
 * (gRPC UNAVAILABLE, HTTP 503).
 */
import { ErrorCode, MeshError, isMeshError, systemClock, type CallOutcome, type Clock } from '@xmesh/core';
import type { ClusterConfig } from '@xmesh/xds';
import { EventEmitter } from 'eventemitter3';
import type { ResilienceEvents } from './events.js';
import { BucketRotation } from './fail-fast/bucket-rotation.js';
import type { FailFastBreaker, FailFastPermit } from './fail-fast/fail-fast.js';
import { OpossumFailFast } from './fail-fast/opossum-fail-fast.js';
import { WindowFailFast } from './fail-fast/window-fail-fast.js';
import { effectiveHttpStatus, isCallerCancel } from './outlier/classify.js';
import { OutlierDetector } from './outlier/outlier-detector.js';
import { QueuedAdmission, type Release } from './queued/queued-admission.js';
import {
  CLUSTER_COUNTERS,
  ENDPOINT_COUNTERS,
  zeroCounters,
  type ClusterCounter,
  type CounterSet,
  type EndpointCounter,
  type StatsSnapshot,
} from './stats/cluster-stats.js';
import { ResourceLimits, type RoutingPriority } from './thresholds/resource-limits.js';

export interface ClusterGuardOptions {
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly events?: EventEmitter<ResilienceEvents>;
  /** The mesh's shared bucket rotation for opossum breakers. */
  readonly rotation?: BucketRotation;
  /** Which fail-fast implementation backs `xmesh.fail_fast`; default 'window' (see README for the measurement). */
  readonly failFast?: 'opossum' | 'window';
  /** Queue calls over `max_requests` (bounded by `max_pending_requests`) for up to `maxWaitMs`; off by default. */
  readonly queue?: { readonly maxWaitMs: number };
  /** Called with the ejected endpoint ids whenever they change. */
  readonly onEjectedChange?: (ejected: ReadonlySet<string>) => void;
}

/** The permit of a call admitted without a fail-fast breaker. */
const NO_BREAKER: FailFastPermit = Object.freeze({ success() {}, failure() {} });

class QueuedPermit implements FailFastPermit {
  constructor(
    private readonly inner: FailFastPermit,
    readonly release: Release,
  ) {}

  success(): void {
    this.release();
    this.inner.success();
  }

  failure(): void {
    this.release();
    this.inner.failure();
  }
}

export class ClusterGuard {
  readonly stats: CounterSet<ClusterCounter> = zeroCounters(CLUSTER_COUNTERS);
  readonly limits: ResourceLimits;
  readonly events: EventEmitter<ResilienceEvents>;
  private outlier: OutlierDetector | undefined;
  private breaker: FailFastBreaker | undefined;
  private queue: QueuedAdmission | undefined;
  /** The cluster's endpoint ids (see setEndpoints). */
  private endpointIds: ReadonlySet<string> = new Set();
  /** Counters of the endpoints among endpointIds that ended a call; the others count zero. */
  private readonly endpointStats = new Map<string, CounterSet<EndpointCounter>>();
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly rotation: BucketRotation;
  private readonly ownsRotation: boolean;

  constructor(
    private config: ClusterConfig,
    private readonly options: ClusterGuardOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.events = options.events ?? new EventEmitter<ResilienceEvents>();
    this.ownsRotation = options.rotation === undefined;
    this.rotation = options.rotation ?? new BucketRotation();
    this.limits = new ResourceLimits(config.circuitBreakers, this.stats);
    this.events.on('breaker.open', this.countOpen, this);
    this.outlier = this.newOutlier(config);
    this.breaker = this.newBreaker(config);
    this.queue = this.newQueue(config);
  }

  get name(): string {
    return this.config.name;
  }

  get failFast(): FailFastBreaker | undefined {
    return this.breaker;
  }

  get outlierDetector(): OutlierDetector | undefined {
    return this.outlier;
  }

  get queued(): boolean {
    return this.queue !== undefined;
  }

  /** A config swap for the same cluster: counts, ejections and breaker state stay unless their config changed. */
  update(config: ClusterConfig): void {
    const previous = this.config;
    this.config = config;
    this.limits.update(config.circuitBreakers);
    if (config.outlierDetection === undefined) {
      if (this.outlier !== undefined) {
        this.outlier.close();
        this.outlier = undefined;
        this.options.onEjectedChange?.(new Set());
      }
    } else if (this.outlier === undefined) {
      this.outlier = this.newOutlier(config);
      this.outlier?.setEndpoints(this.endpointIds.keys());
    } else {
      this.outlier.update(config.outlierDetection);
    }
    if (JSON.stringify(previous.xmesh.failFast) !== JSON.stringify(config.xmesh.failFast)) {
      this.breaker?.close();
      this.breaker = this.newBreaker(config);
    }
    if (JSON.stringify(previous.circuitBreakers.default) !== JSON.stringify(config.circuitBreakers.default) && this.queue) {
      this.queue.close();
      this.queue = this.newQueue(config);
    }
  }

  /**
   * The cluster's endpoint ids now; per-endpoint state of ids that stay is kept. A Set is kept as given (not
   * copied): the caller must not change it afterwards. New endpoints get their counters on their first call.
   */
  setEndpoints(ids: Iterable<string>): void {
    const next = ids instanceof Set ? (ids as ReadonlySet<string>) : new Set(ids);
    this.endpointIds = next;
    for (const id of this.endpointStats.keys()) if (!next.has(id)) this.endpointStats.delete(id);
    this.outlier?.setEndpoints(next.keys());
  }

  /** Synchronous admission: thresholds of `priority` (a route's RoutingPriority; undefined is DEFAULT) first, then the fail-fast breaker. */
  admit(priority: RoutingPriority | undefined = 'default'): FailFastPermit | MeshError {
    if (!this.limits.tryAcquireRequest(priority)) {
      this.events.emit('overflow', { cluster: this.config.name, resource: 'requests' });
      const max = this.config.circuitBreakers[priority].maxRequests;
      return new MeshError(ErrorCode.CIRCUIT_OPEN, `cluster "${this.config.name}" is at max_requests (${max})`, { cluster: this.config.name });
    }
    return this.admitBreaker(priority);
  }

  /** Queued admission (when configured): waits for a slot instead of refusing at max_requests. */
  async admitQueued(): Promise<FailFastPermit> {
    if (!this.queue) {
      const admitted = this.admit();
      if (isMeshError(admitted)) throw admitted;
      return admitted;
    }
    const release = await this.queue.acquire();
    const permit = this.admitBreaker('default', false);
    if (isMeshError(permit)) {
      release();
      throw permit;
    }
    return new QueuedPermit(permit, release);
  }

  /** Ends an admitted call: feeds outlier detection, the breaker and the counters, frees the request slot. */
  finish(permit: FailFastPermit, endpointId: string | undefined, outcome: CallOutcome, priority: RoutingPriority | undefined = 'default'): void {
    if (!(permit instanceof QueuedPermit)) this.limits.releaseRequest(priority);
    this.stats['upstream_rq_total']++;
    const failed = isFailure(outcome);
    if (failed) permit.failure();
    else permit.success();
    if (endpointId === undefined) return;
    let counters = this.endpointStats.get(endpointId);
    if (counters === undefined && this.endpointIds.has(endpointId)) {
      counters = zeroCounters(ENDPOINT_COUNTERS);
      this.endpointStats.set(endpointId, counters);
    }
    if (counters !== undefined) {
      counters['rq_total']++;
      if (failed) counters['rq_error']++;
      else counters['rq_success']++;
    }
    this.outlier?.record(endpointId, outcome);
  }

  /** Releases an admission whose call never reached an endpoint and has no outcome to count (e.g. cancelled). */
  abandon(permit: FailFastPermit, priority: RoutingPriority | undefined = 'default'): void {
    if (permit instanceof QueuedPermit) permit.release();
    else this.limits.releaseRequest(priority);
    permit.success();
  }

  snapshot(): StatsSnapshot {
    const cluster: Record<string, number> = { ...this.stats, ...this.limits.gauges() };
    cluster['outlier_detection.ejections_active'] = this.outlier?.ejectedIds.size ?? 0;
    cluster['xmesh.fail_fast.open'] = this.breaker === undefined || this.breaker.state === 'closed' ? 0 : 1;
    const endpoints: Record<string, Record<string, number>> = {};
    for (const id of this.endpointIds) {
      endpoints[id] = { ...(this.endpointStats.get(id) ?? zeroCounters(ENDPOINT_COUNTERS)), ejected: this.outlier?.ejectedIds.has(id) ? 1 : 0 };
    }
    return { cluster, endpoints };
  }

  close(): void {
    this.events.off('breaker.open', this.countOpen, this);
    this.outlier?.close();
    this.breaker?.close();
    this.queue?.close();
    if (this.ownsRotation) this.rotation.close();
  }

  private countOpen(event: { readonly cluster: string }): void {
    if (event.cluster === this.config.name) this.stats['xmesh.fail_fast.opened']++;
  }

  private admitBreaker(priority: RoutingPriority, releaseOnReject = true): FailFastPermit | MeshError {
    if (this.breaker === undefined) return NO_BREAKER;
    const permit = this.breaker.tryAcquire();
    if (permit !== undefined) return permit;
    if (releaseOnReject) this.limits.releaseRequest(priority);
    this.stats['xmesh.fail_fast.rejected']++;
    return new MeshError(ErrorCode.CIRCUIT_OPEN, `the fail-fast breaker of cluster "${this.config.name}" is open`, { cluster: this.config.name });
  }

  private newOutlier(config: ClusterConfig): OutlierDetector | undefined {
    if (config.outlierDetection === undefined) return undefined;
    return new OutlierDetector(config.outlierDetection, {
      cluster: config.name,
      clock: this.clock,
      random: this.random,
      stats: this.stats,
      events: this.events,
      onEjectedChange: (ejected) => this.options.onEjectedChange?.(ejected),
    });
  }

  private newBreaker(config: ClusterConfig): FailFastBreaker | undefined {
    const failFast = config.xmesh.failFast;
    if (failFast === undefined) return undefined;
    return this.options.failFast === 'opossum'
      ? new OpossumFailFast(config.name, failFast, this.rotation, this.events)
      : new WindowFailFast(config.name, failFast, this.clock, this.events);
  }

  private newQueue(config: ClusterConfig): QueuedAdmission | undefined {
    if (this.options.queue === undefined) return undefined;
    const t = config.circuitBreakers.default;
    return new QueuedAdmission(
      config.name,
      { maxConcurrent: t.maxRequests, maxQueued: t.maxPendingRequests, maxWaitMs: this.options.queue.maxWaitMs },
      this.clock,
      this.stats,
      this.events,
    );
  }
}

/** Outcomes the breaker counts as failures: local-origin failures and 5xx-equivalent statuses. */
function isFailure(outcome: CallOutcome): boolean {
  if (outcome.kind === 'success' || isCallerCancel(outcome)) return false;
  if (outcome.kind === 'local_error') return true;
  return effectiveHttpStatus(outcome) >= 500;
}
