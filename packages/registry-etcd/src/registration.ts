/**
 * The registry's writing side: a server process registers one instance of a service under a lease
 * that it keeps alive; updates (weight, health, zone, labels) rewrite the key in place under the same
 * lease; `deregister` revokes the lease, which deletes the key. A process that dies stops keeping the
 * lease alive and its key goes when the lease expires (TTL, 10 s by default). A lease lost while the
 * process lives (etcd unreachable longer than the TTL) is granted again and the key written again,
 * retrying with back-off until it works or the instance is deregistered.
 */
import { endpointId, MeshError } from '@xmesh/core';
import type { RegistryInstance } from '@xmesh/discovery';
import type { Etcd3, Lease } from 'etcd3';
import { connectEtcd, parseEtcdUrl } from './etcd-client.js';
import { checkInstance, checkSegment, DEFAULT_PREFIX, encodeInstance, instanceKey, type InstanceValue } from './instance-codec.js';

export const DEFAULT_TTL_SECONDS = 10;
const RETRY_FIRST_MS = 200;
const RETRY_MAX_MS = 5_000;

export interface RegisterServiceOptions {
  /** The etcd members: `host:port` list, or `etcd://h1:p1,h2:p2`. */
  readonly etcd: readonly string[] | string;
  readonly service: string;
  /** Where clients reach this instance (an IP address or host name). */
  readonly address: string;
  readonly port: number;
  /** Unique within the service; default `address:port`. */
  readonly id?: string;
  /** Default 1. */
  readonly weight?: number;
  /** Default ''. */
  readonly zone?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  /** Default true; false keeps the instance listed but not picked. */
  readonly healthy?: boolean;
  /** Lease TTL in whole seconds (etcd's unit), at least 1. Default 10. */
  readonly ttlSeconds?: number;
  /** Key prefix of the registry; default `/xmesh/services/`. */
  readonly prefix?: string;
  /** Deadline of each etcd call, ms. Default 5 000. */
  readonly callTimeoutMs?: number;
  /** A lost lease, a failed re-registration or update (XMESH_REGISTRY_UNAVAILABLE). */
  readonly onError?: (error: MeshError) => void;
}

/** What can change in place. */
export type InstanceUpdate = Partial<Pick<RegistryInstance, 'weight' | 'healthy' | 'zone' | 'metadata'>>;

export interface Registration {
  /** The instance's etcd key. */
  readonly key: string;
  /** The instance as registered now. */
  readonly instance: RegistryInstance;
  /** Rewrites the key with the changes, keeping its lease. Rejects with XMESH_CONFIG_INVALID on a bad value. */
  update(changes: InstanceUpdate): Promise<void>;
  /** Revokes the lease (deleting the key) and closes the etcd connection. Idempotent; never rejects. */
  deregister(): Promise<void>;
}

/**
 * Registers an instance and resolves once its key is written.
 * @throws MeshError XMESH_CONFIG_INVALID for a bad instance, XMESH_REGISTRY_UNAVAILABLE when etcd cannot take the key.
 */
export async function registerService(options: RegisterServiceOptions): Promise<Registration> {
  const value: InstanceValue = {
    address: options.address,
    port: options.port,
    weight: options.weight ?? 1,
    zone: options.zone ?? '',
    healthy: options.healthy ?? true,
    metadata: Object.freeze({ ...options.metadata }),
  };
  const id = options.id ?? endpointId(options.address, options.port);
  const ttl = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  const problems = [
    checkSegment('service', options.service),
    checkSegment('id', id),
    ...checkInstance(value),
    Number.isInteger(ttl) && ttl >= 1 ? undefined : `ttlSeconds must be a whole number of seconds, at least 1, got ${String(ttl)}`,
  ].filter((p): p is string => p !== undefined);
  if (problems.length > 0) throw invalid(problems);
  const members = typeof options.etcd === 'string' ? parseEtcdUrl(options.etcd) : [...options.etcd];
  const client = connectEtcd(members, options);
  const registration = new EtcdRegistration(client, instanceKey(options.prefix ?? DEFAULT_PREFIX, options.service, id), id, value, ttl, options.onError);
  try {
    await registration.establish();
  } catch (cause) {
    client.close();
    throw new MeshError('XMESH_REGISTRY_UNAVAILABLE', `etcd: cannot register ${options.service}/${id}: ${(cause as Error).message}`, { cause });
  }
  return registration;
}

