/**
 * The registry's reading side on etcd: a ServiceRegistry whose watches share one etcd client and,
 * per service, one etcd watch (however many clusters name the service). A service is followed from
 * its first `watchService` until its last watch closes, so a client follows only the services its
 * clusters use.
 */
import type { Etcd3 } from 'etcd3';
import type { MeshError } from '@xmesh/core';
import type { RegistryInstance, RegistryWatch, ServiceRegistry } from '@xmesh/discovery';
import { connectEtcd, parseEtcdUrl, type EtcdConnectionOptions } from './etcd-client.js';
import { DEFAULT_PREFIX, serviceKeyPrefix } from './instance-codec.js';
import { KeyspaceFollower } from './keyspace-follower.js';

export interface EtcdRegistryOptions extends EtcdConnectionOptions {
  /** The etcd members: `host:port` list, or `etcd://h1:p1,h2:p2`. */
  readonly endpoints: readonly string[] | string;
  /** Key prefix of the registry; default `/xmesh/services/`. */
  readonly prefix?: string;
  /** Changes arriving within this many ms are handed on as one update. Default 20. */
  readonly coalesceMs?: number;
  /** Instances kept per service; more are skipped and reported. Default 10 000. */
  readonly maxInstancesPerService?: number;
  /** Listing failures, lost watches, skipped values (XMESH_REGISTRY_UNAVAILABLE); the last good lists stay. */
  readonly onError?: (error: MeshError) => void;
}

interface Followed {
  readonly follower: KeyspaceFollower;
  readonly listeners: Set<(instances: readonly RegistryInstance[]) => void>;
}

export class EtcdRegistry implements ServiceRegistry {
  readonly prefix: string;
  private readonly client: Etcd3;
  private readonly coalesceMs: number;
  private readonly maxInstances: number;
  private readonly onError: (error: MeshError) => void;
  private readonly followed = new Map<string, Followed>();
  private readonly everything = new Set<KeyspaceFollower>();
  private closed = false;

  constructor(options: EtcdRegistryOptions) {
    const members = typeof options.endpoints === 'string' ? parseEtcdUrl(options.endpoints) : [...options.endpoints];
    this.client = connectEtcd(members, options);
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.coalesceMs = options.coalesceMs ?? 20;
    this.maxInstances = options.maxInstancesPerService ?? 10_000;
    this.onError = options.onError ?? (() => undefined);
  }

  /** Number of services followed one by one (for tests and admin output). */
  get followedServices(): readonly string[] {
    return [...this.followed.keys()];
  }

  watchService(service: string, listener: (instances: readonly RegistryInstance[]) => void): RegistryWatch {
    if (this.closed) return { ready: Promise.resolve(), close: () => undefined };
    let followed = this.followed.get(service);
    const alreadyFollowed = followed !== undefined;
    if (followed === undefined) {
      const listeners = new Set<(instances: readonly RegistryInstance[]) => void>();
      const follower = new KeyspaceFollower({
        client: this.client,
        prefix: this.prefix,
        keyPrefix: serviceKeyPrefix(this.prefix, service),
        service,
        coalesceMs: this.coalesceMs,
        maxInstancesPerService: this.maxInstances,
        onError: this.onError,
        onUpdate: (changed) => {
          const instances = changed.get(service);
          if (instances !== undefined) for (const l of [...listeners]) l(instances);
        },
      });
      this.followed.set(service, (followed = { follower, listeners }));
    }
    const entry = followed;
    entry.listeners.add(listener);
    // A service already followed: the new watch starts from its current list (a new one gets its first listing).
    if (alreadyFollowed) {
      void entry.follower.ready.then(() => {
        if (entry.listeners.has(listener) && this.followed.get(service) === entry) listener(entry.follower.instancesOf(service));
      });
    }
    return {
      ready: entry.follower.ready,
      close: () => {
        if (!entry.listeners.delete(listener) || entry.listeners.size > 0) return;
        entry.follower.close();
        if (this.followed.get(service) === entry) this.followed.delete(service);
      },
    };
  }

  watchAll(listener: (changed: ReadonlyMap<string, readonly RegistryInstance[]>) => void): RegistryWatch {
    if (this.closed) return { ready: Promise.resolve(), close: () => undefined };
    const follower = new KeyspaceFollower({
      client: this.client,
      prefix: this.prefix,
      keyPrefix: this.prefix,
      coalesceMs: this.coalesceMs,
      maxInstancesPerService: this.maxInstances,
      onError: this.onError,
      onUpdate: listener,
    });
    this.everything.add(follower);
    return {
      ready: follower.ready,
      close: () => {
        follower.close();
        this.everything.delete(follower);
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const { follower } of this.followed.values()) follower.close();
    for (const follower of this.everything) follower.close();
    this.followed.clear();
    this.everything.clear();
    this.client.close();
  }
}
