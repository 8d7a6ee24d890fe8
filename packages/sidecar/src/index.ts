export { startSidecar, Sidecar, splitHostPort, type SidecarOptions, type BoundAddress } from './sidecar.js';
export { runSidecar, type RunSidecarOptions } from './run.js';
export { SidecarStats, SIDECAR_STAT_PREFIX } from './stats.js';
export { DualListener, type DualListenerHandlers, type DualListenerOptions } from './listener.js';
export { grpcLocalReply, httpLocalReply } from '@xmesh/client';
export { BoltListeners, type BoltBound, type SidecarBoltOptions } from './bolt/bolt-listeners.js';
export { BoltFront } from './bolt/bolt-front.js';
