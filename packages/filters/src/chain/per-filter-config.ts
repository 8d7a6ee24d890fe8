/**
 * Which config a filter runs with for one routed call: the most specific `typed_per_filter_config` entry
 * under the filter's name (weighted cluster, then route, then virtual host) replaces the listener's for
 * the filters whose per-route config is a whole config (fault, local_ratelimit, rbac, buffer, csrf); a
 * `disabled` entry turns the filter off for the call. ext_authz and cors read every level themselves
 * (their per-route configs merge rather than replace).
 */
import type { RouteDecision } from '@xmesh/router';
import type { BufferConfig, CompressorConfig, CsrfPolicy, HealthCheckFilterConfig, DecompressorConfig, ExtAuthzConfig, FaultConfig, FilterOverride, HttpFilter, LocalRateLimitConfig, RbacConfig } from '@xmesh/xds';

export type ActiveFilterConfig =
  | { readonly kind: 'local_ratelimit'; readonly config: LocalRateLimitConfig }
  | { readonly kind: 'fault'; readonly config: FaultConfig }
  | { readonly kind: 'rbac'; readonly config: RbacConfig }
  | { readonly kind: 'buffer'; readonly config: BufferConfig }
  | { readonly kind: 'ext_authz'; readonly config: ExtAuthzConfig }
  | { readonly kind: 'cors' }
  | { readonly kind: 'compressor'; readonly config: CompressorConfig }
  | { readonly kind: 'decompressor'; readonly config: DecompressorConfig }
  | { readonly kind: 'csrf'; readonly config: CsrfPolicy }
  | { readonly kind: 'health_check'; readonly config: HealthCheckFilterConfig }
  | { readonly kind: 'grpc_http1_bridge' };

/** The config `filter` runs with for `decision`, or undefined when it is off (or is the router). */
export function activeFilterConfig(filter: HttpFilter, decision: RouteDecision): ActiveFilterConfig | undefined {
  if (filter.kind === 'router') return undefined;
  const override: FilterOverride | undefined =
    decision.weightedEntry.typedPerFilterConfig[filter.name] ??
    decision.route.typedPerFilterConfig[filter.name] ??
    decision.virtualHost.typedPerFilterConfig[filter.name];
  if (override === undefined) return filter;
  if (override.kind === 'disabled') return undefined;
  switch (override.kind) {
    case 'local_ratelimit':
    case 'fault':
    case 'rbac':
    case 'buffer':
    case 'csrf':
      // An override of another filter type cannot configure this one; the decoder reports it.
      return override.kind === filter.kind ? override : filter;
    default:
      return filter;
  }
}
