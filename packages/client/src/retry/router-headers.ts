/**
 * The x-envoy-* request headers, as Envoy's connection manager and router treat them, the same in
 * both modes (conn_manager_utility.cc `cleanInternalHeaders`; router.cc `FilterUtility::finalTimeout`,
 * `setTimeoutHeaders`, `Filter::decodeHeaders`; retry_state_impl.cc `createRetryState`):
 * - an internal caller's (the app in embedded mode; a proxied caller the listener deems internal)
 *   timeout and retry headers are read (`call-overrides.ts`) and consumed: the router removes them
 *   before forwarding;
 * - an external caller's are removed unread, with the rest of Envoy's internal-only set and the route
 *   configuration's `internal_only_headers` (and, at the edge — `use_remote_address` — the
 *   downstream-service ones);
 * - x-forwarded-client-cert is removed as `forward_client_cert_details` says (by default always);
 * - every attempt carries `x-envoy-expected-rq-timeout-ms` (what is left of the per-try or route
 *   timeout, when there is one) unless the router sets `suppress_envoy_headers`; and, when the
 *   virtual host asks, `x-envoy-attempt-count` (1, 2, ...) and on retries `x-envoy-is-timeout-retry`.
 * The front ends apply an attempt's `UpstreamHeaderEdits` to the request they send.
 */
import { MeshError, type HeaderMap } from '@xmesh/core';
import type { RouteDecision } from '@xmesh/router';
import type { RouterFilterConfig } from '@xmesh/xds';

export const EXPECTED_TIMEOUT_HEADER = 'x-envoy-expected-rq-timeout-ms';
export const ATTEMPT_COUNT_HEADER = 'x-envoy-attempt-count';
export const IS_TIMEOUT_RETRY_HEADER = 'x-envoy-is-timeout-retry';

/** Request headers the router reads (from an internal caller) and never forwards. */
export const ROUTER_CONSUMED_HEADERS: readonly string[] = Object.freeze([
  'x-envoy-upstream-rq-timeout-ms',
  'x-envoy-upstream-rq-per-try-timeout-ms',
  'x-envoy-max-retries',
  'x-envoy-retry-on',
  'x-envoy-retry-grpc-on',
  'x-envoy-retriable-status-codes',
  'x-envoy-retriable-header-names',
  'x-envoy-hedge-on-per-try-timeout',
  'x-envoy-upstream-stream-duration-ms',
  'x-envoy-upstream-rq-timeout-alt-response',
  'x-envoy-upstream-alt-stat-name',
]);

/** Removed from every external caller's request by the connection manager. */
const EXTERNAL_REMOVED_HEADERS: readonly string[] = Object.freeze([
  ...ROUTER_CONSUMED_HEADERS,
  EXPECTED_TIMEOUT_HEADER,
  'x-envoy-force-trace',
  'x-envoy-ip-tags',
  'x-envoy-original-url',
]);

/** Also removed from an external caller's request at the edge (`use_remote_address`). */
const EDGE_REMOVED_HEADERS: readonly string[] = Object.freeze([
  'x-envoy-decorator-operation',
  'x-envoy-downstream-service-cluster',
  'x-envoy-downstream-service-node',
]);

const XFCC: readonly string[] = Object.freeze(['x-forwarded-client-cert']);

/** What an attempt changes in the request headers it sends: removals first, then values set (replacing). */
export interface UpstreamHeaderEdits {
  readonly remove: readonly string[];
  readonly set: readonly (readonly [name: string, value: string])[];
  /** `set` as a frozen record, for a request that has no headers of its own (made once, when first asked for). */
  alone?: Readonly<Record<string, string>>;
}

/** Applies `edits` to a request's header record (lower-case names). */
export function editHeaderRecord(headers: Record<string, unknown>, edits: UpstreamHeaderEdits): void {
  for (const name of edits.remove) delete headers[name];
  for (const [name, value] of edits.set) headers[name] = value;
}

/** The headers of a request that has none but `edits`: one frozen record per edits object. */
export function editsAlone(edits: UpstreamHeaderEdits): Readonly<Record<string, string>> {
  return (edits.alone ??= Object.freeze(Object.fromEntries(edits.set)));
}

const NONE: readonly never[] = Object.freeze([]);

/** The router filter settings of the listener a call was routed by (Envoy's defaults without one). */
export function routerConfigOf(decision: RouteDecision): RouterFilterConfig | undefined {
  const filters = decision.listener?.httpFilters;
  const router = filters === undefined ? undefined : filters[filters.length - 1];
  return router?.kind === 'router' ? router.config : undefined;
}

/**
 * The request headers of a call that must not go upstream: those of `ROUTER_CONSUMED_HEADERS` it
 * carries (internal caller), or of the external set plus `internal_only_headers` (external caller).
 * A shared empty list when it carries none (the usual case: no copy of the request's headers).
 */
