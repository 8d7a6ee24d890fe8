/** Human-readable views of a MeshSnapshot, as `xmesh validate` prints them. */
import type { ClusterConfig, MeshSnapshot, Route, PathMatch } from '@xmesh/xds';

export function summarize(s: MeshSnapshot): string {
  const listeners = Object.values(s.listeners);
  const routeConfigs = Object.values(s.routeConfigs);
  const clusters = Object.values(s.clusters);
  const vhosts = routeConfigs.flatMap((rc) => rc.virtualHosts);
  const routes = vhosts.reduce((n, vh) => n + vh.routes.length, 0);
  const endpoints = clusters.reduce((n, c) => n + endpointCount(c), 0);
  const filters = new Set(listeners.flatMap((l) => l.httpFilters.map((f) => f.kind)));
  const lines = [
    `version ${s.version}`,
    `listeners: ${listeners.length}  route configs: ${routeConfigs.length}  virtual hosts: ${vhosts.length}  routes: ${routes}  clusters: ${clusters.length}  endpoints: ${endpoints}`,
    `http filters: ${[...filters].join(', ') || '(none)'}`,
  ];
  for (const l of listeners) {
    const addr = l.address ? ` ${l.address.address}:${l.address.port}` : '';
    const routes = l.rds ? `rds ${l.routeConfigName}` : `inline ${s.routeConfigs[l.routeConfigName]?.name || '(unnamed)'}`;
    lines.push(`  listener ${l.name}${addr}${l.protocol === 'bolt' ? ' bolt' : ''} → ${routes} [${l.httpFilters.map((f) => f.name).join(' → ')}]`);
  }
  for (const c of clusters) {
    const od = c.outlierDetection ? ' outlier-detection' : '';
    const ff = c.xmesh.failFast ? ' fail-fast' : '';
    const registry = c.registry === undefined ? '' : ` registry=${c.registry.kind}:${c.registry.service} (${c.registry.endpoints.join(',')}${c.registry.kind === 'zookeeper' ? ` ${c.registry.prefix}` : ''})`;
    lines.push(`  cluster ${c.name} ${c.type} ${c.lbPolicy}${c.http2 ? ' h2' : ''} endpoints=${endpointCount(c)}${registry}${od}${ff}`);
  }
  if (s.ignored.length > 0) lines.push(`ignored fields (${s.ignored.length}): ${s.ignored.join(', ')}`);
  return lines.join('\n');
}

/** One line per route: domains, match, destination (with weights), timeout and retries. */
export function routingTable(s: MeshSnapshot): string {
  const lines: string[] = [];
  for (const rc of Object.values(s.routeConfigs)) {
    lines.push(`route config ${rc.name}`);
    for (const vh of rc.virtualHosts) {
      lines.push(`  vhost ${vh.name} [${vh.domains.join(', ')}]`);
      for (const r of vh.routes) lines.push(`    ${describeMatch(r)} → ${describeAction(r)}`);
    }
  }
  return lines.join('\n');
}

function describeMatch(r: Route): string {
  const m = r.match;
  const parts = [pathText(m.path)];
  for (const h of m.headers) {
    const how = h.match.kind === 'string' ? `${h.match.match.kind} ${'value' in h.match.match ? JSON.stringify(h.match.match.value) : `/${h.match.match.regex}/`}` : h.match.kind;
    parts.push(`${h.invertMatch ? '!' : ''}header ${h.name} ${how}`);
  }
  if (m.grpcOnly) parts.push('grpc');
  if (m.runtimeFraction) parts.push(`${((m.runtimeFraction.numerator / m.runtimeFraction.denominator) * 100).toFixed(2)}% of requests`);
  return parts.join(' & ');
}

function pathText(p: PathMatch): string {
  switch (p.kind) {
    case 'prefix': return `prefix ${JSON.stringify(p.value)}`;
    case 'path': return `path ${JSON.stringify(p.value)}`;
    case 'safe_regex': return `regex /${p.regex}/`;
    case 'path_separated_prefix': return `path-prefix ${JSON.stringify(p.value)}`;
    case 'connect': return 'CONNECT';
  }
}

function describeAction(r: Route): string {
  const a = r.action;
  const dest = a.clusters.length === 1
    ? a.clusters[0]!.name
    : a.clusters.map((c) => `${c.name} ${((c.weight / a.totalWeight) * 100).toFixed(1)}%`).join(' | ');
  const extra = [`timeout ${a.timeoutMs === 0 ? 'none' : `${a.timeoutMs}ms`}`];
  if (a.retryPolicy) extra.push(`retries ${a.retryPolicy.numRetries} on ${a.retryPolicy.retryOn.join(',')}`);
  if (a.hashPolicy.length > 0) extra.push(`hash ${a.hashPolicy.map((h) => h.kind).join(',')}`);
  return `${dest} (${extra.join(', ')})`;
}

function endpointCount(c: ClusterConfig): number {
  return c.loadAssignment?.localities.reduce((n, l) => n + l.endpoints.length, 0) ?? 0;
}
