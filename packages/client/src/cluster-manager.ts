/**
 * Keeps one ClusterRuntime per cluster name across snapshots: new names get a runtime, kept names
 * get `update`, gone names are closed (their endpoints drain in the transport pool).
 */
import { MeshError, type Clock } from '@xmesh/core';
import type { MeshSnapshot } from '@xmesh/xds';
import type { ClusterTls } from '@xmesh/tls';
import type { RegistryConnector } from '@xmesh/discovery';
import { ClusterRuntime, type ClusterRuntimeOptions } from './cluster-runtime.js';
import type { MeshComponents } from './components.js';
import type { TransportPool } from './transport-pool.js';

const NO_TLS: ReadonlyMap<string, ClusterTls> = new Map();

export interface ClusterManagerOptions {
  readonly pool: TransportPool;
  readonly clock: Clock;
  readonly components: MeshComponents;
  readonly onSourceError?: (error: MeshError) => void;
  /** Registry clients of the mesh, for registry-backed clusters. */
  readonly registries?: RegistryConnector;
  /** Passed to every ClusterRuntime's guard. */
  readonly resilience?: ClusterRuntimeOptions['resilience'];
  /** Whether this mesh runs a cluster's health checks (see ClusterRuntimeOptions). */
  readonly runsHealthChecks?: ClusterRuntimeOptions['runsHealthChecks'];
}

export class ClusterManager {
  private runtimes = new Map<string, ClusterRuntime>();

  constructor(private readonly options: ClusterManagerOptions) {}

  /**
   * Brings the runtimes in line with `snapshot` and returns the new (frozen) name → runtime map. `tls` gives the
   * transport security of the clusters that have one.
   */
  apply(snapshot: MeshSnapshot, tls: ReadonlyMap<string, ClusterTls> = NO_TLS): ReadonlyMap<string, ClusterRuntime> {
    const next = new Map<string, ClusterRuntime>();
    for (const [name, config] of Object.entries(snapshot.clusters)) {
      const existing = this.runtimes.get(name);
      if (existing) {
        if (existing.config !== config) existing.update(config, tls.get(name));
        next.set(name, existing);
      } else {
        next.set(name, new ClusterRuntime(config, this.options, tls.get(name)));
      }
    }
    for (const [name, runtime] of this.runtimes) {
      if (!next.has(name)) runtime.close(new MeshError('XMESH_NO_CLUSTER', `cluster "${name}" was removed`, { cluster: name }));
    }
    this.runtimes = next;
    return next;
  }

  /** Resolves when every current cluster finished its first endpoint resolution. */
  ready(): Promise<void> {
    return Promise.all([...this.runtimes.values()].map((r) => r.ready)).then(() => undefined);
  }

  /** The mode changed: each cluster starts or stops its health checks as `runsHealthChecks` now says. */
  refreshHealthChecking(): void {
    for (const runtime of this.runtimes.values()) runtime.refreshHealthChecking();
  }

  closeAll(): void {
    const closed = new MeshError('XMESH_CLOSED', 'the mesh is closed');
    for (const runtime of this.runtimes.values()) runtime.close(closed);
    this.runtimes = new Map();
  }
}
