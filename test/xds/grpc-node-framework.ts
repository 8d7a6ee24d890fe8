/**
 * Resources shaped as grpc-node's xDS test framework builds them (grpc/grpc-node,
 * packages/grpc-js-xds/test/framework.ts: FakeEdsCluster, FakeRouteGroup), field for field, written as
 * proto3 JSON with `@type` (the framework writes proto-loader objects: `{value: n}` wrappers are plain
 * numbers here). What makes them gRPC-client resources: listeners without `stat_prefix` or any HTTP
 * filter, virtual hosts and routes without names, the `io.grpc.channel_id` filter-state hash policy on
 * every route, `lrs_server: {self: {}}`, endpoints at `::1` with `health_status: HEALTHY`.
 */
import { TypeUrl } from '@xmesh/xds';

type Json = Record<string, unknown>;

export interface FrameworkLocality {
  readonly locality: { readonly region?: string; readonly zone?: string; readonly sub_zone?: string };
  /** Backend ports on ::1. */
  readonly ports: readonly number[];
  readonly weight?: number;
  readonly priority?: number;
}

/** FakeEdsCluster#getClusterConfig: an EDS cluster over ADS, round robin, LRS to the ADS server, max_requests 1000. */
export function frameworkCluster(clusterName: string, endpointName: string, lbPolicy: string = 'ROUND_ROBIN'): Json {
  return {
    '@type': TypeUrl.Cluster,
    name: clusterName,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {} }, service_name: endpointName },
    lrs_server: { self: {} },
    circuit_breakers: { thresholds: [{ priority: 'DEFAULT', max_requests: 1000 }] },
    lb_policy: lbPolicy,
  };
}

/** FakeEdsCluster#getEndpointConfig: one LocalityLbEndpoints per locality, every backend HEALTHY at ::1. */
export function frameworkEndpoints(endpointName: string, localities: readonly FrameworkLocality[]): Json {
  return {
    '@type': TypeUrl.ClusterLoadAssignment,
    cluster_name: endpointName,
    endpoints: localities.map((l) => ({
      lb_endpoints: l.ports.map((port) => ({
        health_status: 'HEALTHY',
        endpoint: { address: { socket_address: { address: '::1', port_value: port } } },
      })),
      locality: l.locality,
      load_balancing_weight: l.weight ?? 1,
      priority: l.priority ?? 0,
    })),
  };
}

export type FrameworkRoute = { readonly cluster: string } | { readonly weightedClusters: readonly { readonly cluster: string; readonly weight: number }[] };

/** createRouteConfig: prefix '' to one cluster or a weighted split, hashing on the channel id. */
function frameworkRoute(route: FrameworkRoute): Json {
  const hash_policy = [{ filter_state: { key: 'io.grpc.channel_id' } }];
  return 'cluster' in route
    ? { match: { prefix: '' }, route: { cluster: route.cluster, hash_policy } }
    : {
      match: { prefix: '' },
      route: { weighted_clusters: { clusters: route.weightedClusters.map((w) => ({ name: w.cluster, weight: w.weight })) }, hash_policy },
    };
}

/** FakeRouteGroup#getRouteConfiguration: one unnamed virtual host for every domain. */
export function frameworkRouteConfig(routeName: string, routes: readonly FrameworkRoute[]): Json {
  return { '@type': TypeUrl.RouteConfiguration, name: routeName, virtual_hosts: [{ domains: ['*'], routes: routes.map(frameworkRoute) }] };
}

/** FakeRouteGroup#getListener: an api_listener whose HttpConnectionManager has RDS over ADS and nothing else. */
export function frameworkListener(listenerName: string, routeName: string): Json {
  return {
    '@type': TypeUrl.Listener,
    name: listenerName,
    api_listener: {
      api_listener: {
        '@type': TypeUrl.HttpConnectionManager,
        rds: { route_config_name: routeName, config_source: { ads: {} } },
      },
    },
  };
}