export interface GracefulShutdownOptions {
  /** How long to wait after deregistering, so every watcher stops picking this instance, ms. Default 2 000. */
  readonly propagationMs?: number;
  /** Drains and closes the server (grpc-js `tryShutdown`, `http.Server.close`); awaited last. */
  readonly close: () => Promise<void>;
}

/** Deregisters first, waits for watchers to see it, then lets the server drain and close. */
export async function shutdownGracefully(registration: Registration, options: GracefulShutdownOptions): Promise<void> {
  await registration.deregister();
  await new Promise((resolve) => setTimeout(resolve, options.propagationMs ?? 2_000));
  await options.close();
}

class EtcdRegistration implements Registration {
  private value: InstanceValue;
  private lease: Lease | undefined;
  /** Writes happen one at a time, in call order. */
  private writes: Promise<unknown> = Promise.resolve();
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retryMs = RETRY_FIRST_MS;
  private deregistered = false;

  constructor(
    private readonly client: Etcd3,
    readonly key: string,
    private readonly id: string,
    value: InstanceValue,
    private readonly ttl: number,
    private readonly onError: ((error: MeshError) => void) | undefined,
  ) {
    this.value = value;
  }

  get instance(): RegistryInstance {
    return Object.freeze({ id: this.id, ...this.value });
  }

  /** Grants a lease and writes the key under it; the lease is kept alive from then on. */
  async establish(): Promise<void> {
    const lease = this.client.lease(this.ttl);
    try {
      await lease.put(this.key).value(encodeInstance(this.value));
    } catch (error) {
      lease.release();
      throw error;
    }
    if (this.deregistered) {
      await lease.revoke().catch(() => undefined);
      return;
    }
    this.lease = lease;
    lease.on('lost', (error: Error) => this.onLost(lease, error));
  }

  update(changes: InstanceUpdate): Promise<void> {
    const next: InstanceValue = {
      ...this.value,
      ...changes,
      ...(changes.metadata === undefined ? {} : { metadata: Object.freeze({ ...changes.metadata }) }),
    };
    const problems = checkInstance(next);
    if (problems.length > 0) return Promise.reject(invalid(problems));
    this.value = next;
    const run = this.writes.then(async () => {
      const lease = this.lease;
      // No lease now: the re-registration under way writes the new value.
      if (lease === undefined || this.deregistered) return;
      await lease.put(this.key).value(encodeInstance(this.value));
    });
    this.writes = run.catch(() => undefined);
    return run.catch((cause: unknown) => {
      throw new MeshError('XMESH_REGISTRY_UNAVAILABLE', `etcd: cannot update ${this.key}: ${(cause as Error).message}`, { cause });
    });
  }

  async deregister(): Promise<void> {
    if (this.deregistered) return;
    this.deregistered = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.writes;
    const lease = this.lease;
    this.lease = undefined;
    try {
      await lease?.revoke();
    } catch (cause) {
      this.onError?.(new MeshError('XMESH_REGISTRY_UNAVAILABLE', `etcd: revoking the lease of ${this.key} failed (${(cause as Error).message}); the key goes when the lease expires`, { cause }));
    }
    this.client.close();
  }

  private onLost(lease: Lease, error: Error): void {
    if (this.lease !== lease || this.deregistered) return;
    this.lease = undefined;
    this.onError?.(new MeshError('XMESH_REGISTRY_UNAVAILABLE', `etcd: the lease of ${this.key} was lost (${error.message}); registering again`, { cause: error }));
    this.retry();
  }

  private retry(): void {
    if (this.deregistered) return;
    const run = this.writes.then(() => this.establish());
    this.writes = run.catch(() => undefined);
    run.then(
      () => {
        this.retryMs = RETRY_FIRST_MS;
      },
      (cause: unknown) => {
        if (this.deregistered) return;
        this.onError?.(new MeshError('XMESH_REGISTRY_UNAVAILABLE', `etcd: registering ${this.key} again failed (${(cause as Error).message}); retrying in ${this.retryMs} ms`, { cause }));
        this.retryTimer = setTimeout(() => this.retry(), this.retryMs);
        this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
      },
    );
  }
}

function invalid(problems: readonly string[]): MeshError {
  return new MeshError('XMESH_CONFIG_INVALID', `cannot register: ${problems.join('; ')}`, { errors: problems.map((message) => ({ path: 'registerService', message })) });
}
