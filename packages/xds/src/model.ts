/**
 * The resolved config model: Envoy v3 resources with every default applied, validated and deep-frozen.
 * Field names are camelCase versions of Envoy's; durations are milliseconds; fractions keep Envoy's
 * numerator/denominator. A MeshSnapshot is replaced whole, never mutated.
 */
import type { Endpoint, Locality } from '@xmesh/core';
import type { SecretConfig, TransportSocketMatch, UpstreamTlsConfig } from './tls-model.js';
import type {
  BufferConfig, CompressorConfig, CompressorPerRoute, DecompressorConfig, CorsPolicy, CsrfPolicy, HealthCheckFilterConfig, ExtAuthzConfig, ExtAuthzPerRoute, ListenerFilterChain, LocalRouteAction, RbacConfig,
  RouteUpgradeConfig, UpgradeConfig,
} from './filter-model.js';

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
  /** TLS secrets by name (`static_resources.secrets`, `Secret` resources); absent when there are none. */
  readonly secrets?: Dict<SecretConfig>;
  /** The bootstrap's downstream connection limit (overload manager); absent when it sets none. */
  readonly overload?: OverloadConfig;
  /** The bootstrap's `node.cluster`: the local cluster a health check answer names; absent when unset. */
  readonly localCluster?: string;
  /**
   * The resources the snapshot was built from, as given, for Envoy's `/config_dump`; absent on snapshots
   * built by hand. Non-enumerable: never serialized or compared with the snapshot (it holds secrets as given).
   */
  readonly sources?: SnapshotSources;
}

/** What a bootstrap's overload manager asks of a proxy serving downstream connections (the sidecar). */
export interface OverloadConfig {
  /** `global_downstream_max_connections`: connections beyond it are closed at accept. */
  readonly maxDownstreamConnections: number;
}

/**
 * The Envoy resources of a snapshot as they were given (proto3 JSON, `@type` included), each marked
 * static (a bootstrap's `static_resources`) or dynamic (files `dynamic_resources` names, an xDS
 * server, a resource list). Secrets are not redacted here: whoever shows them must.
 */
export interface SnapshotSources {
  /** The bootstrap, when the config was one. */
  readonly bootstrap?: Dict<unknown>;
  readonly listeners: readonly SourceResource[];
  readonly routeConfigs: readonly SourceResource[];
  readonly clusters: readonly SourceResource[];
  readonly endpoints: readonly SourceResource[];
  readonly secrets: readonly SourceResource[];
}

export interface SourceResource {
  readonly name: string;
  readonly dynamic: boolean;
  /** The resource as given, with its `@type`. */
  readonly resource: Dict<unknown>;
}

// ---------------------------------------------------------------- listeners

export interface SocketAddress {
  readonly address: string;
  readonly port: number;
}

/** HCM `tracing` as far as it changes what is sent upstream (see `ListenerConfig.tracing`). */
export type TracingPropagation = W3cTracing | ZipkinTracing | NullTracing;

/**
 * `tracing` without a provider (Envoy's null tracer): no trace headers are written, but the tracing
 * decision is still made and packed into the request id.
 */
export interface NullTracing {
  readonly kind: 'none';
  readonly sampling: TracingSampling;
}

/** `envoy.tracers.opentelemetry`: W3C trace context. */
export interface W3cTracing {
  readonly kind: 'w3c';
  /** The HCM's tracing decision settings (a new trace's sampled flag); a route's `tracing` replaces them. */
  readonly sampling: TracingSampling;
}

/** `envoy.tracers.zipkin`: B3 multi headers, as Envoy's Zipkin tracer writes them. */
export interface ZipkinTracing {
  readonly kind: 'b3';
  /** ZipkinConfig `trace_id_128bit` (default false): new traces get 128-bit ids. */
  readonly traceId128Bit: boolean;
  /**
   * ZipkinConfig `shared_span_context` (default true) on a listener whose `traffic_direction` is not
   * OUTBOUND (Envoy's ingress operation): the proxy's span shares the caller's span id, so upstream
   * gets the caller's ids. Otherwise a new span id with the caller's span as its parent.
   */
  readonly sharedSpanContext: boolean;
  /** The HCM's tracing decision settings; a route's `tracing` replaces them (`Route.tracingSampling`). */
  readonly sampling: TracingSampling;
}

