/**
 * Endpoints a registry discovers, served as EDS: the snapshot is `resources` (listeners, routes, EDS
 * clusters — without any `xmesh.zookeeper`, so clients take endpoints from this server) plus one
 * ClusterLoadAssignment per source, set again whenever a source's endpoints change. With a
 * `ZooKeeperSource`, providers that stock SOFARPC servers publish reach Envoy, the xmesh sidecar and
 * xmesh embedded clients alike.
 */
import type { Endpoint } from '@xmesh/core';
import type { EndpointSource } from '@xmesh/discovery';
import { TypeUrl } from '@xmesh/xds';
import type { ControlPlane } from './control-plane.js';

export interface RegistryEdsOptions {
  /** The other resources of the snapshot (proto3 JSON with `@type`). */
  readonly resources: readonly unknown[];
  /** EDS service name (the cluster name, or its `eds_cluster_config.service_name`) → the source of its endpoints. */
  readonly sources: Readonly<Record<string, EndpointSource>>;
  /** Serve to this node only; default: every node. */
  readonly nodeId?: string;
  /** Snapshot versions are `<prefix>-<n>`; default `registry`. */
  readonly versionPrefix?: string;
}

export interface RegistryEds {
  /** Resolves once every source finished its first resolution and the snapshot was set. */
  readonly ready: Promise<void>;
  /** Stops following the sources (they stay open: their owner closes them). */
  close(): void;
}

export function serveRegistryEds(plane: ControlPlane, options: RegistryEdsOptions): RegistryEds {
  let version = 0;
  let closed = false;
  const prefix = options.versionPrefix ?? 'registry';
  const publish = () => {
    if (closed) return;
    const assignments = Object.entries(options.sources).map(([name, source]) => loadAssignment(name, source.endpoints));
    plane.setSnapshot(`${prefix}-${++version}`, [...options.resources, ...assignments], options.nodeId === undefined ? {} : { nodeId: options.nodeId });
  };
  for (const source of Object.values(options.sources)) source.onChange(publish);
  const ready = Promise.all(Object.values(options.sources).map((s) => s.ready)).then(publish);
  return { ready, close: () => void (closed = true) };
}

function loadAssignment(clusterName: string, endpoints: readonly Endpoint[]): object {
  return {
    '@type': TypeUrl.ClusterLoadAssignment,
    cluster_name: clusterName,
    // One unnamed locality, always set and weighted (the sum of its hosts' weights): gRPC clients refuse
    // a locality left unset and drop one without a weight.
    endpoints: [{
      locality: {},
      load_balancing_weight: Math.max(1, endpoints.reduce((sum, e) => sum + e.weight, 0)),
      lb_endpoints: endpoints.map((e) => ({
        endpoint: { address: { socket_address: { address: e.host, port_value: e.port } } },
        load_balancing_weight: e.weight,
      })),
    }],
  };
}
