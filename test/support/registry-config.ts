/**
 * Envoy v3 resources (proto3 JSON) for registry tests: a listener routing every request to one
 * registry-backed EDS cluster (HTTP/2, for gRPC), and the STATIC cluster listing the etcd members.
 */
import { TypeUrl } from '@xmesh/xds';
import { lbEndpoints } from './mesh-config.js';

export const REGISTRY_LISTENER = 'echo.registry.svc';

/** The etcd members' cluster. */
export function etcdCluster(endpoints: readonly string[], name = 'etcd'): Record<string, unknown> {
  return {
    '@type': TypeUrl.Cluster,
    name,
    type: 'STATIC',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: lbEndpoints(endpoints) }] },
  };
}

/** An EDS cluster whose endpoints are the registry's `service`. */
export function registryCluster(name: string, service = name, etcd = 'etcd'): Record<string, unknown> {
  return {
    '@type': TypeUrl.Cluster,
    name,
    type: 'EDS',
    connect_timeout: '1s',
    lb_policy: 'ROUND_ROBIN',
    eds_cluster_config: { service_name: service, eds_config: { ads: {}, resource_api_version: 'V3' } },
    http2_protocol_options: {},
    metadata: { filter_metadata: { xmesh: { registry: { etcd_cluster: etcd } } } },
  };
}

/**
 * A gRPC xDS client's listener (api_listener with an inline route to `cluster`) that also serves as
 * the embedded mesh's routing table; plus the clusters.
 */
export function registryResources(etcdEndpoints: readonly string[], cluster = 'echo'): Record<string, unknown>[] {
  return [
    {
      '@type': TypeUrl.Listener,
      name: REGISTRY_LISTENER,
      api_listener: {
        api_listener: {
          '@type': TypeUrl.HttpConnectionManager,
          stat_prefix: 'echo',
          route_config: { name: 'echo-routes', virtual_hosts: [{ name: 'echo', domains: ['*'], routes: [{ match: { prefix: '' }, route: { cluster } }] }] },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }],
        },
      },
    },
    registryCluster(cluster),
    etcdCluster(etcdEndpoints),
  ];
}
