/**
 * Admission for retries, per cluster: Envoy's `max_retries` concurrent retries, or with
 * `retry_budget` the larger of `min_retry_concurrency` and `budget_percent` % of active requests.
 * `@xmesh/breaker`'s `ResourceLimits` (each cluster guard's `limits`) implements it; a mesh may
 * supply its own through `MeshServicesOptions.retryAdmission`.
 */

export interface RetryAdmission {
  /** Takes a retry slot of the route's priority (`high`, else DEFAULT), or refuses (counted as `upstream_rq_retry_overflow` by the caller). */
  tryAcquireRetry(priority?: 'high'): boolean;
  releaseRetry(priority?: 'high'): void;
}
