/**
 * Per-call overrides of a route's timeout and retries, with the meaning of Envoy's router headers:
 * - `timeoutMs` / `x-envoy-upstream-rq-timeout-ms`: replaces the route timeout (0: none), which
 *   covers every attempt;
 * - `maxRetries` / `x-envoy-max-retries`: replaces `num_retries`; with no retry conditions (none on
 *   the route, none given) nothing is retried;
 * - `retryOn` / `x-envoy-retry-on` and `x-envoy-retry-grpc-on`: conditions added to the route's
 *   `retry_on` (a route without a retry policy gets Envoy's default one: 1 retry, 25 ms back-off).
 * The mesh's own calls (`fetch` init, `unary` options, `grpcClient` call options) carry them as
 * these headers; a caller the mesh trusts (the app in embedded mode) has them honoured.
 */
import { compileRetryOn } from '@xmesh/filters';
import type { HeaderMap } from '@xmesh/core';
import type { RetryOn, RetryPolicy } from '@xmesh/xds';
import type { RoutePolicy } from './route-policy.js';

export interface CallOverrides {
  /** Replaces the route's timeout for this call, in ms (0: no route timeout). */
  readonly timeoutMs?: number;
  /** Replaces the route's `num_retries` for this call. */
  readonly maxRetries?: number;
  /** Retry conditions added to the route's `retry_on` for this call (Envoy's names: `5xx`, `connect-failure`, `unavailable`, ...). */
  readonly retryOn?: readonly RetryOn[];
}

export const TIMEOUT_HEADER = 'x-envoy-upstream-rq-timeout-ms';
export const MAX_RETRIES_HEADER = 'x-envoy-max-retries';
export const RETRY_ON_HEADER = 'x-envoy-retry-on';
export const RETRY_GRPC_ON_HEADER = 'x-envoy-retry-grpc-on';

const RETRY_CONDITIONS: ReadonlySet<string> = new Set<RetryOn>([
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'envoy-ratelimited',
  'retriable-4xx', 'refused-stream', 'retriable-status-codes', 'retriable-headers', 'http3-post-connect-failure',
  'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
]);

/** Envoy's retry policy when a route has none and the caller asks for retries. */
const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  retryOn: [],
  numRetries: 1,
  perTryTimeoutMs: undefined,
  perTryIdleTimeoutMs: undefined,
  backOff: Object.freeze({ baseIntervalMs: 25, maxIntervalMs: 250 }),
  retriableStatusCodes: [],
  retriableHeaders: [],
  hostSelectionRetryMaxAttempts: 1,
  avoidPreviousHosts: false,
});

/** The headers that carry `overrides` (for a request's headers or gRPC metadata). */
export function overrideHeaders(overrides: CallOverrides): [string, string][] {
  const out: [string, string][] = [];
  if (overrides.timeoutMs !== undefined) out.push([TIMEOUT_HEADER, String(Math.max(0, Math.floor(overrides.timeoutMs)))]);
  if (overrides.maxRetries !== undefined) out.push([MAX_RETRIES_HEADER, String(Math.max(0, Math.floor(overrides.maxRetries)))]);
  if (overrides.retryOn !== undefined && overrides.retryOn.length > 0) out.push([RETRY_ON_HEADER, overrides.retryOn.join(',')]);
  return out;
}

/**
 * The overrides a request's headers ask for, or undefined when it has none. Malformed values are
 * ignored, as Envoy ignores them; unknown retry conditions are skipped.
 */
export function overridesFromHeaders(headers: HeaderMap): CallOverrides | undefined {
  const timeout = headers.get(TIMEOUT_HEADER);
  const retries = headers.get(MAX_RETRIES_HEADER);
  const retryOn = headers.get(RETRY_ON_HEADER);
  const retryGrpcOn = headers.get(RETRY_GRPC_ON_HEADER);
  if (timeout === undefined && retries === undefined && retryOn === undefined && retryGrpcOn === undefined) return undefined;
  const timeoutMs = decimal(timeout);
  const maxRetries = decimal(retries);
  const conditions = [...conditionsOf(retryOn), ...conditionsOf(retryGrpcOn)];
  return {
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(maxRetries === undefined ? {} : { maxRetries }),
    ...(conditions.length === 0 ? {} : { retryOn: conditions }),
  };
}

/** `policy` with `overrides` applied (a new object; the route's compiled policy is untouched). */
export function withOverrides(policy: RoutePolicy, overrides: CallOverrides): RoutePolicy {
  const action = overrides.timeoutMs === undefined ? policy.action : { ...policy.action, timeoutMs: overrides.timeoutMs };
  if (overrides.maxRetries === undefined && overrides.retryOn === undefined) return { ...policy, action };
  const base = policy.retry ?? DEFAULT_RETRY_POLICY;
  const retryOn = overrides.retryOn === undefined ? base.retryOn : [...new Set([...base.retryOn, ...overrides.retryOn])];
  const retry: RetryPolicy = { ...base, retryOn, numRetries: overrides.maxRetries ?? base.numRetries };
  return { action, retry, retryOn: retry.numRetries > 0 && retryOn.length > 0 ? compileRetryOn(retry) : undefined };
}

function decimal(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,9}$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

function conditionsOf(value: string | undefined): RetryOn[] {
  if (value === undefined) return [];
  return value.split(',').map((c) => c.trim()).filter((c): c is RetryOn => RETRY_CONDITIONS.has(c));
}
