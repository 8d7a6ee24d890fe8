/**
 * `config.route.v3.RouteAction`: the upstream cluster(s), timeouts, retries, hashing, rate limit actions
 * and rewrites. Defaults are Envoy's: timeout 15 s (0 = none); the route's retry policy replaces the
 * virtual host's.
 */
import type { Dict, FilterOverride, RegexRewrite, RequestMirrorPolicy, RetryPolicy, RouteAction, WeightedClusterEntry } from '../model.js';
import { filterOverridesField } from './filter-overrides.js';
import { headerMutationFields } from './header-mutation.js';
import { compileRegex, HEADER_NAME, readRegexMatcher, regexError } from './matchers.js';
import { hashPoliciesField } from './hash-policy.js';
import { ignoreAll, oneOf, rejectUnsupported } from './fields.js';
import { rateLimitsField } from './rate-limits.js';
import { decodeRetryPolicy } from './retry-policy.js';
import { runtimeFractionField } from './runtime-fraction.js';
import type { Reader } from './reader.js';
import { decodeCorsPolicy } from './cors.js';
import { decodeHedgePolicy } from './hedge-policy.js';
import type { RouteUpgradeConfig } from '../filter-model.js';

/** RouteAction fields xmesh reads but does not act on, with the reason. */
export const ROUTE_ACTION_IGNORED: Readonly<Record<string, string>> = {
  max_internal_redirects: 'applies only when internal redirects are handled, which is refused',
};

const UNSUPPORTED: Readonly<Record<string, string>> = {
  cluster_header: 'pick the cluster with "cluster" or "weighted_clusters"',
  cluster_specifier_plugin: 'cluster specifier plugins are not implemented',
  inline_cluster_specifier_plugin: 'cluster specifier plugins are not implemented',
  max_grpc_timeout: 'deprecated; use max_stream_duration.grpc_timeout_header_max',
  grpc_timeout_offset: 'deprecated; use max_stream_duration.grpc_timeout_header_offset',
  metadata_match: 'subset load balancing is not implemented',
  path_rewrite_policy: 'path rewrite extensions are not implemented; use prefix_rewrite or regex_rewrite',
  path_rewrite: 'formatter path rewrites are not implemented; use prefix_rewrite or regex_rewrite',
  host_rewrite_header: 'use host_rewrite_literal or auto_host_rewrite',
  host_rewrite_path_regex: 'use host_rewrite_literal or auto_host_rewrite',
  host_rewrite: 'formatter host rewrites are not implemented; use host_rewrite_literal or auto_host_rewrite',
  internal_redirect_policy: 'internal redirects are not followed; the redirect response is returned to the caller',
  retry_policy_typed_config: 'retry policy extensions are not implemented; use retry_policy',
  early_data_policy: 'early data is not sent',
  include_vh_rate_limits: 'deprecated; route rate_limits replace the virtual host ones when set',
};

const DEFAULT_TIMEOUT_MS = 15_000;
const NO_OVERRIDES: Dict<FilterOverride> = Object.freeze(Object.create(null));
const CLUSTER_SPECIFIERS = ['cluster', 'weighted_clusters', 'cluster_header', 'cluster_specifier_plugin', 'inline_cluster_specifier_plugin'] as const;

/**
 * @param defaultMirrorPolicies the virtual host's (else the route config's) `request_mirror_policies`,
 *   used when the action sets none (Envoy: the most specific non-empty list wins, lists are not merged)
 */
