/**
 * The resolved config model: Envoy v3 resources with every default applied, validated and deep-frozen.
 * Field names are camelCase versions of Envoy's; durations are milliseconds; fractions keep Envoy's
 * numerator/denominator. A MeshSnapshot is replaced whole, never mutated.
 */
import type { Endpoint, Locality } from '@xmesh/core';

export type Dict<T> = Readonly<Record<string, T>>;

/** Envoy's FractionalPercent: numerator over 100, 10 000 or 1 000 000. */
export interface Fraction {
  readonly numerator: number;
  readonly denominator: 100 | 10_000 | 1_000_000;
}

export interface MeshSnapshot {
  /** Opaque version label (xDS version_info, or a content hash for files). */
  readonly version: string;
  readonly listeners: Dict<ListenerConfig>;
  /**
   * RDS route configs by name, and each listener's inline route config under its own key (`<listener>
   * (inline)`): inline configs are independent, whatever their `name`.
   */
  readonly routeConfigs: Dict<RouteConfig>;
  readonly clusters: Dict<ClusterConfig>;
  /** Fields seen in the input that xmesh documents as ignored, with their paths. */
  readonly ignored: readonly string[];
}

// ---------------------------------------------------------------- listeners

export interface SocketAddress {
  readonly address: string;
  readonly port: number;
}

export interface ListenerConfig {
  readonly name: string;
  readonly address: SocketAddress | undefined;
  readonly statPrefix: string;
  /** Key of the RouteConfig in `MeshSnapshot.routeConfigs` (the RDS name, or the inline config's key). */
  readonly routeConfigName: string;
  /** True when routes come from RDS rather than inline. */
  readonly rds: boolean;
  /** HTTP filters in chain order; the last is always the router. */
  readonly httpFilters: readonly HttpFilter[];
  /**
   * HCM `strip_any_host_port` / `strip_matching_host_port`: whether the port is removed from the
   * authority before virtual-host matching ('matching': only when it equals the listener's port).
   */
  readonly stripHostPort: 'none' | 'any' | 'matching';
  /** HCM `generate_request_id` (default true): upstream requests without an `x-request-id` get a new UUID v4. */
  readonly generateRequestId: boolean;
  /**
   * True when the HCM's `tracing` names the OpenTelemetry provider: upstream requests carry a W3C
   * `traceparent` that is a child of the caller's (or a new unsampled trace). Otherwise, as in Envoy
   * without a W3C tracer, a caller's `traceparent` passes through untouched and none is created.
   */
  readonly tracing: boolean;
  /**
   * Listener `per_connection_buffer_limit_bytes` (Envoy's default 1 MiB): also the most a request
   * body is buffered for retries, whatever a route asks for.
   */
  readonly perConnectionBufferLimitBytes?: number;
  /** `normalize_path`, `merge_slashes`, `path_with_escaped_slashes_action`; absent when all are off. */
  readonly pathNormalization?: PathNormalization;
  /**
   * `metadata.filter_metadata.xmesh.protocol: bolt`: the xmesh sidecar serves SOFARPC's Bolt on this
   * listener, routed by its routes (docs/config.md, "Bolt (SOFARPC)"); absent, HTTP.
   */
  readonly protocol?: 'bolt';
}

export type HttpFilter =
  | { readonly kind: 'router'; readonly name: string }
  | { readonly kind: 'local_ratelimit'; readonly name: string; readonly config: LocalRateLimitConfig }
  | { readonly kind: 'fault'; readonly name: string; readonly config: FaultConfig };

/** A per-route / per-vhost / per-weighted-cluster override, keyed by filter name in `typedPerFilterConfig`. */
export type FilterOverride =
  | { readonly kind: 'local_ratelimit'; readonly config: LocalRateLimitConfig }
  | { readonly kind: 'fault'; readonly config: FaultConfig }
  | { readonly kind: 'disabled' };

// ---------------------------------------------------------------- routes

