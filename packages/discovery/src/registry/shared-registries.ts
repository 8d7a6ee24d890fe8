import type { ClusterRegistry } from '@xmesh/xds';
import type { ServiceRegistry } from './registry.js';

/** A registry lent to one endpoint source; `release` once (the last release of a registry closes it). */
export interface RegistryLease {
  readonly registry: ServiceRegistry;
  release(): void;
}

/** Where registry-backed endpoint sources get their registry client. */
export interface RegistryConnector {
  acquire(config: ClusterRegistry): RegistryLease;
}

/**
 * One client per registry (kind, members and key prefix), shared by every cluster naming it and
 * closed when the last of them lets go. Owned by one mesh: two meshes never share a client.
 */
export class SharedRegistries implements RegistryConnector {
  private readonly open = new Map<string, { registry: ServiceRegistry; users: number }>();
  private closed = false;

  constructor(private readonly connect: (config: ClusterRegistry) => ServiceRegistry) {}

  acquire(config: ClusterRegistry): RegistryLease {
    if (this.closed) throw new Error('registry clients are closed');
    // One client per registry and its own settings (a ZooKeeper registry's provider filters and session timeout).
    const key = `${config.kind}|${config.prefix}|${[...config.endpoints].sort().join(',')}|${JSON.stringify(config.zookeeper ?? null)}`;
    let entry = this.open.get(key);
    if (entry === undefined) this.open.set(key, (entry = { registry: this.connect(config), users: 0 }));
    entry.users += 1;
    const held = entry;
    let released = false;
    return {
      registry: held.registry,
      release: () => {
        if (released) return;
        released = true;
        held.users -= 1;
        if (held.users > 0 || this.open.get(key) !== held) return;
        this.open.delete(key);
        held.registry.close().catch(() => undefined);
      },
    };
  }

  /** Number of registry clients open. */
  get size(): number {
    return this.open.size;
  }

  /** Closes every client; later `acquire` calls throw. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((e) => e.registry.close().catch(() => undefined)));
  }
}
