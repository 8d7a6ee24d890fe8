/**
 * Per-call overrides of a route's timeout and retries, with the meaning of Envoy's router headers:
 * - `timeoutMs` / `x-envoy-upstream-rq-timeout-ms`: replaces the route timeout (0: none), which
 *   covers every attempt;
 * - `maxRetries` / `x-envoy-max-retries`: replaces `num_retries`; with no retry conditions (none on
 *   the route, none given) nothing is retried;
 * - `retryOn` / `x-envoy-retry-on` and `x-envoy-retry-grpc-on`: conditions added to the route's
 *   `retry_on` (a route without a retry policy gets Envoy's default one: 1 retry, 25 ms back-off);
 * - `x-envoy-upstream-rq-per-try-timeout-ms`: replaces `per_try_timeout` (ignored when not shorter
 *   than the route timeout);
 * - `x-envoy-retriable-status-codes` and `x-envoy-retriable-header-names` (names only: present
 *   matches): added to the policy's `retriable_status_codes` / `retriable_headers`;
 * - `x-envoy-hedge-on-per-try-timeout` (`true` / `false`, any other value ignored): replaces the
 *   route's `hedge_policy.hedge_on_per_try_timeout` (Envoy's FilterUtility::finalHedgingParams);
 * - with the router's `respect_expected_rq_timeout`, `x-envoy-expected-rq-timeout-ms` (set by an
 *   egress proxy) is the route timeout, before `x-envoy-upstream-rq-timeout-ms`.
 * The mesh's own calls (`fetch` init, `unary` options, `grpcClient` call options) carry them as
 * these headers; a caller the mesh trusts (the app in embedded mode) has them honoured.
 */
import { compileRetryOn } from '@xmesh/filters';
import type { HeaderMap } from '@xmesh/core';
import type { HeaderMatcher, RetryOn, RetryPolicy } from '@xmesh/xds';
import type { RoutePolicy } from './route-policy.js';

export interface CallOverrides {
  /** Replaces the route's timeout for this call, in ms (0: no route timeout). */
  readonly timeoutMs?: number;
  /** Replaces the route's `num_retries` for this call. */
  readonly maxRetries?: number;
  /** Retry conditions added to the route's `retry_on` for this call (Envoy's names: `5xx`, `connect-failure`, `unavailable`, ...). */
  readonly retryOn?: readonly RetryOn[];
  /** Replaces the route's `per_try_timeout` for this call, in ms (0: none). */
  readonly perTryTimeoutMs?: number;
  /** HTTP statuses added to `retriable_status_codes`. */
  readonly retriableStatusCodes?: readonly number[];
  /** Response header names whose presence makes `retriable-headers` retry. */
  readonly retriableHeaderNames?: readonly string[];
}

/** What a trusted caller's x-envoy-* headers override: the call overrides, and the route's hedging. */
export interface RouterHeaderOverrides extends CallOverrides {
  /** `x-envoy-hedge-on-per-try-timeout`: replaces the route's `hedge_on_per_try_timeout` for this request. */
  readonly hedgeOnPerTryTimeout?: boolean;
}

export const TIMEOUT_HEADER = 'x-envoy-upstream-rq-timeout-ms';
export const MAX_RETRIES_HEADER = 'x-envoy-max-retries';
export const RETRY_ON_HEADER = 'x-envoy-retry-on';
export const RETRY_GRPC_ON_HEADER = 'x-envoy-retry-grpc-on';
export const PER_TRY_TIMEOUT_HEADER = 'x-envoy-upstream-rq-per-try-timeout-ms';
export const RETRIABLE_STATUS_CODES_HEADER = 'x-envoy-retriable-status-codes';
export const RETRIABLE_HEADER_NAMES_HEADER = 'x-envoy-retriable-header-names';
export const HEDGE_ON_PER_TRY_TIMEOUT_HEADER = 'x-envoy-hedge-on-per-try-timeout';
const EXPECTED_TIMEOUT_HEADER = 'x-envoy-expected-rq-timeout-ms';

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
 * ignored, as Envoy ignores them; unknown retry conditions are skipped. `respectExpectedTimeout`:
 * the router's `respect_expected_rq_timeout`.
 */