export interface RouteConfig {
  readonly name: string;
  readonly virtualHosts: readonly VirtualHost[];
  /** `ignore_port_in_host_matching`: domains are matched against the host without its port. Default false. */
  readonly ignorePortInHostMatching: boolean;
  /** `request_headers_to_add` / `_to_remove`; absent when neither is set. */
  readonly requestHeaders?: HeaderMutation;
  /** `response_headers_to_add` / `_to_remove`; absent when neither is set. */
  readonly responseHeaders?: HeaderMutation;
  /** `most_specific_header_mutations_wins`: apply route config, virtual host, then route mutations (default: the reverse). */
  readonly mostSpecificHeaderMutationsWins?: boolean;
}

export interface VirtualHost {
  readonly name: string;
  /**
   * As configured; matching order is Envoy's (exact, suffix wildcard, prefix wildcard, `*`), against the
   * authority as sent, `host:port` included, unless the port is stripped (see RouteConfig/ListenerConfig).
   */
  readonly domains: readonly string[];
  readonly routes: readonly Route[];
  readonly retryPolicy: RetryPolicy | undefined;
  readonly rateLimits: readonly RateLimit[];
  readonly typedPerFilterConfig: Dict<FilterOverride>;
  readonly requestHeaders?: HeaderMutation;
  readonly responseHeaders?: HeaderMutation;
}

export interface Route {
  /** Route name, or `<vhost>/<index>` when unnamed. */
  readonly name: string;
  readonly match: RouteMatch;
  readonly action: RouteAction;
  readonly typedPerFilterConfig: Dict<FilterOverride>;
  /** `stat_prefix`: the route's upstream stats go under `vhost.<vhost>.route.<statPrefix>.`; absent, it has none (Envoy). */
  readonly statPrefix?: string;
  /**
   * `per_request_buffer_limit_bytes` of the route, else of its virtual host: the most of a request
   * body kept for retries (capped by the listener's `per_connection_buffer_limit_bytes`); absent,
   * the listener's limit applies.
   */
  readonly perRequestBufferLimitBytes?: number;
  readonly requestHeaders?: HeaderMutation;
  readonly responseHeaders?: HeaderMutation;
}

export type PathMatch =
  | { readonly kind: 'prefix'; readonly value: string }
  | { readonly kind: 'path'; readonly value: string }
  | { readonly kind: 'safe_regex'; readonly regex: string }
  | { readonly kind: 'path_separated_prefix'; readonly value: string };

export interface RouteMatch {
  readonly path: PathMatch;
  /** Default true. Applies to prefix and path (not regex), as Envoy. */
  readonly caseSensitive: boolean;
  readonly headers: readonly HeaderMatcher[];
  readonly queryParameters: readonly QueryParameterMatcher[];
  /** `runtime_fraction.default_value` (the runtime key is ignored). */
  readonly runtimeFraction: Fraction | undefined;
  /** `grpc: {}`: only gRPC requests match. */
  readonly grpcOnly: boolean;
}

export type StringMatch =
  | { readonly kind: 'exact'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'prefix'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'suffix'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'contains'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'safe_regex'; readonly regex: string };

export type HeaderMatch =
  | { readonly kind: 'string'; readonly match: StringMatch }
  | { readonly kind: 'present'; readonly present: boolean }
  | { readonly kind: 'range'; readonly start: number; readonly end: number };

export interface HeaderMatcher {
  /** Lower-cased header name (pseudo-headers keep their colon). */
  readonly name: string;
  readonly match: HeaderMatch;
  readonly invertMatch: boolean;
  readonly treatMissingHeaderAsEmpty: boolean;
}

export interface QueryParameterMatcher {
  readonly name: string;
  /** undefined = present_match. */
  readonly match: StringMatch | undefined;
}

export interface WeightedClusterEntry {
  readonly name: string;
  readonly weight: number;
  readonly typedPerFilterConfig: Dict<FilterOverride>;
  /** Applied first, before the route's (Envoy's WeightedClusterEntry::finalizeRequestHeaders). */
  readonly requestHeaders?: HeaderMutation;
  readonly responseHeaders?: HeaderMutation;
  /** `host_rewrite_literal` of this cluster; the route's host rewrite, when it has one, wins. */
  readonly hostRewriteLiteral?: string;
}

