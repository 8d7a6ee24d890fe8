/**
 * A control plane reading the etcd registry, as `xmesh control-plane --config ... --registry etcd://...`
 * runs it: the resources served with registry-backed clusters as plain EDS, the registry's services
 * as their endpoints.
 */
import { ControlPlane, registryClustersAsEds, serveRegistry, silentLogger, type RegistryFeed } from '@xmesh/control-plane';
import { EtcdRegistry } from '@xmesh/registry-etcd';
import { buildSnapshot } from '@xmesh/xds';
import type { XdsBootstrap } from '@xmesh/discovery';

export interface RegistryPlane {
  readonly plane: ControlPlane;
  readonly port: number;
  readonly serverUri: string;
  close(): Promise<void>;
}

export async function startRegistryPlane(resources: readonly Record<string, unknown>[], etcdUrl: string): Promise<RegistryPlane> {
  const built = buildSnapshot(resources);
  if (!built.ok) throw new Error(JSON.stringify(built.errors));
  const plane = new ControlPlane({ logger: silentLogger });
  const registry = new EtcdRegistry({ endpoints: etcdUrl });
  const feed: RegistryFeed = serveRegistry(plane, registry);
  plane.setSnapshot('v1', registryClustersAsEds(resources, built.snapshot));
  await feed.ready;
  const port = await plane.listen(0);
  return {
    plane,
    port,
    serverUri: `127.0.0.1:${port}`,
    close: async () => {
      feed.close();
      await registry.close();
      await plane.close();
    },
  };
}

/** A gRPC-style xDS bootstrap listing `servers` in fallback order. */
export function bootstrapFor(servers: readonly string[], nodeId: string, delta = false): XdsBootstrap {
  return {
    xds_servers: servers.map((uri) => ({ server_uri: uri, channel_creds: [{ type: 'insecure' }], server_features: delta ? ['xds_v3', 'xmesh_delta'] : ['xds_v3'] })),
    node: { id: nodeId, cluster: 'registry-test', locality: { zone: 'local' } },
  };
}
