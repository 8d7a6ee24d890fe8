/**
 * `envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`: a filter chain's connections forwarded as bytes to
 * a cluster (or weighted clusters). Defaults are Envoy's: `idle_timeout` 1 h (0 = none), one connect attempt.
 * `tunneling_config` carries the bytes in a CONNECT (or POST) request (see the sidecar's tcp-tunnel.ts). What would
 * change where bytes go or whether they flow, and that xmesh cannot do (on-demand clusters, subset matching, hash
 * policies), is refused.
 */
import type { TcpProxyConfig, TcpTunnelingConfig } from '../filter-model.js';
import { readHeaderToAdd } from './header-mutation.js';
import { ignoreAll, oneOf, rejectUnsupported } from './fields.js';
import type { Reader } from './reader.js';

/** TcpProxy fields xmesh reads but does not act on, with the reason. */
export const TCP_PROXY_IGNORED: Readonly<Record<string, string>> = {
  access_log: 'access logging is not implemented',
  access_log_flush_interval: 'access logging is not implemented',
  flush_access_log_on_connected: 'access logging is not implemented',
  access_log_options: 'access logging is not implemented',
  downstream_idle_timeout: 'not implemented by Envoy either (not-implemented-hide); idle_timeout applies',
  upstream_idle_timeout: 'not implemented by Envoy either (not-implemented-hide); idle_timeout applies',
};

/** Envoy's default tcp_proxy `idle_timeout`. */
const DEFAULT_IDLE_TIMEOUT_MS = 3_600_000;

export function decodeTcpProxy(r: Reader): TcpProxyConfig {
  const statPrefix = r.requiredStr('stat_prefix');
  const which = oneOf(r, ['cluster', 'weighted_clusters'] as const, 'one of cluster, weighted_clusters is required');
  let clusters: { name: string; weight: number }[] = [];
  if (which === 'cluster') {
    clusters = [{ name: r.requiredStr('cluster'), weight: 1 }];
  } else if (which === 'weighted_clusters') {
    const w = r.obj('weighted_clusters');
    if (w) {
      clusters = w.objects('clusters').map((c) => {
        const name = c.requiredStr('name');
        const weight = c.int('weight', 0, 1);
        rejectUnsupported(c, { metadata_match: 'subset load balancing is not implemented' });
        c.finish();
        return { name, weight };
      });
      if (clusters.length === 0) w.error('clusters', 'must have at least one cluster');
      w.finish();
    }
  }
  r.get('cluster');
  r.get('weighted_clusters');
  const idleTimeoutMs = r.duration('idle_timeout') ?? DEFAULT_IDLE_TIMEOUT_MS;
  const maxConnectAttempts = r.int('max_connect_attempts', 1, 1);
  const maxDownstreamConnectionDurationMs = r.duration('max_downstream_connection_duration') ?? 0;
  const t = r.obj('tunneling_config');
  const tunneling = t ? decodeTunneling(t) : undefined;
  rejectUnsupported(r, {
    on_demand: 'on-demand clusters are not implemented',
    metadata_match: 'subset load balancing is not implemented',
    hash_policy: 'tcp_proxy hash policies are not implemented',
  });
  ignoreAll(r, TCP_PROXY_IGNORED);
  r.finish();
  const config = { statPrefix, clusters, idleTimeoutMs, maxConnectAttempts, maxDownstreamConnectionDurationMs };
  return tunneling === undefined ? config : { ...config, tunneling };
}

/** TunnelingConfig fields that only feed access logs and filter state, which xmesh does not keep. */
export const TUNNELING_IGNORED: Readonly<Record<string, string>> = {
  propagate_response_headers: 'the tunnel\'s response headers would only be kept for access logs, which are not implemented',
  propagate_response_trailers: 'the tunnel\'s response trailers would only be kept for access logs, which are not implemented',
};

/** `TcpProxy.TunnelingConfig`: CONNECT (or POST, `use_post`, to `post_path`) to `hostname` with fixed `headers_to_add`. */
function decodeTunneling(t: Reader): TcpTunnelingConfig {
  const hostname = t.requiredStr('hostname');
  if (hostname.includes('%')) t.error('hostname', 'substitution commands are not implemented: give the authority literally');
  else if (hostname !== '' && !/^[^\s/?#@]+$/.test(hostname)) t.error('hostname', `must be an authority (host:port), got ${JSON.stringify(hostname)}`);
  const usePost = t.bool('use_post', false);
  const postPath = t.str('post_path') ?? '';
  // Envoy refuses a post_path without use_post; the path is the request's :path, so it must be one.
  if (postPath !== '' && !usePost) t.error('post_path', 'is only for POST tunnels: set use_post');
  else if (postPath !== '' && !/^\/[\x21-\x7e]*$/.test(postPath)) t.error('post_path', `must be a path starting with "/", got ${JSON.stringify(postPath)}`);
  const headers: [string, string][] = [];
  t.objects('headers_to_add').forEach((o) => {
    const header = readHeaderToAdd(o);
    if (header.format.some((part) => part.kind !== 'text')) o.issues.error(o.at('header'), 'substitution commands in tunneling headers are not implemented: give the value literally');
    else if (header.name !== '') headers.push([header.name, header.value]);
  });
  ignoreAll(t, TUNNELING_IGNORED);
  t.finish();
  return usePost ? { hostname, headers, post: { path: postPath || '/' } } : { hostname, headers };
}
