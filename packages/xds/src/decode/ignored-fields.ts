/**
 * Envoy fields that xmesh accepts and knowingly does not act on, with the reason. This is the single list the
 * Cluster and ClusterLoadAssignment decoders ignore from, and the list the docs print. A field absent from it and
 * not decoded is reported as unsupported.
 */
import type { Reader } from './reader.js';

export interface IgnoredField {
  /** Fully qualified proto message the field belongs to. */
  readonly message: string;
  /** Field name, snake_case as in the proto. */
  readonly field: string;
  readonly reason: string;
}

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const COMMON_LB = 'envoy.config.cluster.v3.Cluster.CommonLbConfig';
const CIRCUIT_BREAKERS = 'envoy.config.cluster.v3.CircuitBreakers';
const THRESHOLDS = 'envoy.config.cluster.v3.CircuitBreakers.Thresholds';
const EDS_CONFIG = 'envoy.config.cluster.v3.Cluster.EdsClusterConfig';
const METADATA = 'envoy.config.core.v3.Metadata';
const RUNTIME_DOUBLE = 'envoy.config.core.v3.RuntimeDouble';
const HTTP_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const LOCALITY_ENDPOINTS = 'envoy.config.endpoint.v3.LocalityLbEndpoints';
const ENDPOINT = 'envoy.config.endpoint.v3.Endpoint';
const SOCKET_ADDRESS = 'envoy.config.core.v3.SocketAddress';

const AUTO_SNI = 'auto_sni / auto_san_validation only act on TLS connections; on a TLS cluster, setting either is refused';
const HTTP_TUNING = 'protocol tuning is left to the transport (grpc-js or node:http2) defaults';

export const IGNORED_FIELDS: readonly IgnoredField[] = [
  { message: CLUSTER, field: 'per_connection_buffer_limit_bytes', reason: 'buffering is bounded by the transport, not per connection' },
  { message: CLUSTER, field: 'upstream_connection_options', reason: 'TCP keepalive and happy-eyeballs tuning are left to Node defaults' },
  { message: CLUSTER, field: 'upstream_bind_config', reason: 'upstream connections bind to the default source address' },
  { message: CLUSTER, field: 'track_cluster_stats', reason: 'xmesh emits its own fixed set of cluster stats' },
  { message: CLUSTER, field: 'alt_stat_name', reason: 'stats are always named after the cluster' },
  { message: CLUSTER, field: 'lrs_server', reason: 'load reporting (LRS) is not implemented' },
  { message: CLUSTER, field: 'cleanup_interval', reason: 'applies to ORIGINAL_DST clusters, which are not supported' },
  { message: CLUSTER, field: 'dns_resolution_config', reason: 'DNS is resolved with the system resolver (node:dns); listing resolvers is refused' },
  { message: CLUSTER, field: 'typed_dns_resolver_config', reason: 'DNS is resolved with the system resolver (node:dns); listing resolvers is refused' },
  { message: CLUSTER, field: 'wait_for_warm_on_init', reason: 'a cluster is used as soon as its endpoints are known' },
  { message: CLUSTER, field: 'preconnect_policy', reason: 'connections are opened on demand' },
  { message: CLUSTER, field: 'protocol_selection', reason: 'the upstream protocol is chosen by http2 detection, never from the downstream' },
  { message: CLUSTER, field: 'common_http_protocol_options', reason: HTTP_TUNING },
  { message: CLUSTER, field: 'upstream_http_protocol_options', reason: AUTO_SNI },
  { message: CLUSTER, field: 'http_protocol_options', reason: 'HTTP/1 tuning; HTTP/1 is already the default upstream protocol' },
  { message: EDS_CONFIG, field: 'eds_config', reason: 'says where EDS comes from; the discovery source decides that' },
  { message: COMMON_LB, field: 'zone_aware_lb_config', reason: 'zone-aware routing needs the local zone\'s host set, which an in-process client lacks' },
  { message: COMMON_LB, field: 'update_merge_window', reason: 'host updates are applied at once; the snapshot swap is already atomic' },
  { message: COMMON_LB, field: 'consistent_hashing_lb_config', reason: 'at its defaults only: use_hostname_for_hashing and hash_balance_factor are refused (they move keys to other hosts)' },
  { message: CIRCUIT_BREAKERS, field: 'per_host_thresholds', reason: 'per-host connection limits are not implemented; each endpoint keeps one connection pool' },
  { message: THRESHOLDS, field: 'max_connection_pools', reason: 'xmesh keeps one connection pool per endpoint, so the pool count is bounded by the endpoints' },
  { message: METADATA, field: 'typed_filter_metadata', reason: 'only untyped filter_metadata is read' },
  { message: RUNTIME_DOUBLE, field: 'runtime_key', reason: 'there is no runtime layer; default_value always applies' },
  { message: 'envoy.extensions.compression.brotli.decompressor.v3.Brotli', field: 'disable_ring_buffer_reallocation', reason: "node:zlib's brotli decoder has no such switch; it trades memory for speed, never what is decoded" },
  { message: 'envoy.config.core.v3.RuntimeFeatureFlag', field: 'runtime_key', reason: 'there is no runtime layer; default_value always applies' },
  { message: HTTP_OPTIONS, field: 'common_http_protocol_options', reason: HTTP_TUNING },
  { message: HTTP_OPTIONS, field: 'upstream_http_protocol_options', reason: AUTO_SNI },
  { message: LOCALITY_ENDPOINTS, field: 'metadata', reason: 'locality metadata is not used for load balancing' },
  { message: LOCALITY_ENDPOINTS, field: 'proximity', reason: 'not implemented by Envoy either (not-implemented-hide)' },
  { message: SOCKET_ADDRESS, field: 'ipv4_compat', reason: 'applies to listening sockets only' },
];

/**
 * Fields whose presence is accepted but whose contents are not: the object is recorded as ignored as a whole.
 * Listed here so the docs print them too.
 */
export const IGNORED_CONTENTS: readonly IgnoredField[] = [
  { message: 'envoy.config.core.v3.Http2ProtocolOptions', field: '*', reason: `its presence selects HTTP/2; the tuning inside is ignored: ${HTTP_TUNING}` },
  { message: METADATA, field: 'filter_metadata (keys other than "xmesh", on a Cluster)', reason: 'metadata for other filters is not used by the cluster' },
];

/** Ignores, on `r`, every field listed for `message`. */
export function ignoreListed(r: Reader, message: string): void {
  for (const entry of IGNORED_FIELDS) if (entry.message === message) r.ignore(entry.field);
}

export const Messages = {
  CLUSTER,
  COMMON_LB,
  CIRCUIT_BREAKERS,
  THRESHOLDS,
  EDS_CONFIG,
  METADATA,
  RUNTIME_DOUBLE,
  HTTP_OPTIONS,
  LOCALITY_ENDPOINTS,
  ENDPOINT,
  SOCKET_ADDRESS,
} as const;