export interface RouteAction {
  /** One entry (weight 1) for `cluster`; the entries of `weighted_clusters` otherwise. */
  readonly clusters: readonly WeightedClusterEntry[];
  /** Sum of the weights. */
  readonly totalWeight: number;
  /** Route timeout over all attempts, ms; 0 = none. Default 15 000. */
  readonly timeoutMs: number;
  /** `idle_timeout`, ms; undefined = the listener's default. */
  readonly idleTimeoutMs: number | undefined;
  /** The route's retry policy, else the vhost's, else undefined (no retries). */
  readonly retryPolicy: RetryPolicy | undefined;
  readonly hashPolicy: readonly HashPolicy[];
  readonly rateLimits: readonly RateLimit[];
  /** `prefix_rewrite`: replaces the matched prefix (the whole path for `path` and `safe_regex` matches); '' is none. */
  readonly prefixRewrite: string | undefined;
  readonly hostRewriteLiteral: string | undefined;
  /** `regex_rewrite`: every match in the path (query excluded) replaced; an empty result leaves the path as it was. */
  readonly regexRewrite?: RegexRewrite;
  /** `auto_host_rewrite`: Host becomes the picked endpoint's hostname (the DNS name of STRICT/LOGICAL_DNS endpoints, else `Endpoint.hostname`) when it has one. */
  readonly autoHostRewrite?: boolean;
  /** `append_x_forwarded_host`: when the Host is rewritten, the original is appended to `x-forwarded-host`. */
  readonly appendXForwardedHost?: boolean;
  /** `max_stream_duration.max_stream_duration`, ms. */
  readonly maxStreamDurationMs: number | undefined;
  /** `max_stream_duration.grpc_timeout_header_max`, ms; 0 = no cap; undefined = grpc-timeout not honoured. */
  readonly grpcTimeoutHeaderMaxMs: number | undefined;
  /** `max_stream_duration.grpc_timeout_header_offset`, ms. */
  readonly grpcTimeoutHeaderOffsetMs: number | undefined;
}

/** `retry_on` conditions; HTTP ones and gRPC ones share the set as Envoy does. */
export type RetryOn =
  | '5xx' | 'gateway-error' | 'reset' | 'reset-before-request' | 'connect-failure' | 'envoy-ratelimited'
  | 'retriable-4xx' | 'refused-stream' | 'retriable-status-codes' | 'retriable-headers' | 'http3-post-connect-failure'
  | 'cancelled' | 'deadline-exceeded' | 'internal' | 'resource-exhausted' | 'unavailable';

export interface RetryPolicy {
  readonly retryOn: readonly RetryOn[];
  /** Default 1. */
  readonly numRetries: number;
  /** undefined = the route timeout applies to each try. */
  readonly perTryTimeoutMs: number | undefined;
  readonly perTryIdleTimeoutMs: number | undefined;
  /** Full-jitter exponential back-off: base 25 ms, max 10 × base by default. */
  readonly backOff: { readonly baseIntervalMs: number; readonly maxIntervalMs: number };
  readonly retriableStatusCodes: readonly number[];
  readonly retriableHeaders: readonly HeaderMatcher[];
  /** `host_selection_retry_max_attempts`, default 1. */
  readonly hostSelectionRetryMaxAttempts: number;
  /** True when `retry_host_predicate` contains previous_hosts (Envoy's way to prefer another host). */
  readonly avoidPreviousHosts: boolean;
}

export type HashPolicy =
  | { readonly kind: 'header'; readonly headerName: string; readonly terminal: boolean }
  | { readonly kind: 'cookie'; readonly name: string; readonly ttlMs: number | undefined; readonly path: string | undefined; readonly terminal: boolean }
  | { readonly kind: 'source_ip'; readonly terminal: boolean }
  | { readonly kind: 'query_parameter'; readonly name: string; readonly terminal: boolean };

/** A route/vhost `rate_limits` entry: actions that build one descriptor. */
export interface RateLimit {
  readonly stage: number;
  readonly actions: readonly RateLimitAction[];
}

