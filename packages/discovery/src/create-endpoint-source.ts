import type { ClusterConfig } from '@xmesh/xds';
import type { EndpointSource, SourceOptions } from './endpoint-source.js';
import { FixedSource } from './fixed-source.js';
import { DnsSource } from './dns/dns-source.js';
import { flattenLoadAssignment } from './flatten.js';
import { ZooKeeperSource } from './zookeeper/zookeeper-source.js';

/**
 * The endpoint source for a cluster's discovery type. STATIC and EDS take the endpoints of
 * `cluster.loadAssignment` (an EDS cluster without one has none yet, and is ready at once);
 * STRICT_DNS and LOGICAL_DNS resolve its hosts (see DnsSource). An EDS cluster with
 * `xmesh.zookeeper` takes the SOFARPC providers published in ZooKeeper (see ZooKeeperSource).
 */
export function createEndpointSource(cluster: ClusterConfig, options: SourceOptions = {}): EndpointSource {
  const zookeeper = cluster.xmesh?.zookeeper;
  if (zookeeper !== undefined) return new ZooKeeperSource(zookeeper, options);
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
