/**
 * `config.route.v3.RouteAction`: the upstream cluster(s), timeouts, retries, hashing, rate limit actions
 * and rewrites. Defaults are Envoy's: timeout 15 s (0 = none); the route's retry policy replaces the
 * virtual host's.
 */
import type { Dict, FilterOverride, RetryPolicy, RouteAction, WeightedClusterEntry } from '../model.js';
import { filterOverridesField } from './filter-overrides.js';
import { hashPoliciesField } from './hash-policy.js';
import { ignoreAll, oneOf, rejectUnsupported } from './fields.js';
import { rateLimitsField } from './rate-limits.js';
import { decodeRetryPolicy } from './retry-policy.js';
import type { Reader } from './reader.js';

/** RouteAction fields xmesh reads but does not act on, with the reason. */
export const ROUTE_ACTION_IGNORED: Readonly<Record<string, string>> = {
  cluster_not_found_response_code: 'an unknown cluster is a config error, never a per-request response',
  priority: 'one set of circuit-breaker thresholds (DEFAULT) applies to every route',
  cors: 'CORS is a downstream (server-side) concern',
  upgrade_configs: 'protocol upgrades (WebSocket, CONNECT) are not proxied',
  append_x_forwarded_host: 'X-Forwarded-Host is a proxy header; calls are made by the app itself',
  internal_redirect_policy: 'redirects are returned to the caller, never followed',
  internal_redirect_action: 'redirects are returned to the caller, never followed',
  max_internal_redirects: 'redirects are returned to the caller, never followed',
};

/** Header add/remove fields (route configuration, virtual host, route, weighted cluster): ignored. */
export const HEADER_MUTATION_IGNORED: Readonly<Record<string, string>> = {
  request_headers_to_add: 'header rewriting belongs to the proxy; set headers in the app or the sidecar',
  request_headers_to_remove: 'header rewriting belongs to the proxy; set headers in the app or the sidecar',
  response_headers_to_add: 'header rewriting belongs to the proxy; set headers in the app or the sidecar',
  response_headers_to_remove: 'header rewriting belongs to the proxy; set headers in the app or the sidecar',
  most_specific_header_mutations_wins: 'header rewriting belongs to the proxy',
};

const UNSUPPORTED: Readonly<Record<string, string>> = {
  cluster_header: 'pick the cluster with "cluster" or "weighted_clusters"',
  cluster_specifier_plugin: 'cluster specifier plugins are not implemented',
  inline_cluster_specifier_plugin: 'cluster specifier plugins are not implemented',
  max_grpc_timeout: 'deprecated; use max_stream_duration.grpc_timeout_header_max',
  grpc_timeout_offset: 'deprecated; use max_stream_duration.grpc_timeout_header_offset',
  metadata_match: 'subset load balancing is not implemented',
  regex_rewrite: 'regex path rewrites are not implemented; use prefix_rewrite',
  path_rewrite_policy: 'path rewrite extensions are not implemented; use prefix_rewrite',
  auto_host_rewrite: 'use host_rewrite_literal',
  host_rewrite_header: 'use host_rewrite_literal',
  host_rewrite_path_regex: 'use host_rewrite_literal',
  request_mirror_policies: 'request mirroring is not implemented',
  hedge_policy: 'request hedging is not implemented',
  retry_policy_typed_config: 'retry policy extensions are not implemented; use retry_policy',
  early_data_policy: 'early data is not sent',
  include_vh_rate_limits: 'deprecated; route rate_limits replace the virtual host ones when set',
};

const DEFAULT_TIMEOUT_MS = 15_000;
const NO_OVERRIDES: Dict<FilterOverride> = Object.freeze(Object.create(null));
const CLUSTER_SPECIFIERS = ['cluster', 'weighted_clusters', 'cluster_header', 'cluster_specifier_plugin', 'inline_cluster_specifier_plugin'] as const;

export function decodeRouteAction(a: Reader, vhostRetryPolicy: RetryPolicy | undefined): RouteAction {
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
  const prefixRewrite = a.str('prefix_rewrite');
  const hostRewriteLiteral = a.str('host_rewrite_literal') || undefined;

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
  ignoreAll(a, ROUTE_ACTION_IGNORED);
  a.finish();
  return {
    clusters,
    totalWeight,
    timeoutMs,
    idleTimeoutMs,
    retryPolicy,
    hashPolicy,
    rateLimits,
    prefixRewrite,
    hostRewriteLiteral,
    maxStreamDurationMs,
    grpcTimeoutHeaderMaxMs,
    grpcTimeoutHeaderOffsetMs,
  };
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
    rejectUnsupported(c, {
      cluster_header: 'name the cluster with "name"',
      metadata_match: 'subset load balancing is not implemented',
      host_rewrite_literal: 'per-cluster host rewrites are not implemented; set it on the route',
    });
    ignoreAll(c, HEADER_MUTATION_IGNORED);
    c.finish();
    out.push({ name, weight, typedPerFilterConfig });
  }
  if (items.length > 0 && out.every((c) => c.weight === 0)) {
    w.error('clusters', 'the weights must sum to more than 0');
  }
  w.ignore('total_weight');
  rejectUnsupported(w, { runtime_key_prefix: 'no runtime', header_name: 'weighted cluster selection by header is not implemented' });
  w.finish();
  return out;
}