export function overridesFromHeaders(headers: HeaderMap, respectExpectedTimeout = false): RouterHeaderOverrides | undefined {
  const expected = respectExpectedTimeout ? headers.get(EXPECTED_TIMEOUT_HEADER) : undefined;
  const timeout = expected ?? headers.get(TIMEOUT_HEADER);
  const retries = headers.get(MAX_RETRIES_HEADER);
  const retryOn = headers.get(RETRY_ON_HEADER);
  const retryGrpcOn = headers.get(RETRY_GRPC_ON_HEADER);
  const perTry = headers.get(PER_TRY_TIMEOUT_HEADER);
  const statusCodes = headers.get(RETRIABLE_STATUS_CODES_HEADER);
  const headerNames = headers.get(RETRIABLE_HEADER_NAMES_HEADER);
  const hedge = headers.get(HEDGE_ON_PER_TRY_TIMEOUT_HEADER);
  if (timeout === undefined && retries === undefined && retryOn === undefined && retryGrpcOn === undefined && perTry === undefined && statusCodes === undefined && headerNames === undefined && hedge === undefined) return undefined;
  const timeoutMs = decimal(timeout);
  const maxRetries = decimal(retries);
  const perTryTimeoutMs = decimal(perTry);
  const conditions = [...conditionsOf(retryOn), ...conditionsOf(retryGrpcOn)];
  const retriableStatusCodes = statusCodes === undefined ? [] : statusCodes.split(',').map(decimal).filter((c): c is number => c !== undefined);
  const retriableHeaderNames = headerNames === undefined ? [] : headerNames.split(',').map((n) => n.trim().toLowerCase()).filter((n) => n !== '');
  return {
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(maxRetries === undefined ? {} : { maxRetries }),
    ...(conditions.length === 0 ? {} : { retryOn: conditions }),
    ...(perTryTimeoutMs === undefined ? {} : { perTryTimeoutMs }),
    ...(retriableStatusCodes.length === 0 ? {} : { retriableStatusCodes }),
    ...(retriableHeaderNames.length === 0 ? {} : { retriableHeaderNames }),
    // Envoy honours exactly `true` and `false`.
    ...(hedge === 'true' ? { hedgeOnPerTryTimeout: true } : hedge === 'false' ? { hedgeOnPerTryTimeout: false } : {}),
  };
}

/** `policy` with `overrides` applied (a new object; the route's compiled policy is untouched). */
export function withOverrides(policy: RoutePolicy, overrides: RouterHeaderOverrides): RoutePolicy {
  const action = overrides.timeoutMs === undefined ? policy.action : { ...policy.action, timeoutMs: overrides.timeoutMs };
  const retries = overrides.maxRetries !== undefined || overrides.retryOn !== undefined;
  const extras = overrides.perTryTimeoutMs !== undefined || overrides.retriableStatusCodes !== undefined || overrides.retriableHeaderNames !== undefined;
  const hedge = overrides.hedgeOnPerTryTimeout ?? policy.hedgeOnPerTryTimeout;
  const kept = {
    ...(policy.retriableRequest === undefined ? {} : { retriableRequest: policy.retriableRequest }),
    ...(hedge === true ? { hedgeOnPerTryTimeout: true } : {}),
  };
  if (!retries && !extras) return { action, retry: policy.retry, retryOn: policy.retryOn, ...kept };
  // A per-try timeout applies without a retry policy too; the retriable lists only extend one that retries.
  if (!retries && policy.retry === undefined && overrides.perTryTimeoutMs === undefined) return { action, retry: policy.retry, retryOn: policy.retryOn, ...kept };
  const base = policy.retry ?? { ...DEFAULT_RETRY_POLICY, numRetries: retries ? DEFAULT_RETRY_POLICY.numRetries : 0 };
  const retryOn = overrides.retryOn === undefined ? base.retryOn : [...new Set([...base.retryOn, ...overrides.retryOn])];
  let perTryTimeoutMs = overrides.perTryTimeoutMs ?? base.perTryTimeoutMs;
  // Envoy: a per-try timeout not shorter than the route timeout is none.
  if (perTryTimeoutMs !== undefined && action.timeoutMs > 0 && perTryTimeoutMs >= action.timeoutMs) perTryTimeoutMs = undefined;
  const retry: RetryPolicy = {
    ...base,
    retryOn,
    numRetries: overrides.maxRetries ?? base.numRetries,
    perTryTimeoutMs: perTryTimeoutMs === 0 ? undefined : perTryTimeoutMs,
    retriableStatusCodes: overrides.retriableStatusCodes === undefined ? base.retriableStatusCodes : [...base.retriableStatusCodes, ...overrides.retriableStatusCodes],
    retriableHeaders: overrides.retriableHeaderNames === undefined ? base.retriableHeaders : [...base.retriableHeaders, ...overrides.retriableHeaderNames.map(presentMatcher)],
  };
  return { action, retry, retryOn: retry.numRetries > 0 && retryOn.length > 0 ? compileRetryOn(retry) : undefined, ...kept };
}

/** A name-only header matcher, as Envoy builds one for each `x-envoy-retriable-header-names` entry. */
function presentMatcher(name: string): HeaderMatcher {
  return { name, match: { kind: 'present', present: true }, invertMatch: false, treatMissingHeaderAsEmpty: false };
}

function decimal(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,9}$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

function conditionsOf(value: string | undefined): RetryOn[] {
  if (value === undefined) return [];
  return value.split(',').map((c) => c.trim()).filter((c): c is RetryOn => RETRY_CONDITIONS.has(c));
}