export function decodeRouteAction(a: Reader, vhostRetryPolicy: RetryPolicy | undefined, defaultMirrorPolicies?: readonly RequestMirrorPolicy[], vhostHedge?: boolean): RouteAction {
  const which = oneOf(a, CLUSTER_SPECIFIERS, 'one of cluster, weighted_clusters is required');
  rejectUnsupported(a, UNSUPPORTED);
  let clusters: WeightedClusterEntry[] = [];
  if (which === 'cluster') {
    const name = a.requiredStr('cluster');
    clusters = [{ name, weight: 1, typedPerFilterConfig: NO_OVERRIDES }];
  } else if (which === 'weighted_clusters') {
    const w = a.obj('weighted_clusters');
    if (w) clusters = readWeightedClusters(w);
  }
  a.get('cluster');
  a.get('weighted_clusters');
  const totalWeight = clusters.reduce((sum, c) => sum + c.weight, 0);

  const timeoutMs = a.duration('timeout') ?? DEFAULT_TIMEOUT_MS;
  const idleTimeoutMs = a.duration('idle_timeout');
  const rp = a.obj('retry_policy');
  const retryPolicy = rp ? decodeRetryPolicy(rp) : vhostRetryPolicy;
  const hashPolicy = hashPoliciesField(a, 'hash_policy');
  const rateLimits = rateLimitsField(a, 'rate_limits');
  // The route's hedge_policy replaces the virtual host's whole (Envoy's buildHedgePolicy).
  const hedgeOnPerTryTimeout = decodeHedgePolicy(a) ?? vhostHedge ?? false;
  const prefixRewrite = a.str('prefix_rewrite') || undefined;
  const regexRewrite = readRegexRewrite(a.obj('regex_rewrite'));
  if (prefixRewrite !== undefined && regexRewrite !== undefined) a.error('regex_rewrite', 'cannot be set together with prefix_rewrite');
  oneOf(a, ['host_rewrite_literal', 'auto_host_rewrite', 'host_rewrite_header', 'host_rewrite_path_regex', 'host_rewrite']);
  const hostRewriteLiteral = a.str('host_rewrite_literal') || undefined;
  const autoHostRewrite = a.bool('auto_host_rewrite', false);
  const appendXForwardedHost = a.bool('append_x_forwarded_host', false);
  // Only HANDLE_INTERNAL_REDIRECT (1) makes Envoy follow redirects; PASS_THROUGH (0, the default) returns them.
  if (a.has('internal_redirect_action') && a.enumOf('internal_redirect_action', ['PASS_THROUGH_INTERNAL_REDIRECT', 'HANDLE_INTERNAL_REDIRECT'] as const, 'PASS_THROUGH_INTERNAL_REDIRECT', { 0: 'PASS_THROUGH_INTERNAL_REDIRECT', 1: 'HANDLE_INTERNAL_REDIRECT' }) === 'HANDLE_INTERNAL_REDIRECT') {
    a.error('internal_redirect_action', 'is not supported: internal redirects are not followed; the redirect response is returned to the caller');
  }
  a.get('internal_redirect_action');

  let maxStreamDurationMs: number | undefined;
  let grpcTimeoutHeaderMaxMs: number | undefined;
  let grpcTimeoutHeaderOffsetMs: number | undefined;
  const msd = a.obj('max_stream_duration');
  if (msd) {
    maxStreamDurationMs = msd.duration('max_stream_duration');
    grpcTimeoutHeaderMaxMs = msd.duration('grpc_timeout_header_max');
    grpcTimeoutHeaderOffsetMs = msd.duration('grpc_timeout_header_offset');
    msd.finish();
  }
  const clusterNotFoundStatus = readClusterNotFoundStatus(a);
  // RoutingPriority: the cluster's circuit-breaker thresholds of that priority admit the route's calls.
  const priority = a.has('priority') ? a.enumOf('priority', ['DEFAULT', 'HIGH'] as const, 'DEFAULT', { 0: 'DEFAULT', 1: 'HIGH' }) : 'DEFAULT';
  const ownMirrorPolicies = mirrorPoliciesField(a);
  const requestMirrorPolicies = ownMirrorPolicies ?? defaultMirrorPolicies;
  const upgradeConfigs = a.objects('upgrade_configs').map(readRouteUpgradeConfig);
  const corsReader = a.obj('cors');
  const cors = corsReader ? decodeCorsPolicy(corsReader) : undefined;
  ignoreAll(a, ROUTE_ACTION_IGNORED);
  a.finish();
  return {
    clusters,
    totalWeight,
    timeoutMs,
    idleTimeoutMs,
    retryPolicy,
    ...(hedgeOnPerTryTimeout ? { hedgeOnPerTryTimeout } : {}),
    hashPolicy,
    rateLimits,
    prefixRewrite,
    hostRewriteLiteral,
    ...(regexRewrite === undefined ? {} : { regexRewrite }),
    ...(autoHostRewrite ? { autoHostRewrite } : {}),
    ...(appendXForwardedHost ? { appendXForwardedHost } : {}),
    maxStreamDurationMs,
    grpcTimeoutHeaderMaxMs,
    grpcTimeoutHeaderOffsetMs,
    ...(clusterNotFoundStatus === undefined ? {} : { clusterNotFoundStatus }),
    ...(priority === 'HIGH' ? { priority: 'high' as const } : {}),
    ...(requestMirrorPolicies === undefined ? {} : { requestMirrorPolicies }),
    ...(upgradeConfigs.length === 0 ? {} : { upgradeConfigs }),
    ...(cors === undefined ? {} : { cors }),
  };
}

