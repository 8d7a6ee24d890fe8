/** The typed events a Mesh emits. */
import type { FieldError, MeshError } from '@xmesh/core';
import type { MeshMode } from './mode.js';
import type { ResilienceEvents } from '@xmesh/breaker';
import type { XdsConnectionEvent } from './xds-source.js';

/**
 * Includes the resilience events: `breaker.open|halfOpen|close`, `endpoint.ejected|returned`, `overflow`.
 *
 * Start-up replay: `discovery.error`, `config.rejected`, `xds.warning`, `xds.connection` and
 * `xds.ready` emitted before `createMesh` resolved are handed to the first listener registered for
 * them afterwards (on a microtask; at most 100 kept), so errors of the first DNS resolution or the
 * first xDS responses are not lost.
 */
export interface MeshEvents extends ResilienceEvents {
  /** A snapshot became current. */
  'config.applied': (event: { readonly version: string; readonly source: string }) => void;
  /** An update was rejected whole; the previous snapshot keeps serving. */
  'config.rejected': (event: { readonly errors: readonly FieldError[]; readonly source: string }) => void;
  /** The xDS client reported something that changes nothing served (cache in use, excluded or absent resources). */
  'xds.warning': (event: { readonly message: string }) => void;
  /** The ADS stream came up (first response) or went down (`error`, retried in `retryInMs`); the last config keeps serving meanwhile. */
  'xds.connection': (event: XdsConnectionEvent) => void;
  /**
   * Start-up with `xds` has its first whole config applied: from the bootstrap's on-disk cache (the
   * control plane had not answered; its config follows with `config.applied`) or from the control plane.
   */
  'xds.ready': (event: { readonly origin: 'cache' | 'control-plane'; readonly version: string; readonly elapsedMs: number }) => void;
  /** An endpoint source failed to resolve (its last good endpoints are kept). */
  'discovery.error': (event: { readonly error: MeshError }) => void;
  /** The mode settings changed (`setMode`); new calls use them, in-flight calls finish as they started. */
  'mode.changed': (event: { readonly mode: MeshMode; readonly percent: number; readonly address: string; readonly clusters: Readonly<Record<string, MeshMode>> }) => void;
}
