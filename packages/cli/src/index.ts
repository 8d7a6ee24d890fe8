export { buildProgram } from './program.js';
export { runValidate, validateFile, type ValidateOutcome, type ValidateOptions } from './validate.js';
export { summarize, routingTable } from './summary.js';
