/**
 * The HTTP filter chain of an HttpConnectionManager. Filters are identified by their `typed_config`
 * `@type`; the router must be present exactly once, as the last filter (Envoy's rule).
 */
import type { HttpFilter } from '../model.js';
import { TypeUrl } from '../type-urls.js';
import { decodeFault } from './fault.js';
import { decodeLocalRateLimit } from './local-ratelimit.js';
import { decodeRbac } from './rbac.js';
import { decodeExtAuthz } from './ext-authz.js';
import { decodeBuffer } from './buffer.js';
import { decodeCompressor } from './compressor.js';
import { decodeDecompressor } from './decompressor.js';
import { decodeCsrfPolicy } from './csrf.js';
import { decodeHealthCheckFilter } from './health-check-filter.js';
import { describeType, ignoreAll, rejectUnsupported } from './fields.js';
import { Reader } from './reader.js';
import { decodeRouterConfig } from './router-filter.js';

/** Router fields xmesh reads but does not act on, with the reason. */
export const ROUTER_IGNORED: Readonly<Record<string, string>> = {
  dynamic_stats: 'stats are always kept per cluster',
  start_child_span: 'with OpenTelemetry the upstream traceparent is a new span either way; refused with the Zipkin tracer (each attempt would get a span of its own)',
  upstream_log: 'upstream access logging is not implemented',
  upstream_log_options: 'upstream access logging is not implemented',
  suppress_grpc_request_failure_code_stats: 'per gRPC code failure stats are not kept',
};

/**
 * HTTP filters that can never allow or deny a request, route it elsewhere or change what is sent
 * upstream: with `is_optional: true` they are skipped (Envoy skips optional filters it does not
 * know), and only they are offered that hint. Every other filter is refused even when optional:
 * Envoy knows and runs them, so skipping one could switch off authorization, rate limiting or a
 * rewrite without a word.
 */
export const SKIPPABLE_HTTP_FILTERS: Readonly<Record<string, string>> = {
  'envoy.extensions.filters.http.grpc_stats.v3.FilterConfig': 'gRPC stats only',
  'envoy.extensions.filters.http.tap.v3.Tap': 'traffic capture only',
};

/** The filters xmesh implements, by the name Envoy registers them under (used when `typed_config` is absent). */
const FILTERS_BY_NAME: Readonly<Record<string, string>> = {
  'envoy.filters.http.router': TypeUrl.Router,
  'envoy.filters.http.local_ratelimit': TypeUrl.LocalRateLimit,
  'envoy.filters.http.fault': TypeUrl.HttpFault,
  'envoy.filters.http.cors': TypeUrl.Cors,
  'envoy.filters.http.rbac': TypeUrl.Rbac,
  'envoy.filters.http.grpc_http1_bridge': TypeUrl.GrpcHttp1Bridge,
};

/** Decodes the list field `key` (`http_filters`) of an HttpConnectionManager. */
export function httpFiltersField(hcm: Reader, key: string): HttpFilter[] {
  const out: HttpFilter[] = [];
  const routers: string[] = [];
  let undecoded = 0;
  const items = hcm.list(key);
  items.forEach(({ value, path }) => {
    const f = Reader.of(value, path, hcm.issues);
    const filter = f ? readHttpFilter(f) : 'failed';
    if (filter === 'failed') undecoded++;
    else if (filter !== 'skipped') {
      if (filter.kind === 'router') routers.push(path);
      out.push(filter);
    }
  });
  const last = items[items.length - 1];
  // A gRPC client's HCM may list no filter at all: its channel is the router (gRFC A39).
  const grpc = hcm.issues.rules === 'grpc';
  // A filter that could not be decoded may be the router: its own error is the only one reported.
  if (routers.length === 0 && undecoded === 0 && !(grpc && items.length === 0)) {
    hcm.error(key, `the router (${TypeUrl.Router}) must be the last filter, and there is none`);
  }
  if (grpc) checkUniqueNames(hcm, items);
  for (const path of routers) {
    if (path !== last?.path) hcm.issues.error(path, 'the router must be the last filter');
  }
  return out;
}

/** gRFC A39: a gRPC client refuses two HTTP filters with one name (it keys their per-route overrides by name). */
function checkUniqueNames(hcm: Reader, items: readonly { value: unknown; path: string }[]): void {
  const seen = new Map<string, string>();
  for (const { value, path } of items) {
    const name = value !== null && typeof value === 'object' ? (value as { name?: unknown }).name : undefined;
    if (typeof name !== 'string' || name === '') continue;
    const first = seen.get(name);
    if (first === undefined) seen.set(name, path);
    else hcm.issues.error(`${path}.name`, `duplicate HTTP filter name "${name}" (first at ${first})`);
  }
}

