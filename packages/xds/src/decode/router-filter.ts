/**
 * The router filter's settings that change what is sent upstream or what is allowed
 * (`envoy.extensions.filters.http.router.v3.Router`): `suppress_envoy_headers`,
 * `respect_expected_rq_timeout`, `strict_check_headers`. The rest of the message is listed in
 * `ROUTER_IGNORED` (stats, logging, tracing).
 */
import type { RouterFilterConfig } from '../model.js';
import type { Reader } from './reader.js';

/** The headers `strict_check_headers` may name (the proto's `in` rule): the ones the router parses. */
export const STRICT_CHECKABLE_HEADERS: readonly string[] = [
  'x-envoy-upstream-rq-timeout-ms',
  'x-envoy-upstream-rq-per-try-timeout-ms',
  'x-envoy-max-retries',
  'x-envoy-retry-grpc-on',
  'x-envoy-retry-on',
];

/** The settings of router `r`; undefined when all are Envoy's defaults. */
export function decodeRouterConfig(r: Reader): RouterFilterConfig | undefined {
  const suppressEnvoyHeaders = r.bool('suppress_envoy_headers', false);
  const respectExpectedRqTimeout = r.bool('respect_expected_rq_timeout', false);
  const strictCheckHeaders: string[] = [];
  for (const { value, path } of r.list('strict_check_headers')) {
    if (typeof value === 'string' && STRICT_CHECKABLE_HEADERS.includes(value)) strictCheckHeaders.push(value);
    else r.issues.error(path, `must be one of ${STRICT_CHECKABLE_HEADERS.join(', ')}, got ${JSON.stringify(value)}`);
  }
  if (!suppressEnvoyHeaders && !respectExpectedRqTimeout && strictCheckHeaders.length === 0) return undefined;
  return Object.freeze({ suppressEnvoyHeaders, respectExpectedRqTimeout, strictCheckHeaders: Object.freeze(strictCheckHeaders) });
}
