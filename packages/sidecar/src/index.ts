export { startSidecar, Sidecar, splitHostPort, type SidecarOptions, type BoundAddress } from './sidecar.js';
export { runSidecar, type RunSidecarOptions } from './run.js';
export { SidecarStats, SIDECAR_STAT_PREFIX } from './stats.js';
export { DualListener, type DualListenerHandlers, type DualListenerOptions, type ListenerEvents } from './listener.js';
export { defaultSidecarLimits, downstreamProtectionOf, DEFAULT_MAX_GRPC_MESSAGE_BYTES, type SidecarLimits } from './protection.js';
export { grpcLocalReply, httpLocalReply } from '@xmesh/client';
export { BoltListeners, type BoltBound, type SidecarBoltOptions } from './bolt/bolt-listeners.js';
export { BoltFront } from './bolt/bolt-front.js';
