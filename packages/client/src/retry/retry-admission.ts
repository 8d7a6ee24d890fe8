/**
 * Admission for retries, per cluster: Envoy's `max_retries` concurrent retries, or with
 * `retry_budget` the larger of `min_retry_concurrency` and `budget_percent` % of active requests.
 * `@xmesh/breaker`'s `ResourceLimits` (each cluster guard's `limits`) implements it; a mesh may
 * supply its own through `MeshServicesOptions.retryAdmission`.
 */

export interface RetryAdmission {
  /** Takes a retry slot, or refuses (counted as `upstream_rq_retry_overflow` by the caller). */
  tryAcquireRetry(): boolean;
  releaseRetry(): void;
}