/**
 * The tracing decision for a request whose caller sent no sampling flag, as percentages (0..100):
 * `client` for a caller with `x-client-trace-id` (`client_sampling`, default 100), `random` for
 * the others (`random_sampling`, default 100), both then subject to `overall` (`overall_sampling`,
 * default 100). A caller's `x-envoy-force-trace` traces (before `overall`).
 */
export interface TracingSampling {
  readonly client: number;
  readonly random: number;
  readonly overall: number;
}

/** See `ListenerConfig.requestIdTracing`. */
export interface RequestIdTracing {
  readonly packTraceReason: boolean;
  readonly useForSampling: boolean;
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
   * HCM `request_id_extension` (Envoy's UUID extension, `UuidRequestIdConfig`), absent at its defaults:
   * with `tracing`, the tracing decision is packed into the request id's 15th character
   * (`packTraceReason`, default true) and drawn from its first 8 hex digits (`useForSampling`,
   * `use_request_id_for_trace_sampling`, default true; false: every request is traced).
   */
  readonly requestIdTracing?: RequestIdTracing;
  /**
   * The trace headers the HCM's `tracing` provider adds upstream: `w3c` (OpenTelemetry) a
   * `traceparent` child of the caller's (or a new trace, sampled as the tracing decision says); `b3` (Zipkin) the `x-b3-*`
   * headers of Envoy's Zipkin span; `none` (a `tracing` without provider, Envoy's null tracer) none. False
   * without `tracing`. Without trace headers of its own, a caller's pass through untouched.
   */
  readonly tracing: TracingPropagation | false;
  /**
   * Listener `per_connection_buffer_limit_bytes` (Envoy's default 1 MiB): also the most a request
   * body is buffered for retries, whatever a route asks for.
   */
  readonly perConnectionBufferLimitBytes?: number;
  /** `normalize_path`, `merge_slashes`, `path_with_escaped_slashes_action`; absent when all are off. */
  readonly pathNormalization?: PathNormalization;
  /** Which callers the HCM trusts with Envoy's x-envoy-* request headers (a proxy's view of its downstream). */
  readonly callerTrust: CallerTrust;
  /**
   * The listener's filter chains (`filter_chains[]`, then `default_filter_chain`), for a proxy that accepts its
   * connections (the sidecar): each connection takes the chain Envoy would pick, which secures it (TLS) and serves
   * it (its own HttpConnectionManager, or tcp_proxy). The fields above are the HttpConnectionManager of the
   * listener's main chain: the one a plaintext connection from loopback to the listener's port, without SNI or
   * ALPN, takes (else the first HTTP chain) — what embedded mode and the app's calls use. Absent for an
   * `api_listener`.
   */
  readonly filterChains?: readonly ListenerFilterChain[];
  /** `listener_filters` has the HTTP inspector: a plaintext connection offers `h2c` or `http/1.1` as its application protocol. */
  readonly httpInspector?: boolean;
  /**
   * How a proxy serving this listener protects itself from its downstream connections (the HCM's
   * timeouts and limits, with Envoy's defaults). Only the sidecar reads it: embedded mode has no
   * downstream connection.
   */
  readonly protection: DownstreamProtection;
  /** HCM `upgrade_configs`: the protocol upgrades (WebSocket, CONNECT) the listener allows; absent = none. */
  readonly upgradeConfigs?: readonly UpgradeConfig[];
  /**
   * HCM `forward_client_cert_details`: absent (SANITIZE, the default) = a caller's
   * x-forwarded-client-cert is removed; `forward_only` keeps it from an mTLS caller; `always_forward_only` keeps it.
   */
  readonly forwardClientCert?: 'forward_only' | 'always_forward_only';
  /** HCM `preserve_external_request_id`: an external caller's x-request-id is kept even at the edge (`use_remote_address`). */
  readonly preserveExternalRequestId?: boolean;
  /** Listener `ignore_global_conn_limit`: the overload manager's connection limit does not apply to this listener. */
  readonly ignoreGlobalConnLimit?: boolean;
  /** HCM `local_reply_config`: how the replies the proxy makes itself are rewritten; absent = as made. */
  readonly localReply?: LocalReplyConfig;
  /**
   * `metadata.filter_metadata.xmesh.protocol: bolt`: the xmesh sidecar serves SOFARPC's Bolt on this
   * listener, routed by its routes (docs/config.md, "Bolt (SOFARPC)"); absent, HTTP.
   */
  readonly protocol?: 'bolt';
}

/**
 * HCM `local_reply_config`: the first mapper whose filter matches a local reply (one the proxy makes:
 * no route, no healthy upstream, rate limited, a timeout, ...) rewrites its status, body and headers.
 */
export interface LocalReplyConfig {
  readonly mappers: readonly LocalReplyMapper[];
  /** `body_format`: every local reply's body (text formats), unless a matching mapper overrides it. */
  readonly bodyFormat?: BodyFormat;
}

/** A text `SubstitutionFormatString` (`text_format` / `text_format_source`) for a local reply's body. */
export interface BodyFormat {
  readonly parts: readonly BodyFormatPart[];
  /** `content_type`; absent = `text/plain`. */
  readonly contentType?: string;
}

export type BodyFormatPart =
  | { readonly kind: 'text'; readonly text: string }
  /** `%LOCAL_REPLY_BODY%`: the reply's body (after the mapper's `body`). */
  | { readonly kind: 'local_reply_body' }
  /** `%RESPONSE_CODE%`: the reply's status (after the mapper's `status_code`). */
  | { readonly kind: 'response_code' }
  /** `%REQ(a?b):n%`: the first request header of `names` present, cut to `maxLength`. */
  | { readonly kind: 'request_header'; readonly names: readonly string[]; readonly maxLength: number | undefined };

export interface LocalReplyMapper {
  readonly filter: LocalReplyFilter;
  /** The reply's new HTTP status (a gRPC reply's status becomes Envoy's mapping of it). */
  readonly statusCode?: number;
  /** The reply's new body (a gRPC reply's `grpc-message`). */
  readonly body?: string;
  /** `headers_to_add` of the reply. */
  readonly headersToAdd?: HeaderMutation;
  /** `body_format_override`: replaces the config's `body_format` for replies this mapper matched. */
  readonly bodyFormat?: BodyFormat;
}

/** The `AccessLogFilter` kinds a mapper may use. */
export type LocalReplyFilter =
  | { readonly kind: 'status_code'; readonly op: 'EQ' | 'GE' | 'LE'; readonly value: number }
  | { readonly kind: 'header'; readonly header: HeaderMatcher }
  | { readonly kind: 'and' | 'or'; readonly filters: readonly LocalReplyFilter[] }
  /** `not_health_check_filter`: xmesh serves no health-check requests, so it always matches. */
  | { readonly kind: 'not_health_check' };

/**
 * HCM `use_remote_address`, `xff_num_trusted_hops` and `internal_address_config`: whether a
 * downstream request is internal (Envoy keeps its x-envoy-* headers, such as
 * x-envoy-upstream-rq-timeout-ms) or external (Envoy strips them).
 */
export interface CallerTrust {
  /** True: the caller is the connection's peer address; false (default): the address X-Forwarded-For names. */
  readonly useRemoteAddress: boolean;
  /** X-Forwarded-For entries from the right that are trusted proxies (default 0). */
  readonly xffNumTrustedHops: number;
  /** `internal_address_config.cidr_ranges`: the internal networks. Empty (the default) trusts no address, as current Envoy. */
  readonly internalCidrs: readonly CidrRange[];
}

export interface CidrRange {
  readonly addressPrefix: string;
  readonly prefixLen: number;
}

/**
 * The HttpConnectionManager's downstream protections (and the listener's protocol-detection
 * timeout). Durations are ms; 0 means "none" where Envoy's field allows disabling. Fields
 * Envoy defaults to a value that is no protection at all (HTTP/2 windows of 256 MiB, 2^31-1
 * concurrent streams) are undefined when unset: the proxy applies its own documented default.
 */
export interface DownstreamProtection {
  /** HCM `stream_idle_timeout`: a stream with no activity either way for this long ends. Default 300 000 (5 min). */
  readonly streamIdleTimeoutMs: number;
  /** HCM `request_timeout`: the whole request must arrive within it. Default 0 (none). */
  readonly requestTimeoutMs: number;
  /** HCM `request_headers_timeout`: the request headers must arrive within it of their first byte. Default 0 (none). */
  readonly requestHeadersTimeoutMs: number;
  /** HCM `max_request_headers_kb` × 1024. Default 60 KiB. */
  readonly maxRequestHeadersBytes: number;
  /** `common_http_protocol_options.idle_timeout`: a connection with no stream for this long closes. Default 3 600 000 (1 h). */
  readonly idleTimeoutMs: number;
  /** `common_http_protocol_options.max_connection_duration`: a connection older than this drains. Default 0 (none). */
  readonly maxConnectionDurationMs: number;
  /** `common_http_protocol_options.max_headers_count`. Default 100. */
  readonly maxHeadersCount: number;
  /** `common_http_protocol_options.max_stream_duration`: a stream older than this ends. Default 0 (none). */
  readonly maxStreamDurationMs: number;
  /** `common_http_protocol_options.max_requests_per_connection`: the connection drains after this many. Default 0 (unlimited). */
  readonly maxRequestsPerConnection: number;
  /** `common_http_protocol_options.headers_with_underscores_action`. Default 'allow'. */
  readonly headersWithUnderscores: 'allow' | 'reject' | 'drop';
  /** `http_protocol_options.allow_absolute_url` (default true): `GET http://host/path` is routed by `host`. */
  readonly allowAbsoluteUrl: boolean;
  /** `http_protocol_options.accept_http_10` (default false: HTTP/1.0 requests get 426). */
  readonly acceptHttp10: boolean;
  /** `http_protocol_options.default_host_for_http_10`: the authority of an HTTP/1.0 request without Host. */
  readonly defaultHostForHttp10: string | undefined;
  /** `http_protocol_options.enable_trailers` (default false): HTTP/1.1 clients get response trailers. */
  readonly http1Trailers: boolean;
  /** `http2_protocol_options.max_concurrent_streams`; undefined = the proxy's default. */
  readonly maxConcurrentStreams: number | undefined;
  /** `http2_protocol_options.initial_stream_window_size`; undefined = the proxy's default. */
  readonly initialStreamWindowSize: number | undefined;
  /** `http2_protocol_options.initial_connection_window_size`; undefined = the proxy's default. */
  readonly initialConnectionWindowSize: number | undefined;
  /** `http2_protocol_options.hpack_table_size` (default 4096). */
  readonly hpackTableSize: number;
  /** Listener `listener_filters_timeout`: the first bytes (which decide HTTP/1.1 or HTTP/2) must arrive within it. Default 15 000; 0 = none. */
  readonly protocolDetectionTimeoutMs: number;
  /** Listener `continue_on_listener_filters_timeout`: on that timeout, serve the connection as HTTP/1.1 instead of closing it. */
  readonly continueOnProtocolDetectionTimeout: boolean;
}

export type HttpFilter =
  | { readonly kind: 'router'; readonly name: string; readonly config?: RouterFilterConfig }
  | { readonly kind: 'local_ratelimit'; readonly name: string; readonly config: LocalRateLimitConfig }
  | { readonly kind: 'fault'; readonly name: string; readonly config: FaultConfig }
  | { readonly kind: 'rbac'; readonly name: string; readonly config: RbacConfig }
  | { readonly kind: 'ext_authz'; readonly name: string; readonly config: ExtAuthzConfig }
  /** The CORS filter has no config of its own: the policies come from the routes. */
  | { readonly kind: 'cors'; readonly name: string }
  | { readonly kind: 'buffer'; readonly name: string; readonly config: BufferConfig }
  | { readonly kind: 'compressor'; readonly name: string; readonly config: CompressorConfig }
  | { readonly kind: 'decompressor'; readonly name: string; readonly config: DecompressorConfig }
  | { readonly kind: 'csrf'; readonly name: string; readonly config: CsrfPolicy }
  | { readonly kind: 'health_check'; readonly name: string; readonly config: HealthCheckFilterConfig }
  /** The gRPC HTTP/1.1 bridge: gRPC responses to HTTP/1.x callers are sent whole, their status as headers. */
  | { readonly kind: 'grpc_http1_bridge'; readonly name: string };

/**
 * The router filter's settings that change what is sent upstream or what is allowed (Envoy's
 * `envoy.extensions.filters.http.router.v3.Router`); absent on a router with none of them set.
 */
export interface RouterFilterConfig {
  /** `suppress_envoy_headers`: no `x-envoy-expected-rq-timeout-ms` is added to upstream requests. Default false. */
  readonly suppressEnvoyHeaders: boolean;
  /** `respect_expected_rq_timeout`: an internal caller's `x-envoy-expected-rq-timeout-ms` is the route timeout. Default false. */
  readonly respectExpectedRqTimeout: boolean;
  /** `strict_check_headers`: these x-envoy-* headers of an internal caller must be well formed, else the request gets 400. */
  readonly strictCheckHeaders: readonly string[];
}

/** A per-route / per-vhost / per-weighted-cluster override, keyed by filter name in `typedPerFilterConfig`. */
export type FilterOverride =
  | { readonly kind: 'local_ratelimit'; readonly config: LocalRateLimitConfig }
  | { readonly kind: 'fault'; readonly config: FaultConfig }
  /** `RBACPerRoute`: its `rbac` replaces the filter's (absent: rules undefined, nothing enforced). */
  | { readonly kind: 'rbac'; readonly config: RbacConfig }
  | { readonly kind: 'ext_authz'; readonly config: ExtAuthzPerRoute }
  | { readonly kind: 'cors'; readonly config: CorsPolicy }
  | { readonly kind: 'buffer'; readonly config: BufferConfig }
  | { readonly kind: 'compressor'; readonly config: CompressorPerRoute }
  /** A `CsrfPolicy` replaces the filter's. */
  | { readonly kind: 'csrf'; readonly config: CsrfPolicy }
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
  /** `internal_only_headers` (lower-cased): removed from the requests of callers the listener deems external. */
  readonly internalOnlyHeaders?: readonly string[];
  /** `request_mirror_policies`: the default of routes whose virtual host and action set none; absent = none. */
  readonly requestMirrorPolicies?: readonly RequestMirrorPolicy[];
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
  /** `include_request_attempt_count`: upstream requests carry `x-envoy-attempt-count` (1, 2, ...). */
  readonly attemptCountInRequest?: boolean;
  /** `include_attempt_count_in_response`: responses carry `x-envoy-attempt-count`, the attempts made. */
  readonly attemptCountInResponse?: boolean;
  /** `include_is_timeout_retry_header`: retried requests carry `x-envoy-is-timeout-retry` (true after a per-try timeout). */
  readonly timeoutRetryHeader?: boolean;
  /** `request_mirror_policies` (else the route config's): the default of routes whose action sets none; absent = none. */
  readonly requestMirrorPolicies?: readonly RequestMirrorPolicy[];
  /** The deprecated `cors`: the CORS filter's policy when no `typed_per_filter_config` gives one. */
  readonly cors?: CorsPolicy;
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
  /**
   * Set when the route answers itself (`direct_response`, `redirect`): `action` then names no cluster and the
   * answer is given after the HTTP filters ran, as Envoy's router gives it.
   */
  readonly local?: LocalRouteAction;
  /** The route's `tracing`: its sampling settings replace the connection manager's (each absent one is 100 %, as Envoy). */
  readonly tracingSampling?: TracingSampling;
}

