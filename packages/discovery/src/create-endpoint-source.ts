import { MeshError } from '@xmesh/core';
import type { ClusterConfig } from '@xmesh/xds';
import type { EndpointSource, SourceOptions } from './endpoint-source.js';
import { FixedSource } from './fixed-source.js';
import { DnsSource } from './dns/dns-source.js';
import { flattenLoadAssignment } from './flatten.js';
import { RegistrySource } from './registry/registry-source.js';

/**
 * The endpoint source for a cluster's discovery type. A registry-backed EDS cluster follows its
 * service in the registry (through `options.registries`); other EDS clusters and STATIC ones take
 * the endpoints of `cluster.loadAssignment` (an EDS cluster without one has none yet, and is ready
 * at once); STRICT_DNS and LOGICAL_DNS resolve their hosts (see DnsSource). The registry is etcd or
 * the SOFARPC registry in ZooKeeper (`registry.zookeeper_cluster`), alike to this function.
 */
export function createEndpointSource(cluster: ClusterConfig, options: SourceOptions = {}): EndpointSource {
  if (cluster.registry !== undefined) {
    if (options.registries !== undefined) return new RegistrySource(cluster.registry, options.registries.acquire(cluster.registry));
    options.onError?.(new MeshError('XMESH_REGISTRY_UNAVAILABLE', `cluster "${cluster.name}": no client for its ${cluster.registry.kind} registry was given`, { cluster: cluster.name }));
    return new FixedSource([]);
  }
  switch (cluster.type) {
    case 'STATIC':
    case 'EDS':
      return new FixedSource(flattenLoadAssignment(cluster.loadAssignment));
    case 'STRICT_DNS':
      return new DnsSource(cluster, 'strict', options);
    case 'LOGICAL_DNS':
      return new DnsSource(cluster, 'logical', options);
  }
}
