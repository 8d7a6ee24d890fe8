/**
 * The embedded-mode building blocks a mesh composes. Defaults are the real packages; tests may
 * substitute any of them.
 */
import { Router } from '@xmesh/router';
import { createBalancer } from '@xmesh/balancer';
import { createEndpointSource, sameSource, ZooKeeperRegistry, type ServiceRegistry } from '@xmesh/discovery';
import { EtcdRegistry } from '@xmesh/registry-etcd';
import type { MeshError } from '@xmesh/core';
import type { ClusterRegistry, MeshSnapshot } from '@xmesh/xds';

export interface MeshComponents {
  readonly createRouter: (snapshot: MeshSnapshot, options: { listener?: string }) => Pick<Router, 'route'>;
  readonly createBalancer: typeof createBalancer;
  readonly createEndpointSource: typeof createEndpointSource;
  readonly sameSource: typeof sameSource;
  /** Opens a client of the registry a registry-backed cluster names (one per registry and mesh, shared by its clusters). */
  readonly connectRegistry: (config: ClusterRegistry, options: { readonly onError: (error: MeshError) => void }) => ServiceRegistry;
}

export const defaultComponents: MeshComponents = Object.freeze({
  createRouter: (snapshot: MeshSnapshot, options: { listener?: string }) => new Router(snapshot, options),
  createBalancer,
  createEndpointSource,
  sameSource,
  connectRegistry,
});

/** A client of the registry `config` names: etcd, or the SOFARPC registry in ZooKeeper with its provider filters. */
function connectRegistry(config: ClusterRegistry, { onError }: { readonly onError: (error: MeshError) => void }): ServiceRegistry {
  if (config.kind === 'etcd') return new EtcdRegistry({ endpoints: config.endpoints, prefix: config.prefix, onError });
  const zk = config.zookeeper;
  return new ZooKeeperRegistry({
    servers: config.endpoints,
    root: config.prefix,
    ...(zk?.version === undefined ? {} : { version: zk.version }),
    ...(zk?.group === undefined ? {} : { group: zk.group }),
    ...(zk === undefined ? {} : { sessionTimeoutMs: zk.sessionTimeoutMs }),
    onError,
  });
}
