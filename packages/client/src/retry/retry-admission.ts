/**
 * Admission for retries, per cluster: Envoy's `max_retries` concurrent retries, or with
 * `retry_budget` the larger of `min_retry_concurrency` and `budget_percent` % of active requests.
 * This is the fallback used when the cluster has no breaker-provided limits; `@xmesh/breaker`'s
 * `ResourceLimits` has the same two methods and replaces it through `MeshServices.retryAdmission`.
 */
import type { CircuitBreakerThresholds } from '@xmesh/xds';

export interface RetryAdmission {
  /** Takes a retry slot, or refuses (counted as `upstream_rq_retry_overflow` by the caller). */
  tryAcquireRetry(): boolean;
  releaseRetry(): void;
}

export class ClusterRetryAdmission implements RetryAdmission {
  private retries = 0;
  /** Requests in flight on the cluster, for the budget. */
  active = 0;

  constructor(public thresholds: CircuitBreakerThresholds) {}

  tryAcquireRetry(): boolean {
    const budget = this.thresholds.retryBudget;
    const limit = budget === undefined
      ? this.thresholds.maxRetries
      : Math.max(budget.minRetryConcurrency, (budget.budgetPercent / 100) * this.active);
    if (this.retries >= limit) return false;
    this.retries++;
    return true;
  }

  releaseRetry(): void {
    if (this.retries > 0) this.retries--;
  }
}