export type PathMatch =
  | { readonly kind: 'prefix'; readonly value: string }
  | { readonly kind: 'path'; readonly value: string }
  | { readonly kind: 'safe_regex'; readonly regex: string }
  | { readonly kind: 'path_separated_prefix'; readonly value: string }
  /** `connect_matcher`: CONNECT requests (which have no path) and only them. */
  | { readonly kind: 'connect' };

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
  /**
   * `hedge_policy.hedge_on_per_try_timeout` of the route's `hedge_policy`, else of its virtual host's:
   * a per-try timeout leaves the attempt running and races a retry with it; absent = false.
   */
  readonly hedgeOnPerTryTimeout?: boolean;
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
  /**
   * `cluster_not_found_response_code` as an HTTP status (503, 404 or 500): what a call gets when the
   * cluster it is routed to does not exist (possible only with clusters from a control plane). Absent:
   * 503, as in Envoy; gRPC clients always fail such calls UNAVAILABLE.
   */
  readonly clusterNotFoundStatus?: 404 | 500;
  /** `priority: HIGH`: the cluster's HIGH circuit-breaker thresholds admit the route's calls; absent = DEFAULT. */
  readonly priority?: 'high';
  /**
   * `request_mirror_policies`: copies of the request sent to other clusters, fire and forget; absent =
   * none. The most specific non-empty list of the route, its virtual host and its route config (not merged).
   */
  readonly requestMirrorPolicies?: readonly RequestMirrorPolicy[];
  /** `upgrade_configs`: turns the listener's upgrade types on or off for this route. */
  readonly upgradeConfigs?: readonly RouteUpgradeConfig[];
  /** The deprecated `cors` (see VirtualHost.cors). */
  readonly cors?: CorsPolicy;
}

