/**
 * The HTTP filter chain of an HttpConnectionManager. Filters are identified by their `typed_config`
 * `@type`; the router must be present exactly once, as the last filter (Envoy's rule).
 */
import type { HttpFilter } from '../model.js';
import { TypeUrl } from '../type-urls.js';
import { decodeFault } from './fault.js';
import { decodeLocalRateLimit } from './local-ratelimit.js';
import { describeType, ignoreAll, rejectUnsupported } from './fields.js';
import { Reader } from './reader.js';

/** Router fields xmesh reads but does not act on, with the reason. */
export const ROUTER_IGNORED: Readonly<Record<string, string>> = {
  dynamic_stats: 'stats are always kept per cluster',
  start_child_span: 'tracing spans are created by the app',
  upstream_log: 'upstream access logging is not implemented',
  upstream_log_options: 'upstream access logging is not implemented',
  suppress_envoy_headers: 'x-envoy-* headers are never sent',
  strict_check_headers: 'x-envoy-* request headers are not read',
  respect_expected_rq_timeout: 'x-envoy-expected-rq-timeout-ms is not read',
  suppress_grpc_request_failure_code_stats: 'per gRPC code failure stats are not kept',
};

/** Decodes the list field `key` (`http_filters`) of an HttpConnectionManager. */
export function httpFiltersField(hcm: Reader, key: string): HttpFilter[] {
  const out: HttpFilter[] = [];
  const routers: string[] = [];
  const items = hcm.list(key);
  items.forEach(({ value, path }) => {
    const f = Reader.of(value, path, hcm.issues);
    if (!f) return;
    const filter = readHttpFilter(f);
    if (filter?.kind === 'router') routers.push(path);
    if (filter) out.push(filter);
  });
  const last = items[items.length - 1];
  if (routers.length === 0) {
    hcm.error(key, `the router (${TypeUrl.Router}) must be the last filter, and there is none`);
  }
  for (const path of routers) {
    if (path !== last?.path) hcm.issues.error(path, 'the router must be the last filter');
  }
  return out;
}

function readHttpFilter(f: Reader): HttpFilter | undefined {
  const name = f.requiredStr('name');
  const optional = f.bool('is_optional', false);
  if (f.bool('disabled', false)) f.error('disabled', 'is not supported: filters disabled by default are not implemented');
  rejectUnsupported(f, { config_discovery: 'filter configs must be given inline in typed_config' });
  const any = f.obj('typed_config');
  if (!any && !f.has('config_discovery')) f.error('typed_config', 'is required');
  f.finish();
  if (!any) return undefined;
  const type = any.raw['@type'];
  switch (type) {
    case TypeUrl.Router:
      ignoreAll(any, ROUTER_IGNORED);
      rejectUnsupported(any, { upstream_http_filters: 'upstream HTTP filters are not implemented' });
      any.finish();
      return { kind: 'router', name };
    case TypeUrl.LocalRateLimit:
      return { kind: 'local_ratelimit', name, config: decodeLocalRateLimit(any, { perRoute: false }) };
    case TypeUrl.HttpFault:
      return { kind: 'fault', name, config: decodeFault(any) };
    default:
      if (optional) {
        f.issues.ignored.push(f.path);
        return undefined;
      }
      any.issues.error(any.at('@type'), type === undefined ? 'is required' : `unsupported HTTP filter ${describeType(type)} (set is_optional: true to skip it)`);
      return undefined;
  }
}
