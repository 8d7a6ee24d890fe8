/**
 * `envoy.extensions.filters.http.csrf.v3.CsrfPolicy`, both the filter's config and its per-route config (the most
 * specific one replaces the filter's, as in Envoy): `filter_enabled` (required), `shadow_enabled`,
 * `additional_origins`. The runtime keys are not read: the fractions' `default_value`s decide.
 */
import type { CsrfPolicy } from '../filter-model.js';
import { readStringMatcher } from './matchers.js';
import type { Reader } from './reader.js';
import { runtimeFractionField } from './runtime-fraction.js';

export function decodeCsrfPolicy(r: Reader): CsrfPolicy {
  if (!r.has('filter_enabled')) r.error('filter_enabled', 'is required');
  const filterEnabled = runtimeFractionField(r, 'filter_enabled') ?? { numerator: 0, denominator: 100 };
  const shadowEnabled = runtimeFractionField(r, 'shadow_enabled');
  const additionalOrigins = r.objects('additional_origins').map(readStringMatcher);
  r.finish();
  return { filterEnabled, shadowEnabled, additionalOrigins };
}