/**
 * `cluster_not_found_response_code`: SERVICE_UNAVAILABLE (503, the default), NOT_FOUND (404) or
 * INTERNAL_SERVER_ERROR (500). A gRPC client has no such setting: under its rules the field is read and
 * calls to a cluster that does not exist fail UNAVAILABLE whatever it says.
 */
function readClusterNotFoundStatus(a: Reader): 404 | 500 | undefined {
  if (!a.has('cluster_not_found_response_code')) return undefined;
  const code = a.enumOf('cluster_not_found_response_code', ['SERVICE_UNAVAILABLE', 'NOT_FOUND', 'INTERNAL_SERVER_ERROR'] as const, 'SERVICE_UNAVAILABLE', {
    0: 'SERVICE_UNAVAILABLE', 1: 'NOT_FOUND', 2: 'INTERNAL_SERVER_ERROR',
  });
  if (a.issues.rules === 'grpc') return undefined;
  return code === 'NOT_FOUND' ? 404 : code === 'INTERNAL_SERVER_ERROR' ? 500 : undefined;
}

/** A `request_mirror_policies` field (of a route action, virtual host or route config); undefined when absent or empty. */
export function mirrorPoliciesField(r: Reader): readonly RequestMirrorPolicy[] | undefined {
  const policies = r.objects('request_mirror_policies').map(readMirrorPolicy);
  return policies.length === 0 ? undefined : policies;
}

/**
 * `RequestMirrorPolicy`: exactly one of `cluster` and `cluster_header` (as Envoy requires), `runtime_fraction`,
 * `trace_sampled`, `disable_shadow_host_suffix_append`.
 */
function readMirrorPolicy(m: Reader): RequestMirrorPolicy {
  const cluster = m.str('cluster') ?? '';
  const clusterHeader = (m.str('cluster_header') ?? '').toLowerCase();
  if (cluster !== '' && clusterHeader !== '') m.error('cluster_header', `only one of cluster ("${cluster}") and cluster_header may be set`);
  else if (cluster === '' && clusterHeader === '') m.error('cluster', 'is required (or cluster_header)');
  else if (clusterHeader !== '' && !HEADER_NAME.test(clusterHeader)) m.error('cluster_header', `"${clusterHeader}" is not a header name`);
  const runtimeFraction = runtimeFractionField(m, 'runtime_fraction');
  const traceSampled = m.has('trace_sampled') ? m.bool('trace_sampled', false) : undefined;
  m.get('trace_sampled');
  const disableShadowHostSuffixAppend = m.bool('disable_shadow_host_suffix_append', false);
  m.finish();
  const policy = { cluster, runtimeFraction, traceSampled, disableShadowHostSuffixAppend };
  return clusterHeader === '' ? policy : { ...policy, clusterHeader };
}

/**
 * `RouteAction.UpgradeConfig`: an upgrade type turned on or off for the route. For CONNECT, `connect_config` makes
 * the route terminate the request (a TCP connection to the cluster, the request's payload relayed on it); its
 * PROXY protocol header and POST tunnels are refused.
 */
