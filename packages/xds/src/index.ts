export * from './model.js';
export * from './type-urls.js';
export { buildSnapshot, buildSnapshotOrThrow, invalidConfig, type BuildResult, type BuildOptions } from './snapshot.js';
export { deepFreeze } from './freeze.js';
export * from './proto/index.js';
export { parseConfigText, withLines, splitPath, type ParseResult } from './text.js';
export { IGNORED_ENVOY_FIELDS, type IgnoredField } from './ignored.js';
export { DEFAULT_THRESHOLDS } from './decode/circuit-breakers.js';
export { DEFAULT_OUTLIER_DETECTION } from './decode/outlier-detection.js';
