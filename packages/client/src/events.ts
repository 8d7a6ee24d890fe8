/** The typed events a Mesh emits (eventemitter3: `mesh.on(name, listener)`), with their payloads. */
import type { FieldError, MeshError } from '@xmesh/core';
import type { MeshMode } from './mode.js';
import type { ResilienceEvents } from '@xmesh/breaker';
import type { XdsConnectionEvent } from './xds-source.js';
import type { XdsUpdate } from '@xmesh/discovery';

/** `config.applied`: a snapshot became current. */
export interface ConfigAppliedEvent {
  /** The snapshot's version (per resource type with xDS, e.g. `Listener=v1,RouteConfiguration=v2,...`). */
  readonly version: string;
  /** Where it came from: a file path, `(object)`, `(snapshot)`. */
  readonly source: string;
}

/** `config.rejected`: an update was rejected whole; the previous snapshot keeps serving. */
export interface ConfigRejectedEvent {
  /** Every problem, with its field path (and line, for files). */
  readonly errors: readonly FieldError[];
  /** A file path, `(object)`, or `xds <type URL> nonce <nonce>` for a NACKed xDS response. */
  readonly source: string;
}

/** `xds.warning`: something that changes nothing served (cache in use, excluded or absent resources). */
export interface XdsWarningEvent {
  readonly message: string;
}

/** `xds.ready`: start-up with `xds` has its first whole config applied. */
export interface XdsReadyEvent {
  /** `cache`: the bootstrap's on-disk cache (the control plane had not answered; its config follows with `config.applied`). */
  readonly origin: 'cache' | 'control-plane';
  readonly version: string;
  /** Milliseconds from the start of `createMesh` (mesh clock). */
  readonly elapsedMs: number;
}

/**
 * `xds.update`: the control plane's resources gave a new snapshot (each listener in it whole, gRFC A74);
 * names what it added, changed or removed, by resource type. `config.applied` follows once it is in force.
 */
export type XdsUpdateEvent = XdsUpdate;

/** `discovery.error`: an endpoint source failed to resolve (its last good endpoints are kept). */
export interface DiscoveryErrorEvent {
  /** `XMESH_DNS_FAILED` for a DNS lookup, with the host in the message and the resolver's error as `cause`. */
  readonly error: MeshError;
}

/** `mode.changed`: the mode settings changed (`setMode`); new calls use them, in-flight calls finish as they started. */
export interface ModeChangedEvent {
  readonly mode: MeshMode;
  /** Percentage of calls sent to the sidecar. */
  readonly percent: number;
  /** The sidecar's listener, `host:port`. */
  readonly address: string;
  /** Per-cluster modes that win over `mode` and the ramp. */
  readonly clusters: Readonly<Record<string, MeshMode>>;
}

export type { XdsConnectionEvent };

/**
 * Every event of a Mesh. Includes the resilience events of `@xmesh/breaker`:
 * `breaker.open` `{cluster, errorPercentage}`, `breaker.halfOpen` / `breaker.close` `{cluster}`,
 * `endpoint.ejected` `{cluster, endpoint, reason, durationMs, ejections}`, `endpoint.returned`
 * `{cluster, endpoint}`, `overflow` `{cluster, resource}`.
 *
 * Start-up replay: `discovery.error`, `config.rejected`, `xds.warning`, `xds.connection` and
 * `xds.ready` emitted before `createMesh` resolved are handed to the first listener registered for
 * them afterwards (on a microtask; at most 100 kept), so errors of the first DNS resolution or the
 * first xDS responses are not lost.
 */
export interface MeshEvents extends ResilienceEvents {
  'config.applied': (event: ConfigAppliedEvent) => void;
  'config.rejected': (event: ConfigRejectedEvent) => void;
  'xds.warning': (event: XdsWarningEvent) => void;
  /** The ADS stream came up (its channel connected, or a first response) or went down (`error`, retried in `retryInMs`); the last config keeps serving meanwhile. */
  'xds.connection': (event: XdsConnectionEvent) => void;
  'xds.ready': (event: XdsReadyEvent) => void;
  'xds.update': (event: XdsUpdateEvent) => void;
  'discovery.error': (event: DiscoveryErrorEvent) => void;
  'mode.changed': (event: ModeChangedEvent) => void;
}
