/** The typed events a Mesh emits. */
import type { FieldError, MeshError } from '@xmesh/core';
import type { MeshMode } from './mode.js';
import type { ResilienceEvents } from '@xmesh/breaker';

/** Includes the resilience events: `breaker.open|halfOpen|close`, `endpoint.ejected|returned`, `overflow`. */
export interface MeshEvents extends ResilienceEvents {
  /** A snapshot became current. */
  'config.applied': (event: { readonly version: string; readonly source: string }) => void;
  /** An update was rejected whole; the previous snapshot keeps serving. */
  'config.rejected': (event: { readonly errors: readonly FieldError[]; readonly source: string }) => void;
  /** The xDS client reported something that changes nothing served (cache in use, excluded or absent resources). */
  'xds.warning': (event: { readonly message: string }) => void;
  /** An endpoint source failed to resolve (its last good endpoints are kept). */
  'discovery.error': (event: { readonly error: MeshError }) => void;
  /** The mode settings changed (`setMode`); new calls use them, in-flight calls finish as they started. */
  'mode.changed': (event: { readonly mode: MeshMode; readonly percent: number; readonly address: string; readonly clusters: Readonly<Record<string, MeshMode>> }) => void;
}