function readRouteUpgradeConfig(u: Reader): RouteUpgradeConfig {
  const upgradeType = u.requiredStr('upgrade_type').toLowerCase();
  const enabled = u.bool('enabled', true);
  const connect = u.obj('connect_config');
  if (connect !== undefined) {
    if (upgradeType !== 'connect') u.error('connect_config', `is for CONNECT only, not the "${upgradeType}" upgrade`);
    rejectUnsupported(connect, { proxy_protocol_config: 'a PROXY protocol header to the upstream is not implemented' });
    if (connect.bool('allow_post', false)) connect.error('allow_post', 'is not supported: POST requests are not terminated into TCP tunnels');
    connect.finish();
  }
  u.finish();
  return connect === undefined ? { upgradeType, enabled } : { upgradeType, enabled, terminateConnect: true };
}

/** `regex_rewrite`: an RE2 pattern and its substitution, both checked (a group the pattern lacks is an error). */
export function readRegexRewrite(r: Reader | undefined): RegexRewrite | undefined {
  if (!r) return undefined;
  const p = r.obj('pattern');
  if (!p) r.error('pattern', 'is required');
  const regex = p ? readRegexMatcher(p) : '';
  const substitution = r.str('substitution') ?? '';
  r.finish();
  if (regex === '' || regexError(regex) !== undefined) return undefined;
  const problem = substitutionError(substitution, compileRegex(regex).groupCount());
  if (problem !== undefined) {
    r.error('substitution', problem);
    return undefined;
  }
  return { regex, substitution };
}

/** RE2's rewrite rules (RE2::CheckRewriteString): `\\` and `\0`..`\9` only, no group beyond the pattern's. */
function substitutionError(substitution: string, groups: number): string | undefined {
  for (let i = 0; i < substitution.length; i++) {
    if (substitution[i] !== '\\') continue;
    const next = substitution[++i];
    if (next === '\\') continue;
    if (next === undefined || next < '0' || next > '9') return `has "\\" followed by ${next === undefined ? 'nothing' : JSON.stringify(next)}: use \\0-\\9 for groups, \\\\ for a backslash`;
    if (Number(next) > groups) return `refers to group \\${next}, but the pattern has ${groups} group${groups === 1 ? '' : 's'}`;
  }
  return undefined;
}

/** WeightedCluster: weights >= 0 whose sum must be > 0; the deprecated total_weight is ignored. */
function readWeightedClusters(w: Reader): WeightedClusterEntry[] {
  const out: WeightedClusterEntry[] = [];
  const items = w.objects('clusters');
  if (items.length === 0) w.error('clusters', 'must have at least one cluster');
  for (const c of items) {
    const name = c.requiredStr('name');
    const weight = c.int('weight', 0);
    const typedPerFilterConfig = filterOverridesField(c, 'typed_per_filter_config');
    const requestHeaders = headerMutationFields(c, 'request');
    const responseHeaders = headerMutationFields(c, 'response');
    const hostRewriteLiteral = c.str('host_rewrite_literal') || undefined;
    rejectUnsupported(c, {
      cluster_header: 'name the cluster with "name"',
      metadata_match: 'subset load balancing is not implemented',
    });
    c.finish();
    out.push({
      name,
      weight,
      typedPerFilterConfig,
      ...(requestHeaders === undefined ? {} : { requestHeaders }),
      ...(responseHeaders === undefined ? {} : { responseHeaders }),
      ...(hostRewriteLiteral === undefined ? {} : { hostRewriteLiteral }),
    });
  }
  if (items.length > 0 && out.every((c) => c.weight === 0)) {
    w.error('clusters', 'the weights must sum to more than 0');
  }
  if (w.issues.rules === 'grpc' && out.reduce((sum, c) => sum + c.weight, 0) > 0xffff_ffff) {
    w.error('clusters', 'a gRPC client needs the weights to sum to at most 4294967295 (gRFC A28)');
  }
  w.ignore('total_weight');
  rejectUnsupported(w, { runtime_key_prefix: 'no runtime', header_name: 'weighted cluster selection by header is not implemented' });
  w.finish();
  return out;
}
