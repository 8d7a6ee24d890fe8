/** Hand-built MeshSnapshot pieces for router tests (plain data, defaults as the decoder applies them). */
import type {
  HeaderMatcher, ListenerConfig, MeshSnapshot, PathMatch, Route, RouteConfig, RouteMatch, VirtualHost,
} from '@xmesh/xds';

export function route(name: string, match: Partial<RouteMatch> & { path?: PathMatch }, clusters: Record<string, number> | string): Route {
  const entries = typeof clusters === 'string' ? [[clusters, 1] as const] : Object.entries(clusters);
  return {
    name,
    match: {
      path: { kind: 'prefix', value: '/' },
      caseSensitive: true,
      headers: [],
      queryParameters: [],
      runtimeFraction: undefined,
      grpcOnly: false,
      ...match,
    },
    action: {
      clusters: entries.map(([n, weight]) => ({ name: n, weight, typedPerFilterConfig: {} })),
      totalWeight: entries.reduce((s, [, w]) => s + w, 0),
      timeoutMs: 15_000,
      idleTimeoutMs: undefined,
      retryPolicy: undefined,
      hashPolicy: [],
      rateLimits: [],
      prefixRewrite: undefined,
      hostRewriteLiteral: undefined,
      maxStreamDurationMs: undefined,
      grpcTimeoutHeaderMaxMs: undefined,
      grpcTimeoutHeaderOffsetMs: undefined,
    },
    typedPerFilterConfig: {},
  };
}

export function vhost(name: string, domains: string[], routes: Route[]): VirtualHost {
  return { name, domains, routes, retryPolicy: undefined, rateLimits: [], typedPerFilterConfig: {} };
}

export function routeConfig(name: string, virtualHosts: VirtualHost[], ignorePortInHostMatching = false): RouteConfig {
  return { name, virtualHosts, ignorePortInHostMatching };
}

export function listener(
  name: string,
  routeConfigName: string,
  port?: number,
  stripHostPort: ListenerConfig['stripHostPort'] = 'none',
): ListenerConfig {
  return {
    name,
    address: port === undefined ? undefined : { address: '0.0.0.0', port },
    statPrefix: name,
    routeConfigName,
    rds: true,
    httpFilters: [{ kind: 'router', name: 'envoy.filters.http.router' }],
    stripHostPort,
    generateRequestId: true,
    tracing: false,
  };
}

export function snapshot(routeConfigs: RouteConfig[], listeners: ListenerConfig[] = []): MeshSnapshot {
  return {
    version: 'test',
    listeners: Object.fromEntries(listeners.map((l) => [l.name, l])),
    routeConfigs: Object.fromEntries(routeConfigs.map((r) => [r.name, r])),
    clusters: {},
    ignored: [],
  };
}

export function header(name: string, match: HeaderMatcher['match'], extra: Partial<HeaderMatcher> = {}): HeaderMatcher {
  return { name, match, invertMatch: false, treatMissingHeaderAsEmpty: false, ...extra };
}

export function request(authority: string, path = '/', headers: Record<string, string> = {}, grpc = false) {
  return { authority, path, method: 'POST', headers: new Map(Object.entries(headers)), grpc };
}

/** A deterministic [0,1) sequence (mulberry32) so distribution tests are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
