/**
 * The embedded-mode building blocks a mesh composes. Defaults are the real packages; tests may
 * substitute any of them.
 */
import { Router } from '@xmesh/router';
import { createBalancer } from '@xmesh/balancer';
import { createEndpointSource, sameSource } from '@xmesh/discovery';
import type { MeshSnapshot } from '@xmesh/xds';

export interface MeshComponents {
  readonly createRouter: (snapshot: MeshSnapshot, options: { listener?: string }) => Pick<Router, 'route'>;
  readonly createBalancer: typeof createBalancer;
  readonly createEndpointSource: typeof createEndpointSource;
  readonly sameSource: typeof sameSource;
}

export const defaultComponents: MeshComponents = Object.freeze({
  createRouter: (snapshot: MeshSnapshot, options: { listener?: string }) => new Router(snapshot, options),
  createBalancer,
  createEndpointSource,
  sameSource,
});