/** The filter; 'skipped' for an optional filter left out; 'failed' when it could not be decoded (reported). */
function readHttpFilter(f: Reader): HttpFilter | 'skipped' | 'failed' {
  const name = f.requiredStr('name');
  const optional = f.bool('is_optional', false);
  if (f.bool('disabled', false)) f.error('disabled', 'is not supported: filters disabled by default are not implemented');
  rejectUnsupported(f, { config_discovery: 'filter configs must be given inline in typed_config' });
  let any = f.obj('typed_config');
  f.finish();
  if (!any) {
    if (f.has('config_discovery')) return 'failed';
    // Without typed_config Envoy finds the filter by its name and configures it with defaults
    // (RegistryUtils::getAndCheckFactory, source/common/config/registry_utils.h).
    const type = FILTERS_BY_NAME[name];
    if (type === undefined) {
      if (name !== '') f.error('typed_config', `is required: no HTTP filter xmesh implements is named "${name}" (${Object.keys(FILTERS_BY_NAME).join(', ')})`);
      return 'failed';
    }
    any = Reader.of({ '@type': type }, `${f.path}.typed_config`, f.issues)!;
  }
  const type = any.raw['@type'];
  switch (type) {
    case TypeUrl.Router: {
      const config = decodeRouterConfig(any);
      ignoreAll(any, ROUTER_IGNORED);
      rejectUnsupported(any, { upstream_http_filters: 'upstream HTTP filters are not implemented' });
      any.finish();
      return config === undefined ? { kind: 'router', name } : { kind: 'router', name, config };
    }
    case TypeUrl.LocalRateLimit:
      return { kind: 'local_ratelimit', name, config: decodeLocalRateLimit(any, { perRoute: false }) };
    case TypeUrl.HttpFault:
      return { kind: 'fault', name, config: decodeFault(any) };
    case TypeUrl.Csrf:
      return { kind: 'csrf', name, config: decodeCsrfPolicy(any) };
    case TypeUrl.HealthCheckFilter:
      return { kind: 'health_check', name, config: decodeHealthCheckFilter(any) };
    case TypeUrl.GrpcHttp1Bridge:
      // Both would change what is sent upstream: refused while they are not implemented.
      if (any.bool('upgrade_protobuf_to_grpc', false)) any.error('upgrade_protobuf_to_grpc', 'is not supported: application/x-protobuf requests are not framed as gRPC');
      if (any.bool('ignore_query_parameters', false)) any.error('ignore_query_parameters', 'is not supported: the query is forwarded as it came');
      any.finish();
      return { kind: 'grpc_http1_bridge', name };
    case TypeUrl.Rbac:
      return { kind: 'rbac', name, config: decodeRbac(any, { perRoute: false }) };
    case TypeUrl.ExtAuthz:
      return { kind: 'ext_authz', name, config: decodeExtAuthz(any) };
    case TypeUrl.Cors:
      // The filter's own config is empty: the policies are the routes'.
      any.finish();
      return { kind: 'cors', name };
    case TypeUrl.Buffer:
      return { kind: 'buffer', name, config: decodeBuffer(any) };
    case TypeUrl.Compressor:
      return { kind: 'compressor', name, config: decodeCompressor(any) };
    case TypeUrl.Decompressor:
      return { kind: 'decompressor', name, config: decodeDecompressor(any) };
    default: {
      const message = typeof type === 'string' ? type.slice(type.lastIndexOf('/') + 1) : '';
      const skippable = SKIPPABLE_HTTP_FILTERS[message] !== undefined;
      if (optional && skippable) {
        f.issues.ignored.push(f.path);
        return 'skipped';
      }
      let why: string;
      if (type === undefined) why = 'is required';
      else if (skippable) why = `unsupported HTTP filter ${describeType(type)} (set is_optional: true to skip it: it cannot allow or deny requests)`;
      else if (optional) why = `unsupported HTTP filter ${describeType(type)}; is_optional does not skip it: Envoy runs it, and leaving it out could change what is allowed or sent`;
      else why = `unsupported HTTP filter ${describeType(type)}`;
      any.issues.error(any.at('@type'), why);
      return 'failed';
    }
  }
}
