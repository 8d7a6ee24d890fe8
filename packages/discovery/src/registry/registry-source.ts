import type { ClusterRegistry } from '@xmesh/xds';
import { ChangingSource } from '../changing-source.js';
import { registryEndpoints } from './load-assignment.js';
import type { RegistryWatch } from './registry.js';
import type { RegistryLease } from './shared-registries.js';

/**
 * A registry-backed cluster's endpoints (etcd, ZooKeeper): follows its one service in the registry
 * from construction (so only the services of configured clusters are watched). Every change of the
 * list — an instance added or gone, a weight, health or zone changed — is published; while the
 * registry is unreachable the last list stays. Ready once the first listing finished (a registry
 * unreachable at start gives an empty list within the registry's connect bound; calls then wait for
 * endpoints up to their deadline).
 */
export class RegistrySource extends ChangingSource {
  readonly ready: Promise<void>;
  private readonly watch: RegistryWatch;

  /** `lease`: the registry `config` names, released when this source closes. */
  constructor(readonly config: ClusterRegistry, private readonly lease: RegistryLease) {
    super();
    this.watch = lease.registry.watchService(config.service, (instances) => {
      if (!this.closed) this.publish(registryEndpoints(instances));
    });
    this.ready = this.watch.ready;
  }

  protected stop(): void {
    this.watch.close();
    this.lease.release();
  }
}
