/**
 * The contract between a service registry (etcd, ZooKeeper, ...) and what reads it: the embedded
 * mesh's endpoint sources and the control plane. A registry lists instances per service and tells
 * its readers when a service's list changed; how it stores them is its own business.
 */

/** One registered instance of a service, as a registry lists it. */
export interface RegistryInstance {
  /** Unique within its service (etcd: the last segment of its key). */
  readonly id: string;
  /** IP address or host name the instance serves on. */
  readonly address: string;
  readonly port: number;
  /** Load-balancing weight, 1 or more (Envoy `load_balancing_weight`). */
  readonly weight: number;
  /** Zone the instance runs in ('' when none): the endpoint's locality zone. */
  readonly zone: string;
  /** False: listed but not to be picked (Envoy health status UNHEALTHY). */
  readonly healthy: boolean;
  /** Free-form labels (version, ...): the endpoint's `envoy.lb` filter metadata. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** A running watch: its current list and when the first listing is done. */
export interface RegistryWatch {
  /** Settles (always resolves) once the first listing finished, whether it succeeded or failed. */
  readonly ready: Promise<void>;
  /** Stops the notifications of this watch. Idempotent. */
  close(): void;
}

/**
 * What readers need from a registry. Listeners get whole lists (changes are applied to the last
 * list as they arrive, and bursts are coalesced); while the registry is unreachable they hear
 * nothing and the last list stays in force.
 */
export interface ServiceRegistry {
  /** Follows one service: `listener` gets its instances after the first listing and after each change. */
  watchService(service: string, listener: (instances: readonly RegistryInstance[]) => void): RegistryWatch;
  /**
   * Follows every service: `listener` gets the services whose lists changed, each with its whole new
   * list (empty: the service has no instance left). The first call carries every service listed.
   */
  watchAll(listener: (changed: ReadonlyMap<string, readonly RegistryInstance[]>) => void): RegistryWatch;
  /** Ends every watch and the connection. */
  close(): Promise<void>;
}
