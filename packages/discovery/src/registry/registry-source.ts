import type { Endpoint } from '@xmesh/core';
import type { ClusterRegistry } from '@xmesh/xds';
import type { EndpointSource } from '../endpoint-source.js';
import { registryEndpoints } from './load-assignment.js';
import type { RegistryWatch } from './registry.js';
import type { RegistryLease } from './shared-registries.js';

const EMPTY: readonly Endpoint[] = Object.freeze([]);

/**
 * A registry-backed cluster's endpoints: follows its one service in `registry` from construction
 * (so only the services of configured clusters are watched). Every change of the list — an instance
 * added or gone, a weight, health or zone changed — is published; while the registry is unreachable
 * the last list stays. Ready once the first listing finished (an unreachable registry at start gives
 * an empty list; calls then wait for endpoints up to their deadline).
 */
export class RegistrySource implements EndpointSource {
  endpoints: readonly Endpoint[] = EMPTY;
  readonly ready: Promise<void>;
  private readonly listeners: ((endpoints: readonly Endpoint[]) => void)[] = [];
  private readonly watch: RegistryWatch;
  private closed = false;

  /** `lease`: the registry `config` names, released when this source closes. */
  constructor(readonly config: ClusterRegistry, private readonly lease: RegistryLease) {
    this.watch = lease.registry.watchService(config.service, (instances) => {
      if (this.closed) return;
      this.endpoints = registryEndpoints(instances);
      for (const listener of this.listeners) listener(this.endpoints);
    });
    this.ready = this.watch.ready;
  }

  onChange(listener: (endpoints: readonly Endpoint[]) => void): void {
    if (!this.closed) this.listeners.push(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.length = 0;
    this.watch.close();
    this.lease.release();
  }
}