export type RateLimitAction =
  | { readonly kind: 'request_headers'; readonly headerName: string; readonly descriptorKey: string; readonly skipIfAbsent: boolean }
  | { readonly kind: 'remote_address' }
  | { readonly kind: 'generic_key'; readonly descriptorKey: string; readonly descriptorValue: string }
  | { readonly kind: 'header_value_match'; readonly descriptorKey: string; readonly descriptorValue: string; readonly expectMatch: boolean; readonly headers: readonly HeaderMatcher[] }
  | { readonly kind: 'destination_cluster' }
  | { readonly kind: 'source_cluster' };

// ---------------------------------------------------------------- header mutations, path normalization

/** `HeaderValueOption.HeaderAppendAction`; the deprecated `append: true / false` is the first / third. */
export type HeaderAppendAction = 'APPEND_IF_EXISTS_OR_ADD' | 'ADD_IF_ABSENT' | 'OVERWRITE_IF_EXISTS_OR_ADD' | 'OVERWRITE_IF_EXISTS';

/** A piece of a header value: literal text, or one command of Envoy's substitution format. */
export type HeaderValuePart =
  | { readonly kind: 'text'; readonly text: string }
  /** `%REQ(a?b):n%`: the first of the request headers `names` present, cut to `maxLength`. */
  | { readonly kind: 'request_header'; readonly names: readonly string[]; readonly maxLength: number | undefined }
  /** `%RESP(a?b):n%`: the same over the response headers (empty on requests). */
  | { readonly kind: 'response_header'; readonly names: readonly string[]; readonly maxLength: number | undefined }
  /** `%HOSTNAME%`: the machine's host name. */
  | { readonly kind: 'hostname' };

export interface HeaderToAdd {
  /** Lower-case; never a pseudo-header or `host` (Envoy refuses them). */
  readonly name: string;
  /** As configured. */
  readonly value: string;
  readonly format: readonly HeaderValuePart[];
  readonly appendAction: HeaderAppendAction;
  /** An empty value is added only with `keep_empty_value`. */
  readonly keepEmptyValue: boolean;
}

/** One level's `*_headers_to_add` and `*_headers_to_remove` (removals apply first). */
export interface HeaderMutation {
  readonly add: readonly HeaderToAdd[];
  /** Lower-case names. */
  readonly remove: readonly string[];
}

export interface RegexRewrite {
  readonly regex: string;
  /** RE2 rewrite syntax: `\1`..`\9` are groups, `\0` the match, `\\` a backslash. */
  readonly substitution: string;
}

/** HCM path handling before routing: the path routed and forwarded. Absent when every option is off. */
export interface PathNormalization {
  /** `normalize_path`: RFC 3986 normalization (dot segments, percent-encoding case, unreserved characters). */
  readonly normalizePath: boolean;
  /** `merge_slashes`: `//` becomes `/`. */
  readonly mergeSlashes: boolean;
  /** `path_with_escaped_slashes_action` for `%2F` / `%5C`. */
  readonly escapedSlashes: 'KEEP_UNCHANGED' | 'REJECT_REQUEST' | 'UNESCAPE_AND_FORWARD';
}

// ---------------------------------------------------------------- filters

export interface TokenBucket {
  /** Capacity and initial fill; > 0. */
  readonly maxTokens: number;
  /** Default 1. */
  readonly tokensPerFill: number;
  /** >= 50 ms. */
  readonly fillIntervalMs: number;
}

export interface RateLimitDescriptorConfig {
  readonly entries: readonly { readonly key: string; readonly value: string }[];
  readonly tokenBucket: TokenBucket;
}

export interface HeaderValueOption {
  readonly key: string;
  readonly value: string;
  readonly append: boolean;
}

