/**
 * `envoy.config.route.v3.RouteConfiguration`: virtual hosts and their routes. Any string is a domain, as in
 * Envoy (RouteMatcher's constructor in source/common/router/config_impl.cc): `*` alone matches every
 * host, a leading `*` makes a suffix wildcard, else a trailing `*` a prefix wildcard, and anything else —
 * a `*` in the middle included — is an exact domain. A domain may appear once per route configuration.
 */
import type { RequestMirrorPolicy, RetryPolicy, Route, RouteConfig, TracingSampling, VirtualHost } from '../model.js';
import { filterOverridesField } from './filter-overrides.js';
import { ignoreAll, oneOf, rejectUnsupported } from './fields.js';
import { rateLimitsField } from './rate-limits.js';
import { decodeRetryPolicy } from './retry-policy.js';
import { decodeRouteAction, mirrorPoliciesField } from './route-action.js';
import { headerMutationFields } from './header-mutation.js';
import { decodeRouteMatch } from './route-match.js';
import { HEADER_NAME } from './matchers.js';
import { describe, type Reader } from './reader.js';
import { decodeCorsPolicy } from './cors.js';
import { decodeHedgePolicy } from './hedge-policy.js';
import { DEFAULT_MAX_DIRECT_RESPONSE_BODY_BYTES, decodeDirectResponse, decodeRedirect } from './route-local.js';
import type { LocalRouteAction } from '../filter-model.js';

/** RouteConfiguration fields xmesh reads but does not act on, with the reason. */
export const ROUTE_CONFIG_IGNORED: Readonly<Record<string, string>> = {
  validate_clusters: 'cluster references are always validated when a snapshot is built',
  metadata: 'metadata is not used',
};

/** VirtualHost fields xmesh reads but does not act on, with the reason. */
export const VIRTUAL_HOST_IGNORED: Readonly<Record<string, string>> = {
  virtual_clusters: 'virtual cluster stats are not kept',
  metadata: 'metadata is not used',
};

/** Route fields xmesh reads but does not act on, with the reason. */
export const ROUTE_IGNORED: Readonly<Record<string, string>> = {
  metadata: 'metadata is not used',
  decorator: 'tracing span names are not set by the mesh',
};

/** Route `tracing` fields that do not change what is sent upstream. */
export const ROUTE_TRACING_IGNORED: Readonly<Record<string, string>> = {
  custom_tags: 'spans are recorded by the app\'s tracer; the mesh reports none',
};

const UNSUPPORTED_ACTIONS: Readonly<Record<string, string>> = {
  filter_action: 'only "route", "redirect" and "direct_response" actions are supported',
  non_forwarding_action: 'only "route", "redirect" and "direct_response" actions are supported',
};
const ACTIONS = ['route', 'redirect', 'direct_response', ...Object.keys(UNSUPPORTED_ACTIONS)];

export interface RouteConfigOptions {
  /** Name used when the config has none (inline configs take their listener's name); without it, `name` is required. */
  readonly defaultName?: string;
}

export function decodeRouteConfig(r: Reader, options: RouteConfigOptions = {}): RouteConfig {
  const name = options.defaultName === undefined ? r.requiredStr('name') : r.str('name') || options.defaultName;
  const seenDomains = new Map<string, string>();
  const requestMirrorPolicies = mirrorPoliciesField(r);
  const maxBodyBytes = r.optionalUint32('max_direct_response_body_size_bytes') ?? DEFAULT_MAX_DIRECT_RESPONSE_BODY_BYTES;
  const virtualHosts = r.objects('virtual_hosts').map((vh, i) => decodeVirtualHost(vh, seenDomains, i, requestMirrorPolicies, maxBodyBytes));
  rejectUnsupported(r, {
    vhds: 'on-demand virtual hosts are not implemented',
    typed_per_filter_config: 'set per-filter overrides on virtual hosts or routes',
    cluster_specifier_plugins: 'cluster specifier plugins are not implemented',
    ignore_path_parameters_in_path_matching: 'path parameters are always part of the matched path',
  });
  const ignorePortInHostMatching = r.bool('ignore_port_in_host_matching', false);
  const requestHeaders = headerMutationFields(r, 'request');
  const responseHeaders = headerMutationFields(r, 'response');
  const mostSpecificHeaderMutationsWins = r.bool('most_specific_header_mutations_wins', false);
  const internalOnlyHeaders = internalOnlyHeadersField(r);
  ignoreAll(r, ROUTE_CONFIG_IGNORED);
  r.finish();
  return {
    name,
    virtualHosts,
    ignorePortInHostMatching,
    ...(requestHeaders === undefined ? {} : { requestHeaders }),
    ...(responseHeaders === undefined ? {} : { responseHeaders }),
    ...(mostSpecificHeaderMutationsWins ? { mostSpecificHeaderMutationsWins } : {}),
    ...(internalOnlyHeaders.length === 0 ? {} : { internalOnlyHeaders }),
    ...(requestMirrorPolicies === undefined ? {} : { requestMirrorPolicies }),
  };
}

