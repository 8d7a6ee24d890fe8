/**
 * Envoy v3 bootstraps (proto3 JSON shape) for Bolt tests: one listener marked for Bolt
 * (`metadata.filter_metadata.xmesh.protocol: bolt`, docs/config.md) whose HttpConnectionManager
 * routes Bolt calls by service (`:authority`) and method (`:path`), and static clusters of providers.
 */
import { MeshError, type Endpoint } from '@xmesh/core';
import type { Mesh } from '@xmesh/client';
import { lbEndpoints } from './mesh-config.js';

export interface BoltClusterSpec {
  readonly endpoints: readonly string[];
  /** Extra Cluster fields (outlier_detection, circuit_breakers, metadata, ...). */
  readonly extra?: Record<string, unknown>;
}

/**
 * An EDS cluster whose endpoints are the SOFARPC providers of `service` (an interface) in the ZooKeeper
 * at `servers` (`xmesh.registry.zookeeper_cluster`, with `settings` such as version and group), plus
 * `extra` Cluster fields; and the STATIC cluster listing the ZooKeeper servers.
 */
export function zookeeperClusters(name: string, servers: string, service: string, settings: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): object[] {
  const members = `${name}-zookeeper`;
  return [
    {
      name,
      type: 'EDS',
      eds_cluster_config: { service_name: service, eds_config: { ads: {} } },
      connect_timeout: '1s',
      ...extra,
      metadata: { filter_metadata: { xmesh: { registry: { zookeeper_cluster: members, ...settings } } } },
    },
    { name: members, type: 'STATIC', load_assignment: { cluster_name: members, endpoints: [{ lb_endpoints: lbEndpoints(servers.split(',')) }] } },
  ];
}

export interface BoltConfigSpec {
  /** Route config virtual hosts, as in Envoy (domains are service interfaces). */
  readonly virtualHosts: readonly object[];
  readonly clusters: Record<string, BoltClusterSpec | readonly string[]>;
  /** Clusters given whole (e.g. `zookeeperClusters(...)`). */
  readonly rawClusters?: readonly object[];
  /** HTTP filters before the router (e.g. envoy.filters.http.local_ratelimit). */
  readonly httpFilters?: readonly object[];
  /** The Bolt listener's port; default 0 (a free one). */
  readonly port?: number;
}

const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

export function boltConfig(spec: BoltConfigSpec): object {
  return {
    static_resources: {
      listeners: [{
        name: 'sofa',
        address: { socket_address: { address: '127.0.0.1', port_value: spec.port ?? 0 } },
        metadata: { filter_metadata: { xmesh: { protocol: 'bolt' } } },
        filter_chains: [{
          filters: [{
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: 'sofa',
              route_config: { name: 'sofa', virtual_hosts: spec.virtualHosts },
              http_filters: [...(spec.httpFilters ?? []), ROUTER],
            },
          }],
        }],
      }],
      clusters: [...Object.entries(spec.clusters).map(([name, c]): object => {
        const cluster: BoltClusterSpec = Array.isArray(c) ? { endpoints: c as readonly string[] } : (c as BoltClusterSpec);
        return {
          name,
          type: 'STATIC',
          connect_timeout: '1s',
          load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: cluster.endpoints.map(lbEndpoint) }] },
          ...cluster.extra,
        };
      }), ...(spec.rawClusters ?? [])],
    },
  };
}

function lbEndpoint(address: string): object {
  const i = address.lastIndexOf(':');
  return { endpoint: { address: { socket_address: { address: address.slice(0, i), port_value: Number(address.slice(i + 1)) } } } };
}

/** One virtual host sending every call for `domains` to `cluster`. */
export function allTo(cluster: string, domains: readonly string[] = ['*']): object {
  return { name: 'services', domains, routes: [{ match: { prefix: '/' }, route: { cluster } }] };
}

/** The endpoints cluster `name` of `mesh` lists now. */
export function clusterEndpoints(mesh: Mesh, name: string): Endpoint[] {
  const state = mesh.state();
  if (state instanceof MeshError) return [];
  return [...(state.clusters.get(name)?.endpoints ?? [])];
}
