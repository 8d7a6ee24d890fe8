import type { Endpoint } from '@xmesh/core';
import type { EndpointSource } from './endpoint-source.js';

/**
 * A source whose endpoints never change: STATIC clusters and EDS clusters (whose updates arrive
 * as a new ClusterConfig, hence a new source). Ready at once; `onChange` never fires.
 */
export class FixedSource implements EndpointSource {
  readonly ready: Promise<void> = Promise.resolve();

  constructor(readonly endpoints: readonly Endpoint[]) {}

  onChange(): void {}

  close(): void {}
}
