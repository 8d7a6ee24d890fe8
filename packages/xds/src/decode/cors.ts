/**
 * CORS policies: `envoy.extensions.filters.http.cors.v3.CorsPolicy` (typed_per_filter_config of the CORS
 * filter) and the deprecated `cors` of virtual hosts and route actions (`config.route.v3.CorsPolicy`), which
 * the filter reads when no per-filter policy is given. Both have the same fields.
 */
import type { CorsPolicy } from '../filter-model.js';
import { readStringMatcher } from './matchers.js';
import type { Reader } from './reader.js';
import { runtimeFractionField } from './runtime-fraction.js';

export function decodeCorsPolicy(r: Reader): CorsPolicy {
  const allowOriginStringMatch = r.objects('allow_origin_string_match').map(readStringMatcher);
  const allowMethods = r.str('allow_methods') ?? '';
  const allowHeaders = r.str('allow_headers') ?? '';
  const exposeHeaders = r.str('expose_headers') ?? '';
  const maxAge = r.str('max_age') ?? '';
  const allowCredentials = optionalBool(r, 'allow_credentials');
  const filterEnabled = runtimeFractionField(r, 'filter_enabled');
  const shadowEnabled = runtimeFractionField(r, 'shadow_enabled');
  const allowPrivateNetworkAccess = optionalBool(r, 'allow_private_network_access');
  const forwardNotMatchingPreflights = optionalBool(r, 'forward_not_matching_preflights');
  r.finish();
  return {
    allowOriginStringMatch, allowMethods, allowHeaders, exposeHeaders, maxAge, allowCredentials, filterEnabled, shadowEnabled,
    allowPrivateNetworkAccess, forwardNotMatchingPreflights,
  };
}

/** A `google.protobuf.BoolValue` field: undefined when absent (the filter then looks at less specific policies). */
function optionalBool(r: Reader, key: string): boolean | undefined {
  return r.has(key) ? r.bool(key, false) : undefined;
}
