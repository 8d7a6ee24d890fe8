export { Counter, Gauge, Histogram, ENVOY_HISTOGRAM_BUCKETS } from './stats.js';
export { StatStore, StatScope, type StatEntry, type StatKind, type StatTags } from './stat-store.js';
export { UpstreamStats } from './upstream-stats.js';
export { PrometheusExporter, type MetricsRegistry, type PrometheusExporterOptions } from './prometheus.js';
export { envoyStatsText } from './envoy-text.js';
export { compileStatsFilter, MAX_STATS_FILTER_LENGTH } from './stats-filter.js';
export {
  startAdminServer,
  clustersText,
  clustersJson,
  type AdminServer,
  type ConfigDumpQuery,
  type ConfigDumpResult,
  type AdminServerOptions,
  type AdminSource,
  type ClusterStatus,
  type HostStatus,
} from './admin-server.js';
export { propagateTrace, childTraceparent, requestIdOrNew, newRequestId, newSpanId, type PropagatedHeaders } from './trace-context.js';
export { b3Headers, type B3Headers, type B3Settings, type HeaderReader } from './b3-context.js';
export { attemptStartChannel, attemptEndChannel, retryChannel, faultChannel, rateLimitChannel } from './diagnostics.js';
export { parsePrometheusText, type PromSample, type PromFamily } from './prometheus-parse.js';