/**
 * `seenDomains` maps each lower-cased domain of the route configuration so far to its path. Under a gRPC
 * client's rules a virtual host may be unnamed (it is then named `virtual_host_<index>`) and a domain has
 * at most one `*`, first or last (gRFC A28); Envoy requires a name and reads other `*`s as literal text.
 */
function decodeVirtualHost(vh: Reader, seenDomains: Map<string, string>, index: number, configMirrorPolicies: readonly RequestMirrorPolicy[] | undefined, maxBodyBytes: number): VirtualHost {
  const grpc = vh.issues.rules === 'grpc';
  const name = grpc ? vh.str('name') || `virtual_host_${index}` : vh.requiredStr('name');
  const rawDomains = vh.get('domains');
  if (rawDomains === undefined || (Array.isArray(rawDomains) && rawDomains.length === 0)) {
    vh.error('domains', 'must list at least one domain');
  }
  const domains = vh.strings('domains');
  domains.forEach((domain, i) => {
    const path = `${vh.at('domains')}[${i}]`;
    const star = domain.indexOf('*');
    if (grpc && star >= 0 && (star !== domain.lastIndexOf('*') || (star !== 0 && star !== domain.length - 1))) {
      vh.issues.error(path, `a gRPC client allows one "*", at the start or the end of a domain, got "${domain}" (gRFC A28)`);
    }
    const key = domain.toLowerCase();
    const prior = seenDomains.get(key);
    if (prior !== undefined) vh.issues.error(path, `duplicate domain "${domain}" (first at ${prior})`);
    else seenDomains.set(key, path);
  });
  const rp = vh.obj('retry_policy');
  const retryPolicy = rp ? decodeRetryPolicy(rp) : undefined;
  const rateLimits = rateLimitsField(vh, 'rate_limits');
  const typedPerFilterConfig = filterOverridesField(vh, 'typed_per_filter_config');
  const bufferLimit = vh.optionalUint32('per_request_buffer_limit_bytes');
  const ownMirrorPolicies = mirrorPoliciesField(vh);
  const requestMirrorPolicies = ownMirrorPolicies ?? configMirrorPolicies;
  const hedgeOnPerTryTimeout = decodeHedgePolicy(vh);
  const routes = vh.objects('routes').map((route, i) => decodeRoute(route, `${name}/${i}`, retryPolicy, bufferLimit, requestMirrorPolicies, maxBodyBytes, hedgeOnPerTryTimeout));
  const corsReader = vh.obj('cors');
  const cors = corsReader ? decodeCorsPolicy(corsReader) : undefined;
  const requestHeaders = headerMutationFields(vh, 'request');
  const responseHeaders = headerMutationFields(vh, 'response');
  if (vh.has('require_tls') && vh.enumOf('require_tls', ['NONE', 'EXTERNAL_ONLY', 'ALL'] as const, 'NONE', { 0: 'NONE', 1: 'EXTERNAL_ONLY', 2: 'ALL' }) !== 'NONE') {
    vh.error('require_tls', 'is not supported: Envoy would redirect plaintext requests to https; xmesh has no downstream TLS to require');
  }
  vh.get('require_tls');
  rejectUnsupported(vh, {
    matcher: 'generic matcher trees are not implemented; use routes',
    retry_policy_typed_config: 'retry policy extensions are not implemented; use retry_policy',
  });
  const attemptCountInRequest = vh.bool('include_request_attempt_count', false);
  const attemptCountInResponse = vh.bool('include_attempt_count_in_response', false);
  const timeoutRetryHeader = vh.bool('include_is_timeout_retry_header', false);
  ignoreAll(vh, VIRTUAL_HOST_IGNORED);
  vh.finish();
  return {
    name,
    domains,
    routes,
    retryPolicy,
    rateLimits,
    typedPerFilterConfig,
    ...(requestHeaders === undefined ? {} : { requestHeaders }),
    ...(responseHeaders === undefined ? {} : { responseHeaders }),
    ...(attemptCountInRequest ? { attemptCountInRequest } : {}),
    ...(attemptCountInResponse ? { attemptCountInResponse } : {}),
    ...(timeoutRetryHeader ? { timeoutRetryHeader } : {}),
    ...(ownMirrorPolicies === undefined ? {} : { requestMirrorPolicies: ownMirrorPolicies }),
    ...(cors === undefined ? {} : { cors }),
  };
}

