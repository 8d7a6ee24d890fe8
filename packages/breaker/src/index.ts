export { ClusterGuard, type ClusterGuardOptions } from './cluster-guard.js';
export type { ResilienceEvents, EjectionReason } from './events.js';
export { ResourceLimits, type RoutingPriority } from './thresholds/resource-limits.js';
export { OutlierDetector, type OutlierDetectorOptions } from './outlier/outlier-detector.js';
export { HostMonitor } from './outlier/host-monitor.js';
export { CLIENT_CLOSED_REQUEST, effectiveHttpStatus, is5xx, isCallerCancel, isGatewayFailure } from './outlier/classify.js';
export { successRateOutliers, failurePercentageOutliers } from './outlier/interval-detectors.js';
export type { BreakerState, FailFastBreaker, FailFastPermit } from './fail-fast/fail-fast.js';
export { OpossumFailFast } from './fail-fast/opossum-fail-fast.js';
export { WindowFailFast } from './fail-fast/window-fail-fast.js';
export { BucketRotation } from './fail-fast/bucket-rotation.js';
export { QueuedAdmission, type QueuedAdmissionConfig, type Release } from './queued/queued-admission.js';
export {
  CLUSTER_COUNTERS,
  ENDPOINT_COUNTERS,
  zeroCounters,
  type ClusterCounter,
  type EndpointCounter,
  type CounterSet,
  type StatsSnapshot,
} from './stats/cluster-stats.js';
