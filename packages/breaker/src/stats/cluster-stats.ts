/**
 * Counters with Envoy's stat names (`cluster.<name>.` prefix left to the exposition), kept per
 * cluster and per endpoint. Plain numeric fields: a counter bump is one property increment.
 * Gauges (`*_active`, `circuit_breakers.*`) are filled in when a snapshot is read.
 */
export const CLUSTER_COUNTERS = [
  'upstream_rq_total',
  'upstream_rq_pending_total',
  'upstream_rq_pending_overflow',
  'upstream_rq_retry',
  'upstream_rq_retry_overflow',
  'upstream_cx_overflow',
  'outlier_detection.ejections_enforced_total',
  'outlier_detection.ejections_overflow',
  'outlier_detection.ejections_detected_consecutive_5xx',
  'outlier_detection.ejections_enforced_consecutive_5xx',
  'outlier_detection.ejections_detected_consecutive_gateway_failure',
  'outlier_detection.ejections_enforced_consecutive_gateway_failure',
  'outlier_detection.ejections_detected_consecutive_local_origin_failure',
  'outlier_detection.ejections_enforced_consecutive_local_origin_failure',
  'outlier_detection.ejections_detected_success_rate',
  'outlier_detection.ejections_enforced_success_rate',
  'outlier_detection.ejections_detected_local_origin_success_rate',
  'outlier_detection.ejections_enforced_local_origin_success_rate',
  'outlier_detection.ejections_detected_failure_percentage',
  'outlier_detection.ejections_enforced_failure_percentage',
  'outlier_detection.ejections_detected_local_origin_failure_percentage',
  'outlier_detection.ejections_enforced_local_origin_failure_percentage',
  /** xmesh: calls rejected by the open fail-fast breaker (Envoy has no such breaker). */
  'xmesh.fail_fast.rejected',
  'xmesh.fail_fast.opened',
  /** xmesh: calls that waited in the queued-admission mode, and those that gave up waiting. */
  'xmesh.queue.queued',
  'xmesh.queue.timeout',
] as const;

export type ClusterCounter = (typeof CLUSTER_COUNTERS)[number];

export const ENDPOINT_COUNTERS = ['rq_total', 'rq_success', 'rq_error', 'rq_timeout'] as const;
export type EndpointCounter = (typeof ENDPOINT_COUNTERS)[number];

export type CounterSet<K extends string> = Record<K, number>;

export function zeroCounters<K extends string>(names: readonly K[]): CounterSet<K> {
  const counters = {} as CounterSet<K>;
  for (const name of names) counters[name] = 0;
  return counters;
}

/** A point-in-time copy: cluster counters + gauges, and per-endpoint counters + gauges. */
export interface StatsSnapshot {
  readonly cluster: Readonly<Record<string, number>>;
  readonly endpoints: Readonly<Record<string, Readonly<Record<string, number>>>>;
}