export function headersToRemove(headers: HeaderMap, internal: boolean, decision: RouteDecision, mtls: boolean): readonly string[] {
  // Runs on every call: indexed loops and no closure, so the usual call (none present) allocates nothing.
  let out: string[] | undefined;
  // forward_client_cert_details (mutateXfccRequestHeader): SANITIZE (the default), and FORWARD_ONLY without a client certificate, remove it.
  const xfcc = decision.listener?.forwardClientCert;
  if (xfcc !== 'always_forward_only' && !(xfcc === 'forward_only' && mtls)) out = collectPresent(headers, XFCC, out);
  if (internal) {
    out = collectPresent(headers, ROUTER_CONSUMED_HEADERS, out);
  } else {
    out = collectPresent(headers, EXTERNAL_REMOVED_HEADERS, out);
    if (decision.listener?.callerTrust.useRemoteAddress === true) out = collectPresent(headers, EDGE_REMOVED_HEADERS, out);
    const internalOnly = decision.routeConfig.internalOnlyHeaders;
    if (internalOnly !== undefined) out = collectPresent(headers, internalOnly, out);
  }
  return out ?? NONE;
}

/** `out` plus those of `names` that `headers` carries (a list made only when one is found). */
function collectPresent(headers: HeaderMap, names: readonly string[], out: string[] | undefined): string[] | undefined {
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (headers.get(name) !== undefined) (out ??= []).push(name);
  }
  return out;
}

/**
 * `strict_check_headers`: the first listed header an internal caller sent malformed, as the 400
 * local reply Envoy's router answers with ("invalid header '<name>' with value '<value>'").
 */
export function strictHeaderError(headers: HeaderMap, router: RouterFilterConfig | undefined): MeshError | undefined {
  if (router === undefined) return undefined;
  for (const name of router.strictCheckHeaders) {
    const value = headers.get(name);
    if (value === undefined) continue;
    const valid = name === 'x-envoy-retry-on' ? validConditions(value, HTTP_RETRY_ON) : name === 'x-envoy-retry-grpc-on' ? validConditions(value, GRPC_RETRY_ON) : INTEGER.test(value);
    if (!valid) return new MeshError('XMESH_PROTOCOL', `invalid header '${name}' with value '${value}'`, { httpStatus: 400 });
  }
  return undefined;
}

/** absl::SimpleAtoi into an unsigned integer: optional whitespace and `+`, then digits. */
const INTEGER = /^\s*\+?\d+\s*$/;
/** RetryStateImpl::parseRetryOn's names. */
const HTTP_RETRY_ON: ReadonlySet<string> = new Set([
  '5xx', 'gateway-error', 'connect-failure', 'envoy-ratelimited', 'retriable-4xx', 'refused-stream', 'retriable-status-codes',
  'retriable-headers', 'reset', 'reset-before-request', 'http3-post-connect-failure',
]);
/** RetryStateImpl::parseRetryGrpcOn's names. */
const GRPC_RETRY_ON: ReadonlySet<string> = new Set(['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable']);

function validConditions(value: string, known: ReadonlySet<string>): boolean {
  for (const condition of value.split(',')) if (!known.has(condition.trim())) return false;
  return true;
}

/** The request-side settings of the attempts of one call, read once. */
export interface AttemptHeaderPolicy {
  /** Header names removed from every attempt's request. */
  readonly remove: readonly string[];
  /** False when the router sets `suppress_envoy_headers`. */
  readonly expectedTimeout: boolean;
  /** The virtual host's `include_request_attempt_count`. */
  readonly attemptCount: boolean;
  /** The virtual host's `include_is_timeout_retry_header`. */
  readonly timeoutRetry: boolean;
}

/**
 * The edits of attempt `attempt` (1 for the first): `expectedMs` is the time the attempt may take
 * (the per-try timeout, else the route's, each capped by what is left of the route's; undefined when
 * there is none), `perTryTimedOut` whether the attempt it retries ended on its per-try timeout.
 */
export function attemptHeaderEdits(policy: AttemptHeaderPolicy, attempt: number, expectedMs: number | undefined, perTryTimedOut: boolean): UpstreamHeaderEdits | undefined {
  const set: [string, string][] = [];
  if (policy.expectedTimeout && expectedMs !== undefined) set.push([EXPECTED_TIMEOUT_HEADER, String(expectedMs)]);
  if (policy.attemptCount) set.push([ATTEMPT_COUNT_HEADER, String(attempt)]);
  if (policy.timeoutRetry && attempt > 1) set.push([IS_TIMEOUT_RETRY_HEADER, perTryTimedOut ? 'true' : 'false']);
  if (set.length === 0 && policy.remove.length === 0) return undefined;
  return { remove: policy.remove, set: set.length === 0 ? NONE : set };
}
