/**
 * Envoy v3 bootstrap objects for tests, in proto3 JSON shape (what a YAML file parses to).
 */
export interface RouteSpec {
  /** Path prefix; default "/". */
  readonly prefix?: string;
  /** Exact header matches: name → value. */
  readonly headers?: Record<string, string>;
  /** One cluster, or weighted clusters. */
  readonly cluster?: string;
  readonly weighted?: Record<string, number>;
}

/** A route as Envoy's RouteConfiguration has it (`match` and an action), used as it is. */
export interface RawRoute {
  readonly match: object;
  readonly [field: string]: unknown;
}

export interface BootstrapSpec {
  /** Virtual host domains; default ["*"]. */
  readonly domains?: readonly string[];
  readonly routes: readonly (RouteSpec | RawRoute)[];
  /** Cluster name → endpoint addresses `host:port`. */
  readonly clusters: Record<string, readonly string[]>;
  /** Clusters whose upstream speaks HTTP/2. */
  readonly http2?: readonly string[];
  /** Extra HttpConnectionManager fields (e.g. `tracing`, `generate_request_id`). */
  readonly hcm?: Record<string, unknown>;
}

export function bootstrap(spec: BootstrapSpec): object {
  return {
    static_resources: {
      listeners: [{
        name: 'mesh',
        address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
        filter_chains: [{
          filters: [{
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: 'mesh',
              route_config: {
                name: 'mesh',
                virtual_hosts: [{ name: 'all', domains: spec.domains ?? ['*'], routes: spec.routes.map((r) => ('match' in r ? r : routeOf(r))) }],
              },
              http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
              ...spec.hcm,
            },
          }],
        }],
      }],
      clusters: Object.entries(spec.clusters).map(([name, addresses]) => ({
        name,
        type: 'STATIC',
        connect_timeout: '1s',
        ...(spec.http2?.includes(name) ? { http2_protocol_options: {} } : {}),
        load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: lbEndpoints(addresses) }] },
      })),
    },
  };
}

/** `lb_endpoints` for `host:port` addresses. */
export function lbEndpoints(addresses: readonly string[]): object[] {
  return addresses.map((a) => {
    const i = a.lastIndexOf(':');
    return { endpoint: { address: { socket_address: { address: a.slice(0, i), port_value: Number(a.slice(i + 1)) } } } };
  });
}

function routeOf(r: RouteSpec): object {
  const match: Record<string, unknown> = { prefix: r.prefix ?? '/' };
  if (r.headers) match.headers = Object.entries(r.headers).map(([name, exact]) => ({ name, string_match: { exact } }));
  const route = r.weighted
    ? { weighted_clusters: { clusters: Object.entries(r.weighted).map(([name, weight]) => ({ name, weight })) } }
    : { cluster: r.cluster };
  return { match, route };
}
