/**
 * The immutable state one call reads, once, at its start. A config swap replaces it whole.
 */
import type { Clock } from '@xmesh/core';
import type { MeshSnapshot } from '@xmesh/xds';
import type { Router } from '@xmesh/router';
import type { ClusterRuntime } from './cluster-runtime.js';
import type { ModeSettings } from './mode.js';
import type { MeshServices } from './mesh-services.js';

export interface MeshState {
  readonly snapshot: MeshSnapshot;
  readonly router: Pick<Router, 'route'> & Partial<Pick<Router, 'routeVia'>>;
  readonly clusters: ReadonlyMap<string, ClusterRuntime>;
  readonly clock: Clock;
  /** The mode switch's settings; undefined means every call is embedded. */
  readonly mode?: ModeSettings;
  /** Per-mesh stats, filters, retry policies; undefined in a bare pipeline (layers then pass calls through). */
  readonly services?: MeshServices;
}
