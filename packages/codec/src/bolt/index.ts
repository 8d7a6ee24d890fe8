export * from './constants.js';
export * from './frame.js';
export * from './headers.js';
export * from './status.js';
export * from './hessian.js';
