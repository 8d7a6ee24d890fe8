/**
 * `envoy.filters.http.cors`: the route's CORS policies (its `typed_per_filter_config` CorsPolicy at the
 * weighted cluster, route and virtual host, else the route's and virtual host's `cors`), each field taken
 * from the most specific policy that sets it, as Envoy's filter takes them.
 * - A request with an `Origin` is a CORS request when the first policy is enabled (`filter_enabled`, 100 %
 *   by default); with only `shadow_enabled` the origin is checked and counted, nothing more.
 * - A preflight (OPTIONS with `Access-Control-Request-Method`) is answered 200 with the allow headers,
 *   unless its origin is not allowed and `forward_not_matching_preflights` (default true) sends it upstream.
 * - Other CORS requests from an allowed origin get `access-control-allow-origin` (the origin),
 *   `-allow-credentials` and `-expose-headers` on their response.
 * Stats: `http.<hcm>.cors.origin_valid`, `origin_invalid`.
 */
import { ErrorCode, MeshError } from '@xmesh/core';
import { compileStringMatch, type HeaderSource, type RouteDecision, type StringPredicate } from '@xmesh/router';
import { fractionHit } from '@xmesh/ratelimit';
import type { Counter } from '@xmesh/stats';
import type { CorsPolicy } from '@xmesh/xds';

export interface CorsStats {
  readonly originValid: Counter;
  readonly originInvalid: Counter;
}

/** What the filter decided for one request: go on (maybe with response headers), or answer the preflight. */
export type CorsOutcome = { readonly responseHeaders: Readonly<Record<string, string>> | undefined } | MeshError;

const PASS: CorsOutcome = Object.freeze({ responseHeaders: undefined });

export class CorsFilter {
  private readonly origins = new WeakMap<CorsPolicy, readonly StringPredicate[]>();

  constructor(private readonly random: () => number) {}

  run(request: HeaderSource, decision: RouteDecision, filterName: string, stats: CorsStats): CorsOutcome {
    const policies = policiesOf(decision, filterName);
    if (policies.length === 0) return PASS;
    const first = policies[0]!;
    const enabled = first.filterEnabled === undefined || fractionHit(first.filterEnabled, this.random);
    const shadow = first.shadowEnabled !== undefined && fractionHit(first.shadowEnabled, this.random);
    if (!enabled && !shadow) return PASS;
    const origin = request.headers.get('origin');
    if (origin === undefined || origin === '') return PASS;
    const allowed = this.originAllowed(policies, origin);
    if (allowed) stats.originValid.inc();
    else stats.originInvalid.inc();
    if (!enabled) return PASS;
    const credentials = pick(policies, (p) => p.allowCredentials) ?? false;
    const preflight = request.method === 'OPTIONS' && (request.headers.get('access-control-request-method') ?? '') !== '';
    if (!preflight) {
      if (!allowed) return PASS;
      const headers: Record<string, string> = { 'access-control-allow-origin': origin };
      if (credentials) headers['access-control-allow-credentials'] = 'true';
      const expose = pickString(policies, (p) => p.exposeHeaders);
      if (expose !== '') headers['access-control-expose-headers'] = expose;
      return { responseHeaders: headers };
    }
    if (!allowed && (pick(policies, (p) => p.forwardNotMatchingPreflights) ?? true)) return PASS;
    const headers: [string, string][] = [];
    if (allowed) headers.push(['access-control-allow-origin', origin]);
    if (credentials) headers.push(['access-control-allow-credentials', 'true']);
    const methods = pickString(policies, (p) => p.allowMethods);
    if (methods !== '') headers.push(['access-control-allow-methods', methods === '*' ? request.headers.get('access-control-request-method') ?? '' : methods]);
    const allowHeaders = pickString(policies, (p) => p.allowHeaders);
    if (allowHeaders !== '') headers.push(['access-control-allow-headers', allowHeaders === '*' ? request.headers.get('access-control-request-headers') ?? '' : allowHeaders]);
    const maxAge = pickString(policies, (p) => p.maxAge);
    if (maxAge !== '') headers.push(['access-control-max-age', maxAge]);
    if ((pick(policies, (p) => p.allowPrivateNetworkAccess) ?? false) && request.headers.get('access-control-request-private-network') === 'true') {
      headers.push(['access-control-allow-private-network', 'true']);
    }
    return new MeshError(ErrorCode.LOCAL_REPLY, 'CORS preflight answered', { reply: { status: 200, headers, body: '' } });
  }

  /** The first policy with origins decides; a matcher that matches "*" allows every origin. */
  private originAllowed(policies: readonly CorsPolicy[], origin: string): boolean {
    for (const policy of policies) {
      if (policy.allowOriginStringMatch.length === 0) continue;
      let predicates = this.origins.get(policy);
      if (predicates === undefined) {
        predicates = policy.allowOriginStringMatch.map((m) => compileStringMatch(m, 'cors.allow_origin_string_match'));
        this.origins.set(policy, predicates);
      }
      return predicates.some((p) => p('*') || p(origin));
    }
    return false;
  }
}

/** The route's policies, most specific first: per-filter configs, else the deprecated route / virtual host `cors`. */
function policiesOf(decision: RouteDecision, filterName: string): CorsPolicy[] {
  const out: CorsPolicy[] = [];
  for (const level of [decision.weightedEntry.typedPerFilterConfig[filterName], decision.route.typedPerFilterConfig[filterName], decision.virtualHost.typedPerFilterConfig[filterName]]) {
    if (level?.kind === 'cors') out.push(level.config);
  }
  if (out.length > 0) return out;
  if (decision.route.action.cors !== undefined) out.push(decision.route.action.cors);
  if (decision.virtualHost.cors !== undefined) out.push(decision.virtualHost.cors);
  return out;
}

function pick<T>(policies: readonly CorsPolicy[], field: (p: CorsPolicy) => T | undefined): T | undefined {
  for (const policy of policies) {
    const value = field(policy);
    if (value !== undefined) return value;
  }
  return undefined;
}

function pickString(policies: readonly CorsPolicy[], field: (p: CorsPolicy) => string): string {
  for (const policy of policies) {
    const value = field(policy);
    if (value !== '') return value;
  }
  return '';
}