/** `RouteAction.RequestMirrorPolicy`. */
export interface RequestMirrorPolicy {
  /** The mirror cluster; '' when `clusterHeader` names it. */
  readonly cluster: string;
  /**
   * `cluster_header` (lower case): the mirror cluster is the one named by this request header. A request
   * without the header, with an empty value, or naming a cluster the mesh does not have is not copied.
   */
  readonly clusterHeader?: string;
  /** `runtime_fraction.default_value`; undefined = every request. */
  readonly runtimeFraction: Fraction | undefined;
  /** `trace_sampled`: the copy's trace is marked sampled (true) or not (false); undefined = as the request's. */
  readonly traceSampled: boolean | undefined;
  /** `disable_shadow_host_suffix_append`: the copy's Host is the request's, without `-shadow`. */
  readonly disableShadowHostSuffixAppend: boolean;
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
  /** `retriable_request_headers`: when set, only a request matching one of them is retried. */
  readonly retriableRequestHeaders?: readonly HeaderMatcher[];
  /** `host_selection_retry_max_attempts`, default 1. */
  readonly hostSelectionRetryMaxAttempts: number;
  /** True when `retry_host_predicate` contains previous_hosts (Envoy's way to prefer another host). */
  readonly avoidPreviousHosts: boolean;
}

