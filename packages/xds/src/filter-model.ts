/**
 * The resolved model of the HTTP filters that allow, deny or answer requests (rbac, ext_authz, cors,
 * buffer, compressor), of the routes that answer themselves (direct_response, redirect), of protocol
 * upgrades, and of the tcp_proxy network filter. Same conventions as model.ts: Envoy's defaults
 * applied, durations in ms, deep-frozen.
 */
import type { CidrRange, Fraction, HeaderMatcher, ListenerConfig, RegexRewrite, StringMatch } from './model.js';
import type { DataSource, DownstreamTlsConfig } from './tls-model.js';

// ---------------------------------------------------------------- rbac

/** `envoy.extensions.filters.http.rbac.v3.RBAC` (and the `rbac` of an RBACPerRoute). */
export interface RbacConfig {
  /** Enforced rules (`rules`, or a `matcher`); undefined = nothing enforced (every request allowed). */
  readonly rules: RbacRules | RbacMatcher | undefined;
  /** Rules only counted (`shadow_allowed` / `shadow_denied`), never enforced (`shadow_rules` or `shadow_matcher`). */
  readonly shadowRules: RbacRules | RbacMatcher | undefined;
  /** `rules_stat_prefix`: inserted before `allowed` / `denied` (`http.<hcm>.rbac.<prefix>allowed`). */
  readonly rulesStatPrefix: string;
  /** `shadow_rules_stat_prefix`: inserted before `shadow_allowed` / `shadow_denied`. */
  readonly shadowRulesStatPrefix: string;
}

/**
 * An RBAC `matcher` / `shadow_matcher` (the Unified Matcher API, `xds.type.matcher.v3.Matcher`) whose actions are
 * `config.rbac.v3.Action`s: the action reached decides (ALLOW and LOG allow, DENY denies); none reached denies.
 */
export interface RbacMatcher {
  /** `matcher_list`: the first field matcher whose predicate holds and whose `on_match` reaches an action. */
  readonly list: readonly RbacFieldMatcher[] | undefined;
  /** `matcher_tree`: the input's value looked up in a map (exact or longest prefix) or an IP range trie. */
  readonly tree: RbacMatcherTree | undefined;
  readonly onNoMatch: RbacOnMatch | undefined;
}

export interface RbacFieldMatcher {
  readonly predicate: RbacPredicate;
  readonly onMatch: RbacOnMatch;
}

export type RbacOnMatch =
  | { readonly kind: 'action'; readonly name: string; readonly action: 'ALLOW' | 'DENY' | 'LOG' }
  | { readonly kind: 'matcher'; readonly matcher: RbacMatcher };

export type RbacPredicate =
  /** The input's value (a request with none never matches) against a string matcher, or an IP range list. */
  | { readonly kind: 'single'; readonly input: MatchInput; readonly match: StringMatch }
  | { readonly kind: 'and' | 'or'; readonly predicates: readonly RbacPredicate[] }
  | { readonly kind: 'not'; readonly predicate: RbacPredicate };

export type RbacMatcherTree =
  | { readonly kind: 'exact' | 'prefix'; readonly input: MatchInput; readonly map: ReadonlyMap<string, RbacOnMatch> }
  /** `xds.type.matcher.v3.IPMatcher`: the ranges holding the address, most specific first. */
  | { readonly kind: 'ip'; readonly input: MatchInput; readonly ranges: readonly { readonly ranges: readonly CidrRange[]; readonly onMatch: RbacOnMatch; readonly exclusive: boolean }[] };

/**
 * What a matcher reads: a request header (its values joined with ","), or the downstream connection as Envoy's
 * network and TLS inputs read it (`source_ip` is the address the connection manager derives, X-Forwarded-For
 * included; `direct_source_ip` the connection's peer).
 */
export type MatchInput =
  | { readonly kind: 'request_header'; readonly name: string }
  | { readonly kind: 'destination_ip' | 'destination_port' | 'source_ip' | 'source_port' | 'direct_source_ip' | 'source_type' | 'server_name' | 'uri_san' | 'dns_san' | 'subject' };

