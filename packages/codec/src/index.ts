export * from './framing.js';
export * from './compression.js';
export * from './codec.js';
export * from './json.js';
export * from './protobuf.js';
export * from './registry.js';
export * from './bolt/index.js';
