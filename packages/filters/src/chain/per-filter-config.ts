/**
 * Which config a filter runs with for one routed call: the most specific `typed_per_filter_config`
 * entry under the filter's name (weighted cluster, then route, then virtual host) replaces the
 * listener's; a `disabled` entry turns the filter off for the call.
 */
import type { RouteDecision } from '@xmesh/router';
import type { FilterOverride, HttpFilter } from '@xmesh/xds';

export type ActiveFilterConfig =
  | { readonly kind: 'local_ratelimit'; readonly config: import('@xmesh/xds').LocalRateLimitConfig }
  | { readonly kind: 'fault'; readonly config: import('@xmesh/xds').FaultConfig };

/** The config `filter` runs with for `decision`, or undefined when it is off (or is the router). */
export function activeFilterConfig(filter: HttpFilter, decision: RouteDecision): ActiveFilterConfig | undefined {
  if (filter.kind === 'router') return undefined;
  const override: FilterOverride | undefined =
    decision.weightedEntry.typedPerFilterConfig[filter.name] ??
    decision.route.typedPerFilterConfig[filter.name] ??
    decision.virtualHost.typedPerFilterConfig[filter.name];
  if (override === undefined) return filter;
  if (override.kind === 'disabled') return undefined;
  // An override of another filter type cannot configure this one; the decoder reports it.
  return override.kind === filter.kind ? override : filter;
}
