/**
 * xmesh embedded mode for the benchmark: the Envoy bootstrap it runs on, and a loader for
 * `@xmesh/client` that lets the other scenarios run when the client package cannot load.
 */
import type * as Client from '@xmesh/client';

/** The logical target the embedded scenarios call. */
export const EMBEDDED_TARGET = 'echo.bench.svc:50051';

export type CreateMesh = typeof Client.createMesh;

/** `createMesh` from `@xmesh/client`, or undefined when that package cannot be loaded. */
export async function loadCreateMesh(): Promise<CreateMesh | undefined> {
  // A computed specifier: the other scenarios still run when the client package is broken.
  const specifier: string = '@xmesh/client';
  try {
    const mod = (await import(specifier)) as Partial<typeof Client>;
    return typeof mod.createMesh === 'function' ? mod.createMesh : undefined;
  } catch {
    return undefined;
  }
}

const LOCAL_RATELIMIT = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';

/** The HTTP filters of every bench mesh: a local rate limit of 10^9 tokens per second (enabled, enforced, never trips), then the router. */
export const BENCH_HTTP_FILTERS: readonly object[] = [
  {
    name: 'envoy.filters.http.local_ratelimit',
    typed_config: {
      '@type': LOCAL_RATELIMIT,
      stat_prefix: 'bench_rl',
      token_bucket: { max_tokens: 1_000_000_000, tokens_per_fill: 1_000_000_000, fill_interval: '1s' },
      filter_enabled: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
      filter_enforced: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
    },
  },
  { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
];

/** gRPC transport an embedded scenario pins on its cluster (`metadata.filter_metadata.xmesh.transport`). */
export type BenchGrpcTransport = 'grpc-js' | 'lean';

/**
 * A bootstrap routing `echo.bench.svc` to one STATIC, ROUND_ROBIN, HTTP/2 cluster over `ports`, with
 * the policies a production mesh runs on every call, none of which trips on a healthy echo server:
 * a retry policy (`unavailable,reset,connect-failure`, 2 retries), circuit-breaker thresholds
 * (10000 requests / pending / 3 retries), outlier detection (5 consecutive 5xx, 10 s interval)
 * and a local rate limit of 10^9 tokens per second, enabled and enforced on every call.
 * `transport` pins the cluster's gRPC transport (`metadata.filter_metadata.xmesh.transport`); unset,
 * the cluster carries no pin and the mesh's default gRPC transport serves it. `tls` adds an UpstreamTlsContext
 * (mutual TLS, the server's SPIFFE id checked).
 */
/** Client certificate, key and trusted CA files of the `embedded-tls` scenario. */
export interface EmbeddedTls {
  readonly clientCert: string;
  readonly clientKey: string;
  readonly ca: string;
  /** The server's SPIFFE id, checked as a URI SAN. */
  readonly serverId: string;
}

/** The `embedded-mirror` scenario's shadow: a second cluster on `port` receiving `percent` % of the calls as mirrored copies. */
export interface EmbeddedMirror {
  readonly port: number;
  readonly percent: number;
}

/** The cluster mirrored calls go to (`request_mirror_policies[0].cluster`). */
export const SHADOW_CLUSTER = 'echo-shadow';

export function embeddedBootstrap(ports: readonly number[], transport?: BenchGrpcTransport, tls?: EmbeddedTls, mirror?: EmbeddedMirror): Record<string, unknown> {
  const mirrorPolicies = mirror === undefined
    ? {}
    : { request_mirror_policies: [{ cluster: SHADOW_CLUSTER, runtime_fraction: { default_value: { numerator: mirror.percent, denominator: 'HUNDRED' } } }] };
  const shadowClusters = mirror === undefined ? [] : [staticCluster(SHADOW_CLUSTER, [mirror.port])];
  return {
    static_resources: {
      listeners: [
        {
          name: 'outbound',
          address: { socket_address: { address: '127.0.0.1', port_value: 15001 } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'outbound',
                    route_config: {
                      name: 'bench',
                      virtual_hosts: [
                        {
                          name: 'echo',
                          domains: ['echo.bench.svc', EMBEDDED_TARGET],
                          routes: [
                            {
                              match: { prefix: '/' },
                              route: {
                                cluster: 'echo',
                                retry_policy: { retry_on: 'unavailable,reset,connect-failure', num_retries: 2, retry_back_off: { base_interval: '0.025s' } },
                                ...mirrorPolicies,
                              },
                            },
                          ],
                        },
                      ],
                    },
                    http_filters: BENCH_HTTP_FILTERS,
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [
        {
          name: 'echo',
          type: 'STATIC',
          connect_timeout: '1s',
          lb_policy: 'ROUND_ROBIN',
          http2_protocol_options: {},
          ...(transport === undefined ? {} : { metadata: { filter_metadata: { xmesh: { transport } } } }),
          ...(tls === undefined ? {} : { transport_socket: upstreamTls(tls) }),
          circuit_breakers: { thresholds: [{ priority: 'DEFAULT', max_connections: 10000, max_pending_requests: 10000, max_requests: 10000, max_retries: 3 }] },
          outlier_detection: { consecutive_5xx: 5, interval: '10s', base_ejection_time: '30s', max_ejection_percent: 10 },
          load_assignment: {
            cluster_name: 'echo',
            endpoints: [
              { lb_endpoints: ports.map((port) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } })) },
            ],
          },
        },
        ...shadowClusters,
      ],
    },
  };
}

/** A plain STATIC, ROUND_ROBIN, HTTP/2 cluster over `ports` on 127.0.0.1, without policies. */
function staticCluster(name: string, ports: readonly number[]): Record<string, unknown> {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    lb_policy: 'ROUND_ROBIN',
    http2_protocol_options: {},
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: ports.map((port) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } })) }],
    },
  };
}

/** An UpstreamTlsContext: mTLS with the given certificate, the server checked against the CA and its SPIFFE id. */
function upstreamTls(tls: EmbeddedTls): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      common_tls_context: {
        tls_certificates: [{ certificate_chain: { filename: tls.clientCert }, private_key: { filename: tls.clientKey } }],
        validation_context: {
          trusted_ca: { filename: tls.ca },
          match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: tls.serverId } }],
        },
      },
    },
  };
}