export type HashPolicy =
  | { readonly kind: 'header'; readonly headerName: string; readonly terminal: boolean }
  | { readonly kind: 'cookie'; readonly name: string; readonly ttlMs: number | undefined; readonly path: string | undefined; readonly terminal: boolean }
  | { readonly kind: 'source_ip'; readonly terminal: boolean }
  | { readonly kind: 'query_parameter'; readonly name: string; readonly terminal: boolean }
  /** `filter_state` `io.grpc.channel_id` (gRPC clients, gRFC A42): one value per mesh, so all its calls hash alike. */
  | { readonly kind: 'channel_id'; readonly terminal: boolean };

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

// ---------------------------------------------------------------- active health checking

/** `HealthCheck.Payload` (`text` in hex, or `binary`) as lower-case hex: the snapshot stays plain, freezable data. */
export type HealthCheckPayload = string;

/** `http_health_check`. */
export interface HttpHealthCheckConfig {
  readonly kind: 'http';
  /** `host`; '' = the endpoint's `health_check_config.hostname`, else the cluster name (Envoy's order). */
  readonly host: string;
  readonly path: string;
  /** `method`; default GET. */
  readonly method: string;
  /** `send`: the request body; absent = none. */
  readonly send?: HealthCheckPayload;
  /** `receive`: each segment must appear in the first `responseBufferSize` bytes of the body, in order. */
  readonly receive: readonly HealthCheckPayload[];
  /** `response_buffer_size`; default 1024; 0 = the whole body. */
  readonly responseBufferSize: number;
  /** `request_headers_to_add` / `_to_remove`; absent when neither is set. */
  readonly requestHeaders?: HeaderMutation;
  /** `expected_statuses` as [start, end) ranges; default [[200, 201]]. */
  readonly expectedStatuses: readonly (readonly [number, number])[];
  /** `retriable_statuses`: unexpected statuses that count toward `unhealthy_threshold` instead of failing at once. */
  readonly retriableStatuses: readonly (readonly [number, number])[];
  /** `codec_client_type`: HTTP1 (default) or HTTP2. */
  readonly http2: boolean;
  /** `service_name_matcher`: the response's `x-envoy-upstream-healthchecked-cluster` must match it. */
  readonly serviceNameMatcher?: StringMatch;
}

