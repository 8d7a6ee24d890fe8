/** Test helper: a routed decision with the given filters and per-filter overrides. */
import type { RouteDecision } from '@xmesh/router';
import type { FilterOverride, HttpFilter, RateLimit, RouteAction } from '@xmesh/xds';

export interface DecisionSpec {
  readonly filters: readonly HttpFilter[];
  readonly routeOverrides?: Record<string, FilterOverride>;
  readonly vhostOverrides?: Record<string, FilterOverride>;
  readonly clusterOverrides?: Record<string, FilterOverride>;
  readonly rateLimits?: readonly RateLimit[];
  readonly cluster?: string;
  readonly action?: Partial<RouteAction>;
}

export function decisionOf(spec: DecisionSpec): RouteDecision {
  const cluster = spec.cluster ?? 'backend';
  const weightedEntry = { name: cluster, weight: 1, typedPerFilterConfig: spec.clusterOverrides ?? {} };
  const action = {
    clusters: [weightedEntry], totalWeight: 1, timeoutMs: 15_000, idleTimeoutMs: undefined, retryPolicy: undefined, hashPolicy: [],
    rateLimits: spec.rateLimits ?? [], prefixRewrite: undefined, hostRewriteLiteral: undefined, maxStreamDurationMs: undefined,
    grpcTimeoutHeaderMaxMs: undefined, grpcTimeoutHeaderOffsetMs: undefined, ...spec.action,
  } as RouteAction;
  const route = { name: 'r', match: {} as never, action, typedPerFilterConfig: spec.routeOverrides ?? {} };
  const virtualHost = { name: 'vh', domains: ['*'], routes: [route], retryPolicy: undefined, rateLimits: [], typedPerFilterConfig: spec.vhostOverrides ?? {} };
  const listener = { name: 'mesh', address: undefined, statPrefix: 'mesh', routeConfigName: 'rc', rds: false, httpFilters: spec.filters };
  return { listener, routeConfig: { name: 'rc', virtualHosts: [virtualHost] }, virtualHost, route, cluster, weightedEntry };
}
