export { loadEnvoyProtos, ENVOY_PROTO_FILES, type EnvoyProtos } from './load.js';
export { decodeResource, encodeResource, anyType, type AnyResource } from './resource.js';
export { snapshotFromAnys } from './snapshot-from-anys.js';
export { formatDuration, parseDuration, type JsonValue } from './wkt.js';
export { decodeLoadAssignmentWire, MAX_STRUCT_DEPTH, type WireLoadAssignment } from './load-assignment-wire.js';