/** `grpc_health_check`: `grpc.health.v1.Health/Check`. */
export interface GrpcHealthCheckConfig {
  readonly kind: 'grpc';
  readonly serviceName: string;
  /** `authority`; '' = the endpoint's `health_check_config.hostname`, else the cluster name. */
  readonly authority: string;
  /** `initial_metadata`. */
  readonly initialMetadata?: HeaderMutation;
}

/** `tcp_health_check`: connect, optionally send bytes and wait for the `receive` segments. */
export interface TcpHealthCheckConfig {
  readonly kind: 'tcp';
  readonly send?: HealthCheckPayload;
  readonly receive: readonly HealthCheckPayload[];
}

/**
 * A cluster's `health_checks[0]` (Envoy supports one), with Envoy's defaults, and the cluster
 * fields that only act with active health checking. Durations are ms.
 */
export interface HealthCheckConfig {
  readonly timeoutMs: number;
  readonly intervalMs: number;
  /** `initial_jitter`, default 0. */
  readonly initialJitterMs: number;
  /** `interval_jitter`, default 0. */
  readonly intervalJitterMs: number;
  /** `interval_jitter_percent`, default 0. */
  readonly intervalJitterPercent: number;
  readonly unhealthyThreshold: number;
  readonly healthyThreshold: number;
  /** `reuse_connection`, default true. */
  readonly reuseConnection: boolean;
  /** `no_traffic_interval`, default 60 000: the interval while the cluster never had traffic. */
  readonly noTrafficIntervalMs: number;
  /** `no_traffic_healthy_interval`, default `no_traffic_interval`. */
  readonly noTrafficHealthyIntervalMs: number;
  /** `unhealthy_interval`, default `interval`. */
  readonly unhealthyIntervalMs: number;
  /** `unhealthy_edge_interval`, default `unhealthy_interval`. */
  readonly unhealthyEdgeIntervalMs: number;
  /** `healthy_edge_interval`, default `interval`. */
  readonly healthyEdgeIntervalMs: number;
  readonly checker: HttpHealthCheckConfig | GrpcHealthCheckConfig | TcpHealthCheckConfig;
  /** `tls_options.alpn_protocols`: ALPN of health check connections to a TLS cluster; absent = the cluster's. */
  readonly alpnProtocols?: readonly string[];
  /** `transport_socket_match_criteria`: selects the cluster's `transport_socket_matches` entry instead of the endpoint's metadata. */
  readonly transportSocketMatchCriteria?: Dict<unknown>;
  /** Cluster `common_lb_config.ignore_new_hosts_until_first_hc`: hosts added later are left out of balancing until checked. */
  readonly ignoreNewHostsUntilFirstHc: boolean;
  /** Cluster `ignore_health_on_host_removal`: a host discovery removes goes at once, even while it passes its checks. */
  readonly ignoreHealthOnHostRemoval: boolean;
  /** Cluster `close_connections_on_host_health_failure`: a host failing its checks has its connections closed. */
  readonly closeConnectionsOnHostHealthFailure: boolean;
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
}