/** `config.rbac.v3.RBAC`: allowed when a policy matches (ALLOW), when none does (DENY); LOG always allows. */
export interface RbacRules {
  readonly action: 'ALLOW' | 'DENY' | 'LOG';
  /** In name order (Envoy keeps them in a sorted map); empty with ALLOW denies everything. */
  readonly policies: readonly RbacPolicy[];
}

/** A policy matches when any permission and any principal match. */
export interface RbacPolicy {
  readonly name: string;
  readonly permissions: readonly RbacPermission[];
  readonly principals: readonly RbacPrincipal[];
}

export type RbacPermission =
  | { readonly kind: 'any' }
  | { readonly kind: 'and' | 'or'; readonly rules: readonly RbacPermission[] }
  | { readonly kind: 'not'; readonly rule: RbacPermission }
  | { readonly kind: 'header'; readonly header: HeaderMatcher }
  /** `url_path`: the path without query and fragment. */
  | { readonly kind: 'url_path'; readonly path: StringMatch }
  /** The address the downstream connection was made to. */
  | { readonly kind: 'destination_ip'; readonly range: CidrRange }
  | { readonly kind: 'destination_port'; readonly port: number }
  /** [start, end). */
  | { readonly kind: 'destination_port_range'; readonly start: number; readonly end: number }
  /** The TLS SNI of the downstream connection ('' without TLS or SNI). */
  | { readonly kind: 'requested_server_name'; readonly match: StringMatch };

export type RbacPrincipal =
  | { readonly kind: 'any' }
  | { readonly kind: 'and' | 'or'; readonly ids: readonly RbacPrincipal[] }
  | { readonly kind: 'not'; readonly id: RbacPrincipal }
  /** A TLS connection; with `principalName`, one of its peer certificate's URI SANs, DNS SANs, or its subject matches. */
  | { readonly kind: 'authenticated'; readonly principalName: StringMatch | undefined }
  /** The connection's peer (`direct_remote_ip`, and the deprecated `source_ip`: xmesh has no PROXY protocol). */
  | { readonly kind: 'direct_remote_ip'; readonly range: CidrRange }
  /** The downstream address after the HCM's X-Forwarded-For rules. */
  | { readonly kind: 'remote_ip'; readonly range: CidrRange }
  | { readonly kind: 'header'; readonly header: HeaderMatcher }
  | { readonly kind: 'url_path'; readonly path: StringMatch };

// ---------------------------------------------------------------- ext_authz

/** `envoy.extensions.filters.http.ext_authz.v3.ExtAuthz`. */
export interface ExtAuthzConfig {
  readonly service: ExtAuthzGrpcService | ExtAuthzHttpService;
  /** Allow the request when the authorization server cannot be asked (or answers 5xx). Default false. */
  readonly failureModeAllow: boolean;
  /** With failureModeAllow: such requests carry `x-envoy-auth-failure-mode-allowed: true` upstream. */
  readonly failureModeAllowHeaderAdd: boolean;
  /** `with_request_body`; undefined = the body is not sent. */
  readonly withRequestBody: ExtAuthzBufferSettings | undefined;
  /** `status_on_error` (default 403): the status when the server cannot be asked and failure mode does not allow. */
  readonly statusOnError: number;
  /** `filter_enabled.default_value`; undefined = every request is checked. */
  readonly filterEnabled: Fraction | undefined;
  /** `deny_at_disable.default_value`: requests the filter_enabled fraction leaves out are denied (statusOnError). */
  readonly denyAtDisable: boolean;
  /**
   * `allowed_headers` (gRPC service) / `authorization_request.allowed_headers` (HTTP service): the request
   * headers sent to the server; undefined = all of them (gRPC) or only Envoy's defaults (HTTP).
   */
  readonly allowedHeaders: readonly StringMatch[] | undefined;
  /** `disallowed_headers`: never sent, even when allowed. */
  readonly disallowedHeaders: readonly StringMatch[];
  /** `include_peer_certificate`: the downstream peer's certificate (URL-encoded PEM) in `source.certificate`. */
  readonly includePeerCertificate: boolean;
  /** `stat_prefix`: the filter's stats are `http.<hcm>.ext_authz.<stat_prefix>.*`. */
  readonly statPrefix: string;
  /** `validate_mutations`: an OK response with an invalid header answers 500. */
  readonly validateMutations: boolean;
}

