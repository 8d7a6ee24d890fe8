export { FaultFilter, DELAY_HEADER, ABORT_HEADER, ABORT_GRPC_HEADER, DOWNSTREAM_NODE_HEADER } from './fault/fault-filter.js';
export { activeFilterConfig, type ActiveFilterConfig } from './chain/per-filter-config.js';
export { FilterChain, type FilterCall, type FilterChainOptions } from './chain/filter-chain.js';
export type { AttemptResult } from './retry/attempt-result.js';
export { compileRetryOn, type RetryClassifier } from './retry/retry-classifier.js';
export { retryBackoffMs, retryBackoffCeilingMs } from './retry/backoff.js';
export { overallDeadline, attemptDeadline } from './retry/call-timeouts.js';
