/**
 * Envoy's cluster circuit breakers (`circuit_breakers.thresholds[]`): per routing priority, a
 * counter per resource and a hard limit. Acquire and release are synchronous counter moves; an
 * acquire over the limit is refused at once and counted with Envoy's overflow stat.
 *
 * - requests:   `max_requests` concurrent requests → `upstream_rq_pending_overflow`
 *               (Envoy's name for request-limit overflow on HTTP/2 pools)
 * - pending:    `max_pending_requests` requests waiting for an endpoint or a queue slot
 *               → `upstream_rq_pending_overflow`
 * - retries:    `max_retries` concurrent retries, or with `retry_budget` the larger of
 *               `min_retry_concurrency` and `budget_percent` % of (active + pending) requests
 *               → `upstream_rq_retry_overflow`
 * - connections: `max_connections` → `upstream_cx_overflow`
 */
import type { CircuitBreakerThresholds } from '@xmesh/xds';
import type { ClusterCounter, CounterSet } from '../stats/cluster-stats.js';

export type RoutingPriority = 'default' | 'high';

class PriorityResources {
  requests = 0;
  pending = 0;
  retries = 0;
  connections = 0;

  constructor(public thresholds: CircuitBreakerThresholds) {}

  /** The concurrent-retry limit now: the retry budget when set, else `max_retries`. */
  retryLimit(): number {
    const budget = this.thresholds.retryBudget;
    if (budget === undefined) return this.thresholds.maxRetries;
    return Math.max(budget.minRetryConcurrency, (budget.budgetPercent / 100) * (this.requests + this.pending));
  }
}

export class ResourceLimits {
  private readonly byPriority: { readonly default: PriorityResources; readonly high: PriorityResources };

  constructor(
    thresholds: { readonly default: CircuitBreakerThresholds; readonly high: CircuitBreakerThresholds },
    private readonly stats: CounterSet<ClusterCounter>,
  ) {
    this.byPriority = { default: new PriorityResources(thresholds.default), high: new PriorityResources(thresholds.high) };
  }

  /** New limits from a config swap; counts in flight are kept. */
  update(thresholds: { readonly default: CircuitBreakerThresholds; readonly high: CircuitBreakerThresholds }): void {
    this.byPriority.default.thresholds = thresholds.default;
    this.byPriority.high.thresholds = thresholds.high;
  }

  tryAcquireRequest(priority: RoutingPriority | undefined = 'default'): boolean {
    const r = this.byPriority[priority];
    if (r.requests >= r.thresholds.maxRequests) {
      this.stats['upstream_rq_pending_overflow']++;
      return false;
    }
    r.requests++;
    return true;
  }

  releaseRequest(priority: RoutingPriority | undefined = 'default'): void {
    const r = this.byPriority[priority];
    if (r.requests > 0) r.requests--;
  }

  tryAcquirePending(priority: RoutingPriority | undefined = 'default'): boolean {
    const r = this.byPriority[priority];
    if (r.pending >= r.thresholds.maxPendingRequests) {
      this.stats['upstream_rq_pending_overflow']++;
      return false;
    }
    r.pending++;
    this.stats['upstream_rq_pending_total']++;
    return true;
  }

  releasePending(priority: RoutingPriority | undefined = 'default'): void {
    const r = this.byPriority[priority];
    if (r.pending > 0) r.pending--;
  }

  tryAcquireRetry(priority: RoutingPriority | undefined = 'default'): boolean {
    const r = this.byPriority[priority];
    if (r.retries >= r.retryLimit()) {
      this.stats['upstream_rq_retry_overflow']++;
      return false;
    }
    r.retries++;
    this.stats['upstream_rq_retry']++;
    return true;
  }

  releaseRetry(priority: RoutingPriority | undefined = 'default'): void {
    const r = this.byPriority[priority];
    if (r.retries > 0) r.retries--;
  }

  tryAcquireConnection(priority: RoutingPriority | undefined = 'default'): boolean {
    const r = this.byPriority[priority];
    if (r.connections >= r.thresholds.maxConnections) {
      this.stats['upstream_cx_overflow']++;
      return false;
    }
    r.connections++;
    return true;
  }

  releaseConnection(priority: RoutingPriority | undefined = 'default'): void {
    const r = this.byPriority[priority];
    if (r.connections > 0) r.connections--;
  }

  /** Envoy's gauges: `circuit_breakers.<priority>.{rq,rq_pending,rq_retry,cx}_open` (1 when at the limit), `remaining_*` when `track_remaining`, plus the live counts. */
  gauges(): Record<string, number> {
    const out: Record<string, number> = {};
    let active = 0;
    let pending = 0;
    for (const priority of ['default', 'high'] as const) {
      const r = this.byPriority[priority];
      const t = r.thresholds;
      active += r.requests;
      pending += r.pending;
      const prefix = `circuit_breakers.${priority}.`;
      out[`${prefix}rq_open`] = r.requests >= t.maxRequests ? 1 : 0;
      out[`${prefix}rq_pending_open`] = r.pending >= t.maxPendingRequests ? 1 : 0;
      out[`${prefix}rq_retry_open`] = r.retries >= r.retryLimit() ? 1 : 0;
      out[`${prefix}cx_open`] = r.connections >= t.maxConnections ? 1 : 0;
      if (t.trackRemaining) {
        out[`${prefix}remaining_rq`] = Math.max(0, t.maxRequests - r.requests);
        out[`${prefix}remaining_pending`] = Math.max(0, t.maxPendingRequests - r.pending);
        out[`${prefix}remaining_retries`] = Math.max(0, Math.floor(r.retryLimit()) - r.retries);
        out[`${prefix}remaining_cx`] = Math.max(0, t.maxConnections - r.connections);
      }
    }
    out['upstream_rq_active'] = active;
    out['upstream_rq_pending_active'] = pending;
    return out;
  }

  /** Live counts for one priority (for tests and the admin page). */
  counts(priority: RoutingPriority | undefined = 'default'): { requests: number; pending: number; retries: number; connections: number } {
    const r = this.byPriority[priority];
    return { requests: r.requests, pending: r.pending, retries: r.retries, connections: r.connections };
  }
}