export interface LocalRateLimitConfig {
  readonly statPrefix: string;
  /** HTTP status for limited requests; default 429, values < 400 become 429. */
  readonly status: number;
  readonly tokenBucket: TokenBucket | undefined;
  /** Default 0 %: the filter checks nothing until set. */
  readonly filterEnabled: Fraction;
  /** Default 0 %: nothing is enforced (shadow mode) until set. */
  readonly filterEnforced: Fraction;
  readonly descriptors: readonly RateLimitDescriptorConfig[];
  readonly stage: number;
  readonly requestHeadersToAddWhenNotEnforced: readonly HeaderValueOption[];
  readonly responseHeadersToAdd: readonly HeaderValueOption[];
  readonly enableXRatelimitHeaders: boolean;
  /** Default true. */
  readonly alwaysConsumeDefaultTokenBucket: boolean;
  readonly localRateLimitPerDownstreamConnection: boolean;
  /** `rate_limited_as_resource_exhausted`: gRPC RESOURCE_EXHAUSTED instead of UNAVAILABLE. */
  readonly rateLimitedAsResourceExhausted: boolean;
}

export type FaultDelay =
  | { readonly kind: 'fixed'; readonly delayMs: number; readonly percentage: Fraction }
  | { readonly kind: 'header'; readonly percentage: Fraction };

export type FaultAbort =
  | { readonly kind: 'http'; readonly httpStatus: number; readonly percentage: Fraction }
  | { readonly kind: 'grpc'; readonly grpcStatus: number; readonly percentage: Fraction }
  | { readonly kind: 'header'; readonly percentage: Fraction };

export interface FaultConfig {
  readonly delay: FaultDelay | undefined;
  readonly abort: FaultAbort | undefined;
  readonly upstreamCluster: string | undefined;
  readonly headers: readonly HeaderMatcher[];
  readonly downstreamNodes: readonly string[];
  /** undefined = unlimited. */
  readonly maxActiveFaults: number | undefined;
}

// ---------------------------------------------------------------- clusters

export type DiscoveryType = 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS';
export type LbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV' | 'PEAK_EWMA';

export interface RetryBudget {
  /** Percent of active requests that may be retries; default 20. */
  readonly budgetPercent: number;
  /** Default 3. */
  readonly minRetryConcurrency: number;
}

export interface CircuitBreakerThresholds {
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
  /** When set, replaces maxRetries. */
  readonly retryBudget: RetryBudget | undefined;
  readonly trackRemaining: boolean;
}

export interface OutlierDetectionConfig {
  readonly consecutive5xx: number;
  readonly consecutiveGatewayFailure: number;
  readonly consecutiveLocalOriginFailure: number;
  readonly intervalMs: number;
  readonly baseEjectionTimeMs: number;
  readonly maxEjectionTimeMs: number;
  readonly maxEjectionPercent: number;
  readonly enforcingConsecutive5xx: number;
  readonly enforcingConsecutiveGatewayFailure: number;
  readonly enforcingConsecutiveLocalOriginFailure: number;
  readonly enforcingSuccessRate: number;
  readonly enforcingLocalOriginSuccessRate: number;
  readonly successRateMinimumHosts: number;
  readonly successRateRequestVolume: number;
  /** Divided by 1000 when applied: 1900 = 1.9 standard deviations. */
  readonly successRateStdevFactor: number;
  readonly failurePercentageThreshold: number;
  readonly enforcingFailurePercentage: number;
  readonly enforcingFailurePercentageLocalOrigin: number;
  readonly failurePercentageMinimumHosts: number;
  readonly failurePercentageRequestVolume: number;
  readonly splitExternalLocalOriginErrors: boolean;
  readonly maxEjectionTimeJitterMs: number;
  readonly successfulActiveHealthCheckUnejectHost: boolean;
  readonly alwaysEjectOneHost: boolean;
}

export interface LocalityEndpoints {
  readonly locality: Locality;
  readonly priority: number;
  /** undefined when unset (then the locality gets no traffic under locality-weighted LB). */
  readonly loadBalancingWeight: number | undefined;
  readonly endpoints: readonly Endpoint[];
}

export interface DropOverload {
  readonly category: string;
  readonly dropPercentage: Fraction;
}