/**
 * The SOFARPC registry's own settings (`registry.zookeeper_cluster`): its providers are filtered as
 * the stock consumer filters them.
 */
export interface ZooKeeperRegistryConfig {
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
  /** `transport_socket` with an UpstreamTlsContext; absent = plaintext (raw_buffer). */
  readonly tls?: UpstreamTlsConfig;
  /** `transport_socket_matches`, in order; absent = every endpoint uses `tls`. */
  readonly transportSocketMatches?: readonly TransportSocketMatch[];
  /** Set on an EDS cluster whose endpoints come from a service registry (`metadata.filter_metadata.xmesh.registry`). */
  readonly registry?: ClusterRegistry;
  /** `health_checks`: the active health check and the cluster fields that go with it; absent = none. */
  readonly healthCheck?: HealthCheckConfig;
}

/**
 * Where a registry-backed cluster's endpoints come from. Envoy sees an ordinary EDS cluster (a control
 * plane reading the same registry serves its endpoints); xmesh in embedded mode reads the registry itself.
 */
export interface ClusterRegistry {
  /** etcd (`registry.etcd_cluster`) or the SOFARPC registry in ZooKeeper (`registry.zookeeper_cluster`). */
  readonly kind: 'etcd' | 'zookeeper';
  /** The service's name in the registry (ZooKeeper: the interface): `eds_cluster_config.service_name`, else the cluster name. */
  readonly service: string;
  /** The cluster (STATIC or DNS, in the same config) that lists the registry's members. */
  readonly cluster: string;
  /** `host:port` of each member, from that cluster's endpoints. */
  readonly endpoints: readonly string[];
  /** etcd: the key prefix services are kept under (default `/xmesh/services/`); ZooKeeper: the root (default `/sofa-rpc`). */
  readonly prefix: string;
  /** ZooKeeper only: the provider filters and session timeout. */
  readonly zookeeper?: ZooKeeperRegistryConfig;
}
