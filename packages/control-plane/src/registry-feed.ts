/**
 * The control plane's registry side, for any ServiceRegistry (etcd, the SOFARPC registry in
 * ZooKeeper): every service in the registry is served as a ClusterLoadAssignment named after it
 * (what an EDS cluster with that service name asks for), the same endpoints an embedded mesh reading
 * the registry picks from. One service's change re-encodes that one resource and reaches only the
 * streams subscribed to it.
 */
import type { MeshSnapshot } from '@xmesh/xds';
import { registryLoadAssignment, type ServiceRegistry } from '@xmesh/discovery';
import { TypeUrl } from '@xmesh/xds';
import type { ControlPlane } from './control-plane.js';

export interface RegistryFeed {
  /** Resolves once the registry's first listing is served (or failed). */
  readonly ready: Promise<void>;
  close(): void;
}

export function serveRegistry(plane: ControlPlane, registry: ServiceRegistry): RegistryFeed {
  const watch = registry.watchAll((changed) => {
    try {
      plane.putResources([...changed].map(([service, instances]) => registryLoadAssignment(service, instances)));
    } catch (err) {
      plane.logger.error(`registry update not served: ${(err as Error).message}`);
    }
  });
  return { ready: watch.ready, close: () => watch.close() };
}

/**
 * Resources as a control plane reading the registry serves them: each registry-backed cluster becomes
 * a plain EDS cluster on ADS (the `xmesh.registry` metadata dropped, `eds_config: {ads: {}}`), the
 * clusters listing etcd members are left out, and each registry service gets an empty
 * ClusterLoadAssignment that the registry's own (once it lists instances) replaces.
 * `snapshot` is the validated snapshot of `resources`.
 */
export function registryClustersAsEds(resources: readonly unknown[], snapshot: MeshSnapshot): unknown[] {
  const registryBacked = new Map<string, string>();
  const members = new Set<string>();
  for (const cluster of Object.values(snapshot.clusters)) {
    if (cluster.registry === undefined) continue;
    registryBacked.set(cluster.name, cluster.registry.service);
    members.add(cluster.registry.cluster);
  }
  if (registryBacked.size === 0) return [...resources];
  const out: unknown[] = [];
  for (const resource of resources) {
    const r = resource as Record<string, unknown>;
    if (r['@type'] !== TypeUrl.Cluster || typeof r['name'] !== 'string') {
      out.push(resource);
      continue;
    }
    const service = registryBacked.get(r['name']);
    if (service !== undefined) out.push(asAdsEds(r, service));
    else if (!members.has(r['name'])) out.push(resource);
  }
  for (const service of new Set(registryBacked.values())) out.push({ '@type': TypeUrl.ClusterLoadAssignment, cluster_name: service, endpoints: [] });
  return out;
}

function asAdsEds(cluster: Record<string, unknown>, service: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(cluster)) {
    if (key === 'eds_cluster_config' || key === 'edsClusterConfig') continue;
    if (key === 'metadata') {
      const metadata = withoutRegistry(value);
      if (metadata !== undefined) out[key] = metadata;
      continue;
    }
    out[key] = value;
  }
  out['eds_cluster_config'] = { service_name: service, eds_config: { ads: {}, resource_api_version: 'V3' } };
  return out;
}

/** `metadata` without `filter_metadata.xmesh.registry` (and without what that leaves empty). */
function withoutRegistry(metadata: unknown): unknown {
  const m = metadata as Record<string, unknown>;
  const filterKey = 'filter_metadata' in m ? 'filter_metadata' : 'filterMetadata';
  const filter = m[filterKey] as Record<string, unknown> | undefined;
  const xmesh = filter?.['xmesh'] as Record<string, unknown> | undefined;
  if (!filter || !xmesh) return metadata;
  const { registry: _registry, ...rest } = xmesh;
  const nextFilter: Record<string, unknown> = { ...filter };
  if (Object.keys(rest).length === 0) delete nextFilter['xmesh'];
  else nextFilter['xmesh'] = rest;
  const next: Record<string, unknown> = { ...m };
  if (Object.keys(nextFilter).length === 0) delete next[filterKey];
  else next[filterKey] = nextFilter;
  return Object.keys(next).length === 0 ? undefined : next;
}