export interface ExtAuthzBufferSettings {
  /** > 0: a larger body answers 413 (unless allowPartialMessage). */
  readonly maxRequestBytes: number;
  /** Send the first maxRequestBytes instead of answering 413. */
  readonly allowPartialMessage: boolean;
  /** gRPC service: the body goes in `raw_body` (bytes) instead of `body` (UTF-8 text). */
  readonly packAsBytes: boolean;
}

/** `grpc_service.envoy_grpc`: `envoy.service.auth.v3.Authorization/Check` on a cluster. */
export interface ExtAuthzGrpcService {
  readonly kind: 'grpc';
  readonly cluster: string;
  /** `envoy_grpc.authority`; default the cluster name (Envoy's). */
  readonly authority: string;
  /** `grpc_service.timeout`; default 200. */
  readonly timeoutMs: number;
  /** `grpc_service.initial_metadata`. */
  readonly initialMetadata: readonly { readonly key: string; readonly value: string }[];
}

/** `http_service`: the request's method and path (with `path_prefix`) sent to a cluster; 200 allows. */
export interface ExtAuthzHttpService {
  readonly kind: 'http';
  /** `server_uri.cluster`. */
  readonly cluster: string;
  /** `server_uri.timeout` (required by Envoy). */
  readonly timeoutMs: number;
  readonly pathPrefix: string;
  /** `authorization_request.headers_to_add`: set on the check request. */
  readonly headersToAdd: readonly { readonly key: string; readonly value: string }[];
  /** `authorization_response.allowed_upstream_headers`: set on the upstream request on OK. */
  readonly allowedUpstreamHeaders: readonly StringMatch[];
  /** `authorization_response.allowed_upstream_headers_to_append`: appended to the upstream request on OK. */
  readonly allowedUpstreamHeadersToAppend: readonly StringMatch[];
  /** `authorization_response.allowed_client_headers`: on the denied reply; undefined = all but Host. */
  readonly allowedClientHeaders: readonly StringMatch[] | undefined;
  /** `authorization_response.allowed_client_headers_on_success`: added to the response on OK. */
  readonly allowedClientHeadersOnSuccess: readonly StringMatch[];
}

/** `ExtAuthzPerRoute`. */
export type ExtAuthzPerRoute =
  | { readonly kind: 'disabled' }
  | {
      readonly kind: 'check_settings';
      /** Merged over every level (virtual host, route, weighted cluster), the more specific key winning. */
      readonly contextExtensions: Readonly<Record<string, string>>;
      readonly disableRequestBodyBuffering: boolean;
      /** Replaces the filter's `with_request_body` on this route. */
      readonly withRequestBody: ExtAuthzBufferSettings | undefined;
    };

// ---------------------------------------------------------------- cors

/**
 * `envoy.extensions.filters.http.health_check.v3.HealthCheck`: a request matching every one of `headers` is a
 * health check; it is answered by the proxy (200, or 503 once the server fails its health checks) unless
 * `passThroughMode`, where it goes upstream (still answered 503 by a server failing its health checks).
 */
export interface HealthCheckFilterConfig {
  readonly passThroughMode: boolean;
  readonly headers: readonly HeaderMatcher[];
  /**
   * `cluster_min_healthy_percentages`: a health check answered here is 503 when one of these clusters is missing,
   * empty (unless its minimum is 0), or has fewer than this percentage of its hosts healthy or degraded.
   */
  readonly clusterMinHealthyPercentages: ReadonlyMap<string, number>;
}

