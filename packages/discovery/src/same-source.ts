import type { Endpoint } from '@xmesh/core';
import type { ClusterConfig } from '@xmesh/xds';
import { flattenLoadAssignment } from './flatten.js';

/**
 * True when two configs of a cluster need the same endpoint source, so the running one can be
 * kept across a snapshot swap: same name and discovery type, same registry (service, members,
 * prefix, ZooKeeper filters) for registry-backed clusters, else the same configured
 * endpoints (every field, in order), and for DNS types the same refresh rate, lookup family and TTL setting.
 */
export function sameSource(a: ClusterConfig, b: ClusterConfig): boolean {
  if (a === b) return true;
  if (a.name !== b.name || a.type !== b.type) return false;
  if (a.type === 'EDS' && a.edsServiceName !== b.edsServiceName) return false;
  if (a.registry !== b.registry && JSON.stringify(a.registry) !== JSON.stringify(b.registry)) return false;
  // A registry-backed cluster's endpoints come from its registry, not from its config.
  if (a.registry !== undefined) return true;
  if (
    (a.type === 'STRICT_DNS' || a.type === 'LOGICAL_DNS') &&
    (a.dnsRefreshRateMs !== b.dnsRefreshRateMs || a.dnsLookupFamily !== b.dnsLookupFamily || a.respectDnsTtl !== b.respectDnsTtl)
  ) {
    return false;
  }
  if (a.loadAssignment === b.loadAssignment) return true;
  const left = flattenLoadAssignment(a.loadAssignment);
  const right = flattenLoadAssignment(b.loadAssignment);
  return left.length === right.length && left.every((e, i) => sameEndpoint(e, right[i]!));
}

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return (
    a === b ||
    (a.id === b.id &&
      a.host === b.host &&
      a.port === b.port &&
      a.weight === b.weight &&
      a.healthStatus === b.healthStatus &&
      a.priority === b.priority &&
      a.localityWeight === b.localityWeight &&
      a.locality.region === b.locality.region &&
      a.locality.zone === b.locality.zone &&
      a.locality.subZone === b.locality.subZone &&
      JSON.stringify(a.metadata) === JSON.stringify(b.metadata))
  );
}
