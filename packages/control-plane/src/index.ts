export { ControlPlane, SERVER_OPTIONS, type ControlPlaneOptions, type SetSnapshotOptions, type ResourceRef } from './control-plane.js';
export { MAX_NAMES_PER_TYPE, MAX_TYPES_PER_STREAM } from './session.js';
export { serveRegistry, registryClustersAsEds, type RegistryFeed } from './registry-feed.js';
export {
  consoleLogger, silentLogger, shortType,
  type ControlPlaneEvents, type ControlPlaneLogger, type StreamInfo, type StreamMode, type AckEvent, type NackEvent, type ResponseEvent,
} from './events.js';
export { encodeSnapshot, resourceList, resourceName, type ServedResource, type ServedSnapshot } from './resources.js';
export { serveFile, type FileSourceOptions, type FileSource } from './file-source.js';
export { runControlPlane, type RunControlPlaneOptions } from './run.js';
