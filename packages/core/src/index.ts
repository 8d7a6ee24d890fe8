export * from './errors.js';
export * from './endpoint.js';
export * from './clock.js';
export * from './disposable.js';
export * from './call.js';
export * from './connection-backoff.js';
export * from './grpc-status.js';
export * from './lazy-require.js';