export interface LoadAssignment {
  readonly clusterName: string;
  readonly localities: readonly LocalityEndpoints[];
  /** Default 140. */
  readonly overprovisioningFactor: number;
  readonly dropOverloads: readonly DropOverload[];
  readonly endpointStaleAfterMs: number | undefined;
}

/** xmesh settings that Envoy has no field for, read from `metadata.filter_metadata.xmesh` (Envoy ignores it). */
export interface ClusterExtensions {
  /** Transport for gRPC calls in embedded mode; undefined = the mesh default. */
  readonly transport: 'grpc-js' | 'lean' | undefined;
  /** Fail-fast error-rate breaker (Hystrix semantics); undefined = off. */
  readonly failFast: FailFastConfig | undefined;
  /** Peak-EWMA decay time, ms (used when lbPolicy is PEAK_EWMA). Default 10 000. */
  readonly ewmaDecayMs: number;
  /** The mode switch's per-cluster mode (`mode: sidecar`); absent = the app's settings decide. */
  readonly mode?: 'embedded' | 'sidecar';
  /** Endpoints from the providers SOFARPC servers publish in ZooKeeper (an EDS cluster's source); absent = none. */
  readonly zookeeper?: ZooKeeperRegistryConfig;
}

/**
 * `xmesh.zookeeper` on an EDS cluster: its endpoints are the providers of `interface` that SOFARPC
 * servers publish under `<root>/<interface>/providers`, filtered as the stock client filters them.
 */
export interface ZooKeeperRegistryConfig {
  /** ZooKeeper connect string, `host:port[,host:port...]`. */
  readonly servers: string;
  /** Default `/sofa-rpc`. */
  readonly root: string;
  readonly interface: string;
  /** Only providers of this version (when they publish one); absent = any. */
  readonly version?: string;
  /** Only providers of this group (when they publish one); absent = any. */
  readonly group?: string;
  /** ZooKeeper session timeout, ms; default 30 000. */
  readonly sessionTimeoutMs: number;
}

export interface FailFastConfig {
  /** Error percentage over the rolling window that opens the breaker; default 50. */
  readonly errorThresholdPercentage: number;
  /** Calls in the window before the percentage counts; default 20. */
  readonly volumeThreshold: number;
  /** Rolling window, ms; default 10 000. */
  readonly rollingWindowMs: number;
  /** Buckets in the window; default 10. */
  readonly rollingBuckets: number;
  /** Open → half-open after this, ms; default 5 000. */
  readonly resetTimeoutMs: number;
}

export interface ClusterConfig {
  readonly name: string;
  readonly type: DiscoveryType;
  /** EDS service name; defaults to the cluster name. */
  readonly edsServiceName: string | undefined;
  readonly lbPolicy: LbPolicy;
  /** LEAST_REQUEST `choice_count`, default 2. */
  readonly choiceCount: number;
  /** LEAST_REQUEST `active_request_bias`, default 1.0. */
  readonly activeRequestBias: number;
  readonly ringHash: { readonly minimumRingSize: number; readonly maximumRingSize: number; readonly hashFunction: 'XX_HASH' | 'MURMUR_HASH_2' };
  readonly maglev: { readonly tableSize: number };
  readonly connectTimeoutMs: number;
  readonly dnsRefreshRateMs: number;
  readonly dnsLookupFamily: 'AUTO' | 'V4_ONLY' | 'V6_ONLY' | 'V4_PREFERRED' | 'ALL';
  readonly respectDnsTtl: boolean;
  readonly circuitBreakers: { readonly default: CircuitBreakerThresholds; readonly high: CircuitBreakerThresholds };
  readonly outlierDetection: OutlierDetectionConfig | undefined;
  /** Percent, default 50; 0 disables panic mode. */
  readonly healthyPanicThreshold: number;
  readonly localityWeightedLb: boolean;
  /** True when the upstream speaks HTTP/2 (http2_protocol_options, or typed options with http2). */
  readonly http2: boolean;
  /** The static `load_assignment`, or undefined for EDS clusters until endpoints arrive. */
  readonly loadAssignment: LoadAssignment | undefined;
  readonly xmesh: ClusterExtensions;
}