/**
 * `envoy.extensions.filters.http.csrf.v3.CsrfPolicy`: mutating requests (POST, PUT, DELETE, PATCH) must come from
 * their destination's origin or one of `additionalOrigins`.
 */
export interface CsrfPolicy {
  /** `filter_enabled.default_value`: the share of requests the policy is enforced on. */
  readonly filterEnabled: Fraction;
  /** `shadow_enabled.default_value`: the share evaluated (and counted) without being enforced; undefined = none. */
  readonly shadowEnabled: Fraction | undefined;
  /** `additional_origins`: source origins (`host[:port]`) accepted besides the destination's. */
  readonly additionalOrigins: readonly StringMatch[];
}

/**
 * A CORS policy (`envoy.extensions.filters.http.cors.v3.CorsPolicy` per filter config, or the route's and
 * virtual host's `cors`). Unset fields are undefined: the filter takes each from the most specific policy
 * that sets it, as Envoy.
 */
export interface CorsPolicy {
  readonly allowOriginStringMatch: readonly StringMatch[];
  readonly allowMethods: string;
  readonly allowHeaders: string;
  readonly exposeHeaders: string;
  readonly maxAge: string;
  readonly allowCredentials: boolean | undefined;
  /** `filter_enabled.default_value`; undefined = 100 %. */
  readonly filterEnabled: Fraction | undefined;
  /** `shadow_enabled.default_value`; undefined = 0 %. */
  readonly shadowEnabled: Fraction | undefined;
  readonly allowPrivateNetworkAccess: boolean | undefined;
  /** Default true: a preflight from an origin not allowed goes upstream. */
  readonly forwardNotMatchingPreflights: boolean | undefined;
}

// ---------------------------------------------------------------- buffer, compressor

/** `envoy.extensions.filters.http.buffer.v3.Buffer`: a request body larger than this answers 413. */
export interface BufferConfig {
  readonly maxRequestBytes: number;
}

/** The `compressor_library` of a compressor filter: the Content-Encoding it produces and its zlib options. */
export type CompressorLibrary =
  | {
      readonly encoding: 'gzip';
      /** zlib level 1..9 (`compression_level`; DEFAULT_COMPRESSION is zlib's 6). */
      readonly level: number;
      /** 9..15, default 12. */
      readonly windowBits: number;
      /** 1..9, default 5. */
      readonly memoryLevel: number;
      readonly strategy: 'DEFAULT_STRATEGY' | 'FILTERED' | 'HUFFMAN_ONLY' | 'RLE' | 'FIXED';
      readonly chunkSize: number;
    }
  | {
      readonly encoding: 'br';
      /** 0..11, default 3. */
      readonly quality: number;
      /** 10..24, default 18. */
      readonly windowBits: number;
      /** 16..24, default 24. */
      readonly inputBlockBits: number;
      readonly encoderMode: 'DEFAULT' | 'GENERIC' | 'TEXT' | 'FONT';
      readonly disableLiteralContextModeling: boolean;
      readonly chunkSize: number;
    }
  | {
      readonly encoding: 'zstd';
      /** Default 3 (zstd's default level). */
      readonly level: number;
      readonly enableChecksum: boolean;
      /** zstd strategy number (0 = the level's default). */
      readonly strategy: number;
      readonly chunkSize: number;
    };

/** `envoy.extensions.filters.http.compressor.v3.Compressor` (response direction; request compression is refused). */
export interface CompressorConfig {
  readonly library: CompressorLibrary;
  /** The stats scope under the listener's: `compressor.<library name>.<gzip|brotli|zstd>`. */
  readonly statsScope: string;
  /** `response_direction_config.common_config.enabled.default_value` (default true). */
  readonly responseEnabled: boolean;
  /** Default 30. */
  readonly minContentLength: number;
  /** Lower-case media types; default Envoy's list. */
  readonly contentTypes: ReadonlySet<string>;
  /** `disable_on_etag_header`: a response with an ETag is not compressed (unless `weakenEtagOnCompress`). */
  readonly disableOnEtagHeader: boolean;
  /**
   * `weaken_etag_on_compress`: a compressed response's strong ETag becomes weak (`W/`) instead of being
   * removed, and an ETag no longer keeps the response from being compressed.
   */
  readonly weakenEtagOnCompress: boolean;
  readonly removeAcceptEncodingHeader: boolean;
  /** `response_direction_config.uncompressible_response_codes`. */
  readonly uncompressibleResponseCodes: ReadonlySet<number>;
  /** `choose_first`: this compressor is preferred for `*`. */
  readonly chooseFirst: boolean;
}

