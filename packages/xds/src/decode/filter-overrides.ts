/**
 * `typed_per_filter_config` (route configuration, virtual host, route, weighted cluster): a map from HTTP
 * filter name to an Any. Whether the name matches a filter of the listener is checked elsewhere.
 */
import type { Dict, FilterOverride } from '../model.js';
import { TypeUrl } from '../type-urls.js';
import { decodeFault } from './fault.js';
import { decodeLocalRateLimit } from './local-ratelimit.js';
import { decodeRbac } from './rbac.js';
import { decodeExtAuthzPerRoute } from './ext-authz.js';
import { decodeCorsPolicy } from './cors.js';
import { decodeBufferPerRoute } from './buffer.js';
import { decodeCompressorPerRoute } from './compressor.js';

/** The per-route config types xmesh reads, by `@type`. */
const OVERRIDE_TYPES: ReadonlySet<unknown> = new Set([
  TypeUrl.LocalRateLimit, TypeUrl.HttpFault, TypeUrl.RbacPerRoute, TypeUrl.ExtAuthzPerRoute, TypeUrl.CorsPolicy, TypeUrl.BufferPerRoute,
  TypeUrl.CompressorPerRoute,
]);
import { Reader } from './reader.js';

/** Decodes the map field `key` of `r`; an absent field is an empty map. Maps have a null prototype. */
export function filterOverridesField(r: Reader, key: string): Dict<FilterOverride> {
  const map = r.obj(key);
  const out: Record<string, FilterOverride> = Object.create(null);
  if (!map) return out;
  for (const name of Object.keys(map.raw)) {
    const entry = Reader.of(map.get(name), map.at(name), map.issues);
    const override = entry ? readOverride(entry) : undefined;
    if (override) out[name] = override;
  }
  map.finish();
  return out;
}

/** One Any of the map; undefined when it is invalid or an unknown optional filter. */
function readOverride(any: Reader): FilterOverride | undefined {
  const type = any.raw['@type'];
  switch (type) {
    case TypeUrl.LocalRateLimit:
      return { kind: 'local_ratelimit', config: decodeLocalRateLimit(any, { perRoute: true }) };
    case TypeUrl.HttpFault:
      return { kind: 'fault', config: decodeFault(any) };
    case TypeUrl.RbacPerRoute:
      return { kind: 'rbac', config: decodeRbac(any, { perRoute: true }) };
    case TypeUrl.ExtAuthzPerRoute:
      return { kind: 'ext_authz', config: decodeExtAuthzPerRoute(any) };
    case TypeUrl.CorsPolicy:
      return { kind: 'cors', config: decodeCorsPolicy(any) };
    case TypeUrl.BufferPerRoute:
      return decodeBufferPerRoute(any);
    case TypeUrl.CompressorPerRoute:
      return decodeCompressorPerRoute(any);
    case TypeUrl.FilterConfig:
      return readFilterConfig(any);
    case undefined:
      any.issues.error(any.at('@type'), 'is required');
      return undefined;
    default:
      // The config of a filter xmesh does not implement: inert unless that filter is in a listener's
      // chain, and such a listener is refused for the filter itself. Ignored, so the filter's refusal is
      // the one error reported (and route configs shared with other listeners still load).
      any.issues.ignored.push(any.path);
      return undefined;
  }
}

/**
 * `envoy.config.route.v3.FilterConfig`: `disabled: true` turns the filter off here; otherwise `config`
 * carries the override. With `is_optional`, an unknown config type is ignored rather than an error.
 */
function readFilterConfig(r: Reader): FilterOverride | undefined {
  const disabled = r.bool('disabled', false);
  const optional = r.bool('is_optional', false);
  const inner = r.obj('config');
  r.finish();
  if (!inner) {
    if (!disabled) r.error('config', 'is required unless disabled is true');
    return disabled ? { kind: 'disabled' } : undefined;
  }
  const type = inner.raw['@type'];
  if (optional && !OVERRIDE_TYPES.has(type)) {
    r.issues.ignored.push(inner.path);
    return disabled ? { kind: 'disabled' } : undefined;
  }
  if (type === TypeUrl.FilterConfig) {
    inner.issues.error(inner.at('@type'), 'a FilterConfig cannot wrap another FilterConfig');
    return undefined;
  }
  const override = readOverride(inner);
  return disabled ? { kind: 'disabled' } : override;
}
