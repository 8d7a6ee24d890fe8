/**
 * Envoy v3 resources (proto3 JSON) for the echo service as a gRPC xDS client needs them: an
 * `api_listener` with an HttpConnectionManager (router filter, RDS), a route configuration with a
 * header route to a canary cluster and a weighted split, EDS clusters, and localities with weights.
 */
import { TypeUrl } from '@xmesh/xds';

export const ECHO_LISTENER = 'echo.default.svc';
export const ECHO_ROUTES = 'echo-routes';

export interface EchoResourcesSpec {
  /** Cluster name → endpoint ports on 127.0.0.1. */
  readonly endpoints: Readonly<Record<string, readonly number[]>>;
  /** Weighted split of the default route: cluster → weight. */
  readonly split: Readonly<Record<string, number>>;
  /** Requests with `x-canary: true` go to this cluster. */
  readonly canary?: string;
}

export function echoListener(routeName = ECHO_ROUTES): Record<string, unknown> {
  return {
    '@type': TypeUrl.Listener,
    name: ECHO_LISTENER,
    api_listener: {
      api_listener: {
        '@type': TypeUrl.HttpConnectionManager,
        stat_prefix: 'echo',
        rds: { route_config_name: routeName, config_source: { ads: {}, resource_api_version: 'V3' } },
        http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }],
      },
    },
  };
}

export function echoRoutes(spec: Pick<EchoResourcesSpec, 'split' | 'canary'>, name = ECHO_ROUTES): Record<string, unknown> {
  const routes: unknown[] = [];
  if (spec.canary) {
    routes.push({
      name: 'canary',
      match: { prefix: '', headers: [{ name: 'x-canary', string_match: { exact: 'true' } }] },
      route: { cluster: spec.canary },
    });
  }
  const split = Object.entries(spec.split);
  routes.push({
    name: 'default',
    match: { prefix: '' },
    route: split.length === 1
      ? { cluster: split[0]![0] }
      : { weighted_clusters: { clusters: split.map(([cluster, weight]) => ({ name: cluster, weight })) } },
  });
  return { '@type': TypeUrl.RouteConfiguration, name, virtual_hosts: [{ name: 'echo', domains: ['*'], routes }] };
}

export function edsCluster(name: string): Record<string, unknown> {
  return {
    '@type': TypeUrl.Cluster,
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
    lb_policy: 'ROUND_ROBIN',
  };
}

export function loadAssignment(cluster: string, ports: readonly number[]): Record<string, unknown> {
  return {
    '@type': TypeUrl.ClusterLoadAssignment,
    cluster_name: cluster,
    endpoints: [{
      locality: { region: 'local', zone: 'a' },
      load_balancing_weight: 1,
      lb_endpoints: ports.map((port) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } })),
    }],
  };
}

/** The whole set: listener, route config, one EDS cluster and its endpoints per entry of `endpoints`. */
export function echoResources(spec: EchoResourcesSpec): Record<string, unknown>[] {
  const clusters = Object.keys(spec.endpoints);
  return [
    echoListener(),
    echoRoutes(spec),
    ...clusters.map(edsCluster),
    ...clusters.map((c) => loadAssignment(c, spec.endpoints[c]!)),
  ];
}