/** The `decompressor_library` of a decompressor filter: the Content-Encoding it removes and its bounds. */
export interface DecompressorLibrary {
  readonly encoding: 'gzip' | 'br' | 'zstd';
  /** gzip `window_bits` (9..15, default 15); undefined for the others. */
  readonly windowBits: number | undefined;
  readonly chunkSize: number;
  /**
   * Output bytes allowed per input byte (gzip `max_inflate_ratio`, default 100, at most 1032); brotli and
   * zstd have no such field and are bounded by the same default (a decompression bomb ends the stream).
   */
  readonly maxInflateRatio: number;
}

/** `envoy.extensions.filters.http.decompressor.v3.Decompressor`. */
export interface DecompressorConfig {
  readonly library: DecompressorLibrary;
  /** The stats scope under the listener's: `decompressor.<library name>.<gzip|brotli|zstd>`. */
  readonly statsScope: string;
  readonly requestEnabled: boolean;
  readonly requestIgnoreNoTransform: boolean;
  /** `request_direction_config.advertise_accept_encoding` (default true; only with the response direction enabled). */
  readonly advertiseAcceptEncoding: boolean;
  readonly responseEnabled: boolean;
  readonly responseIgnoreNoTransform: boolean;
}

/** `CompressorPerRoute`: `disabled`, or `overrides.response_direction_config` (`remove_accept_encoding_header` replacing the filter's when set). */
export type CompressorPerRoute = { readonly kind: 'disabled' } | { readonly kind: 'overrides'; readonly removeAcceptEncodingHeader: boolean | undefined };

// ---------------------------------------------------------------- routes that answer themselves

/** A route whose answer is the route's own: `direct_response` or `redirect`. */
export type LocalRouteAction = DirectResponseAction | RedirectAction;

export interface DirectResponseAction {
  readonly kind: 'direct_response';
  /** 200..599. */
  readonly status: number;
  /** The body's DataSource (a file or variable is read when the config applies); undefined = no body. */
  readonly body: DataSource | undefined;
  /** The route configuration's `max_direct_response_body_size_bytes` (default 4096): a longer body refuses the config. */
  readonly maxBodyBytes: number;
}

export interface RedirectAction {
  readonly kind: 'redirect';
  /** 301 (default), 302, 303, 307 or 308. */
  readonly status: number;
  /** `scheme_redirect`, or `https` for `https_redirect`; '' keeps the request's. */
  readonly scheme: string;
  /** `host_redirect`; '' keeps the request's. */
  readonly host: string;
  /** `port_redirect` (0 = keep). */
  readonly port: number;
  /** `path_redirect`; '' = none. */
  readonly path: string;
  /** `prefix_rewrite`: replaces the matched prefix; undefined = none. */
  readonly prefixRewrite: string | undefined;
  /** `regex_rewrite` of the path (query excluded). */
  readonly regexRewrite: RegexRewrite | undefined;
  readonly stripQuery: boolean;
}

// ---------------------------------------------------------------- upgrades

/** HCM `upgrade_configs[]`: the upgrade types the listener allows (lower-case; `connect` for CONNECT). */
export interface UpgradeConfig {
  readonly upgradeType: string;
  /** Default true. */
  readonly enabled: boolean;
}

/** RouteAction `upgrade_configs[]`: per route, turns an upgrade type on or off. */
export interface RouteUpgradeConfig {
  readonly upgradeType: string;
  readonly enabled: boolean;
  /** `connect_config` (CONNECT only): the route terminates CONNECT requests into a TCP connection to its cluster. */
  readonly terminateConnect?: true;
}

