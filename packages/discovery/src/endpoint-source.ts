import type { Clock, Endpoint, MeshError } from '@xmesh/core';
import type { ClusterConfig } from '@xmesh/xds';
import type { RegistryConnector } from './registry/shared-registries.js';

/** The endpoints of one cluster, kept current by whatever discovers them. */
export interface EndpointSource {
  /** The last good set, frozen. Empty until the first resolution succeeds. */
  readonly endpoints: readonly Endpoint[];
  /** Settles (always resolves) once the first resolution is done, whether it succeeded or failed. */
  readonly ready: Promise<void>;
  /** Called with the new set whenever it changes (DNS: its endpoint ids; a registry: any field). */
  onChange(listener: (endpoints: readonly Endpoint[]) => void): void;
  /** Stops timers and notifications. Idempotent. */
  close(): void;
}

export type DnsLookupFamily = ClusterConfig['dnsLookupFamily'];

export interface SourceOptions {
  /** Schedules DNS refreshes. Default: the system clock. */
  clock?: Clock;
  /** Resolves a hostname to addresses; default `dns.promises.lookup({ all: true })` honouring `dns_lookup_family`. */
  resolve?: (host: string, family: DnsLookupFamily) => Promise<string[]>;
  /** Resolution failures (XMESH_DNS_FAILED, XMESH_REGISTRY_UNAVAILABLE); the last good answer is kept. */
  onError?: (error: MeshError) => void;
  /** Registry clients for registry-backed clusters (`metadata.filter_metadata.xmesh.registry`). */
  registries?: RegistryConnector;
}
