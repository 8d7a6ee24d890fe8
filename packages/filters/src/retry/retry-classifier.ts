/**
 * Envoy's `retry_on`: whether an attempt's end may be retried. HTTP conditions read the status
 * and how the attempt failed; gRPC conditions read the grpc-status. A per-try timeout counts
 * as a 504 (so `5xx` and `gateway-error` retry it), as in Envoy's router.
 */
import { compileHeaderMatchers, type HeaderPredicate } from '@xmesh/router';
import type { RetryOn, RetryPolicy } from '@xmesh/xds';
import type { AttemptResult } from './attempt-result.js';

const GRPC_CONDITIONS: ReadonlyMap<RetryOn, number> = new Map<RetryOn, number>([
  ['cancelled', 1],
  ['deadline-exceeded', 4],
  ['resource-exhausted', 8],
  ['internal', 13],
  ['unavailable', 14],
]);

export type RetryClassifier = (result: AttemptResult) => boolean;

export function compileRetryOn(policy: RetryPolicy, where = 'retry_policy'): RetryClassifier {
  const on = new Set(policy.retryOn);
  const fiveXx = on.has('5xx');
  const gateway = on.has('gateway-error');
  const reset = on.has('reset') || on.has('reset-before-request');
  const connect = on.has('connect-failure');
  const refused = on.has('refused-stream');
  const retriable4xx = on.has('retriable-4xx');
  const ratelimited = on.has('envoy-ratelimited');
  const statusCodes = on.has('retriable-status-codes') ? new Set(policy.retriableStatusCodes) : undefined;
  const grpcCodes = new Set<number>();
  for (const [condition, code] of GRPC_CONDITIONS) if (on.has(condition)) grpcCodes.add(code);
  const headerMatchers: HeaderPredicate[] = on.has('retriable-headers')
    ? policy.retriableHeaders.map((m, i) => compileHeaderMatchers([m], `${where}.retriable_headers[${i}]`))
    : [];

  return (result) => {
    switch (result.failure) {
      case 'connect':
        return connect || reset || fiveXx || gateway;
      case 'refused':
        return refused || reset || fiveXx || gateway;
      case 'reset':
        return reset || fiveXx || gateway;
      case 'per_try_timeout':
        return fiveXx || gateway;
      case 'none':
        break;
    }
    const status = result.httpStatus;
    if (fiveXx && status >= 500) return true;
    if (gateway && (status === 502 || status === 503 || status === 504)) return true;
    if (retriable4xx && status === 409) return true;
    if (statusCodes?.has(status)) return true;
    if (result.grpcStatus !== undefined && grpcCodes.has(result.grpcStatus)) return true;
    const headers = result.headers;
    if (headers !== undefined) {
      if (ratelimited && headers.has('x-envoy-ratelimited')) return true;
      if (headerMatchers.length > 0) {
        const source = { authority: '', path: '', method: '', headers };
        for (const matches of headerMatchers) if (matches(source)) return true;
      }
    }
    return false;
  };
}