// ---------------------------------------------------------------- filter chains

/**
 * `FilterChainMatch`, normalized: lists lower-cased where Envoy compares without case, unset = empty. A
 * connection takes the chain Envoy's filter chain manager picks (see selectFilterChain).
 */
export interface FilterChainMatchConfig {
  /** `destination_port`; undefined = any. */
  readonly destinationPort: number | undefined;
  readonly prefixRanges: readonly CidrRange[];
  /** Lower-case; `*.example.com` wildcards as written. */
  readonly serverNames: readonly string[];
  readonly transportProtocol: '' | 'tls' | 'raw_buffer';
  readonly applicationProtocols: readonly string[];
  readonly directSourcePrefixRanges: readonly CidrRange[];
  readonly sourceType: 'ANY' | 'SAME_IP_OR_LOOPBACK' | 'EXTERNAL';
  readonly sourcePrefixRanges: readonly CidrRange[];
  readonly sourcePorts: readonly number[];
}

/** One filter chain of a listener, as a proxy serving the listener's connections uses it. */
export interface ListenerFilterChain {
  /** Unique within the listener: the chain's `name`, else `filter_chains[<i>]` or `default_filter_chain`. */
  readonly name: string;
  readonly isDefault: boolean;
  readonly match: FilterChainMatchConfig;
  /** The DownstreamTlsContext of its `transport_socket`; undefined = the connection's bytes as they come. */
  readonly tls: DownstreamTlsConfig | undefined;
  /** `transport_socket_connect_timeout` (default 15 s): a TLS handshake not done by then is closed. */
  readonly handshakeTimeoutMs: number;
  /**
   * What serves the connection: an HttpConnectionManager (its routes and HTTP filters, as the ListenerConfig the
   * requests on this chain are routed with) or tcp_proxy.
   */
  readonly network: { readonly kind: 'http'; readonly listener: ListenerConfig } | { readonly kind: 'tcp_proxy'; readonly tcpProxy: TcpProxyConfig };
}

/** What is known of a new connection when its filter chain is chosen. */
export interface ConnectionFacts {
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The TLS ClientHello's SNI, lower-case; '' without. */
  readonly serverName: string;
  readonly transportProtocol: 'tls' | 'raw_buffer';
  /** The ClientHello's ALPN (in its order); for plaintext, what the HTTP inspector detected, if the listener has one. */
  readonly applicationProtocols: readonly string[];
}

// ---------------------------------------------------------------- tcp_proxy

/** `envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`. */
export interface TcpProxyConfig {
  readonly statPrefix: string;
  /** One entry (weight 1) for `cluster`, the entries of `weighted_clusters` otherwise. */
  readonly clusters: readonly { readonly name: string; readonly weight: number }[];
  /** `idle_timeout`; default 3 600 000 (1 h); 0 = none. */
  readonly idleTimeoutMs: number;
  /** `max_connect_attempts`; default 1. */
  readonly maxConnectAttempts: number;
  /** `max_downstream_connection_duration`; 0 = none. */
  readonly maxDownstreamConnectionDurationMs: number;
  /** `tunneling_config`: the bytes go in an HTTP CONNECT (or POST) request to the upstream; undefined = raw TCP. */
  readonly tunneling?: TcpTunnelingConfig;
}

/** tcp_proxy's `TunnelingConfig`: the tunnel is a CONNECT request, or a POST one (`use_post`). */
export interface TcpTunnelingConfig {
  /** `hostname`: the tunnel request's authority (`host:port`). */
  readonly hostname: string;
  /** `headers_to_add`: fixed request headers (lower-case names), in order. */
  readonly headers: readonly (readonly [name: string, value: string])[];
  /** `use_post`: the tunnel is a POST request to `path` (`post_path`, default `/`); undefined = CONNECT. */
  readonly post?: { readonly path: string };
}
