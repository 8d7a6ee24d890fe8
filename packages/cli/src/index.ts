export { buildProgram } from './program.js';
export { runValidate, validateFile, formatInvalid, type ValidateOutcome, type ValidateOptions } from './validate.js';
export { summarize, routingTable } from './summary.js';