function decodeRoute(r: Reader, defaultName: string, vhostRetryPolicy: RetryPolicy | undefined, vhostBufferLimit: number | undefined, vhostMirrorPolicies: readonly RequestMirrorPolicy[] | undefined, maxBodyBytes: number, vhostHedge: boolean | undefined): Route {
  const name = r.str('name') || defaultName;
  const m = r.obj('match');
  if (!m) r.error('match', 'is required');
  const match = m ? decodeRouteMatch(m) : undefined;
  const kind = oneOf(r, ACTIONS, 'one of route, redirect, direct_response is required');
  rejectUnsupported(r, UNSUPPORTED_ACTIONS);
  const a = r.obj('route');
  const action = a ? decodeRouteAction(a, vhostRetryPolicy, vhostMirrorPolicies, vhostHedge) : undefined;
  if (match?.path.kind === 'connect' && action !== undefined && action.upgradeConfigs?.some((u) => u.terminateConnect === true) !== true) {
    // Without connect_config Envoy forwards the CONNECT request to the upstream as it came.
    m!.error('connect_matcher', 'forwarding CONNECT requests to the upstream is not implemented: terminate them with the route\'s upgrade_configs: [{ upgrade_type: CONNECT, connect_config: {} }]');
  }
  const redirect = r.obj('redirect');
  const direct = r.obj('direct_response');
  let local: LocalRouteAction | undefined;
  if (kind === 'redirect' && redirect) local = decodeRedirect(redirect);
  else if (kind === 'direct_response' && direct) local = decodeDirectResponse(direct, maxBodyBytes);
  const typedPerFilterConfig = filterOverridesField(r, 'typed_per_filter_config');
  const statPrefix = r.str('stat_prefix');
  const bufferLimit = r.optionalUint32('per_request_buffer_limit_bytes') ?? vhostBufferLimit;
  const requestHeaders = headerMutationFields(r, 'request');
  const responseHeaders = headerMutationFields(r, 'response');
  const tracing = r.obj('tracing');
  const tracingSampling = tracing === undefined ? undefined : decodeRouteTracing(tracing);
  ignoreAll(r, ROUTE_IGNORED);
  r.finish();
  return {
    name,
    match: match ?? PLACEHOLDER_MATCH,
    // A route that answers itself names no cluster: its action is the empty one.
    action: (local === undefined ? action : undefined) ?? PLACEHOLDER_ACTION,
    ...(local === undefined ? {} : { local }),
    typedPerFilterConfig,
    ...(statPrefix ? { statPrefix } : {}),
    ...(bufferLimit !== undefined ? { perRequestBufferLimitBytes: bufferLimit } : {}),
    ...(requestHeaders === undefined ? {} : { requestHeaders }),
    ...(responseHeaders === undefined ? {} : { responseHeaders }),
    ...(tracingSampling === undefined ? {} : { tracingSampling }),
  };
}

/** A route's `tracing`: FractionalPercents, each absent one 100 % (Envoy's `RouteTracingImpl`). */
function decodeRouteTracing(r: Reader): TracingSampling {
  const percent = (key: string): number => {
    const f = r.fraction(key);
    return f === undefined ? 100 : Math.min(100, (f.numerator * 100) / f.denominator);
  };
  const sampling = { client: percent('client_sampling'), random: percent('random_sampling'), overall: percent('overall_sampling') };
  ignoreAll(r, ROUTE_TRACING_IGNORED);
  r.finish();
  return sampling;
}

/**
 * `internal_only_headers`: header names (lower-cased) the connection manager removes from an external
 * caller's request. Envoy refuses names that are not valid header names (`well_known_regex`).
 */
function internalOnlyHeadersField(r: Reader): string[] {
  const names: string[] = [];
  for (const { value, path } of r.list('internal_only_headers')) {
    if (typeof value === 'string' && HEADER_NAME.test(value)) names.push(value.toLowerCase());
    else r.issues.error(path, `must be a header name, got ${describe(value)}`);
  }
  return names;
}

/**
 * Stand-ins for parts that failed to decode (an error is always recorded, so they never reach a snapshot), and
 * the action of a route that answers itself (no cluster, no timeout).
 */
const PLACEHOLDER_MATCH: Route['match'] = {
  path: { kind: 'prefix', value: '' }, caseSensitive: true, headers: [], queryParameters: [], runtimeFraction: undefined, grpcOnly: false,
};
const PLACEHOLDER_ACTION: Route['action'] = {
  clusters: [], totalWeight: 0, timeoutMs: 0, idleTimeoutMs: undefined, retryPolicy: undefined, hashPolicy: [], rateLimits: [],
  prefixRewrite: undefined, hostRewriteLiteral: undefined, maxStreamDurationMs: undefined, grpcTimeoutHeaderMaxMs: undefined,
  grpcTimeoutHeaderOffsetMs: undefined,
};
