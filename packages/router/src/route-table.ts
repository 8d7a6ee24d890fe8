import type { Dict, FilterOverride, ListenerConfig, VirtualHost, WeightedClusterEntry } from '@xmesh/xds';
import { LocalRouteAnswer } from './local-route.js';
import type { RouteDecision } from './types.js';
import type { RouteMatcher } from './route-matcher.js';
import type { CompiledRouteConfig } from './compiled-route-config.js';
import { DomainIndex } from './domain-index.js';
import type { SplitAuthority } from './authority.js';
import { WeightedChoice } from './weighted-choice.js';
import { compileUpstreamRewrite } from './upstream-rewrite.js';
import { PathNormalizer } from './path-normalization.js';

const NO_OVERRIDES: Dict<FilterOverride> = Object.freeze(Object.create(null));

/** A virtual host ready to route: matchers and, per route, the precomputed decisions to pick from. */
export interface RoutableVirtualHost {
  readonly virtualHost: VirtualHost;
  readonly matchers: readonly RouteMatcher[];
  /** choices[i] picks the decision for `virtualHost.routes[i]`; undefined when that route names no cluster. */
  readonly choices: readonly (WeightedChoice<RouteDecision> | undefined)[];
}

/**
 * The virtual hosts reachable through one listener (or through every route config when
 * `listener` is undefined), indexed by domain. Decisions are built here once, so routing a
 * request returns a shared frozen object instead of allocating one.
 */
export class RouteTable {
  readonly listener: ListenerConfig | undefined;
  /** Set when the listener names a route config the snapshot does not have. */
  readonly missingRouteConfig: string | undefined;
  private readonly index: DomainIndex<RoutableVirtualHost>;
  /** Envoy's port handling: HCM strip_any_host_port / strip_matching_host_port, route config ignore_port_in_host_matching. */
  private readonly stripPort: 'none' | 'any' | 'matching';
  /** The listener's path normalization: requests are matched against the normalized path. */
  readonly normalizer: PathNormalizer | undefined;

  constructor(listener: ListenerConfig | undefined, configs: readonly CompiledRouteConfig[], missingRouteConfig?: string) {
    this.listener = listener;
    this.missingRouteConfig = missingRouteConfig;
    const entries: [string, RoutableVirtualHost][] = [];
    for (const compiled of configs) {
      for (const vhost of compiled.virtualHosts) {
        const routable = buildRoutable(listener, compiled, vhost.virtualHost, vhost.matchers);
        for (const domain of vhost.virtualHost.domains) entries.push([domain, routable]);
      }
    }
    this.index = new DomainIndex(entries);
    const ignorePort = configs.some((c) => c.routeConfig.ignorePortInHostMatching);
    this.stripPort = ignorePort ? 'any' : listener?.stripHostPort ?? 'none';
    this.normalizer = listener?.pathNormalization === undefined ? undefined : new PathNormalizer(listener.pathNormalization);
  }

  /** The authority as from `splitAuthority`; the port is dropped only where the config says so. */
  findVirtualHost(authority: SplitAuthority): RoutableVirtualHost | undefined {
    const strip =
      authority.port !== undefined &&
      (this.stripPort === 'any' || (this.stripPort === 'matching' && authority.port === this.listener?.address?.port));
    return this.index.find(strip ? authority.host : authority.hostPort);
  }
}

function buildRoutable(
  listener: ListenerConfig | undefined,
  compiled: CompiledRouteConfig,
  virtualHost: VirtualHost,
  matchers: readonly RouteMatcher[],
): RoutableVirtualHost {
  const choices = virtualHost.routes.map((route, i) => {
    if (route.local !== undefined) {
      const where = `route_configs.${compiled.routeConfig.name}.virtual_hosts[${virtualHost.name}].routes[${i}]`;
      const weightedEntry: WeightedClusterEntry = Object.freeze({ name: '', weight: 1, typedPerFilterConfig: NO_OVERRIDES });
      const decision: RouteDecision = Object.freeze({
        listener, routeConfig: compiled.routeConfig, virtualHost, route, cluster: '', weightedEntry,
        rewrite: compileUpstreamRewrite(listener, compiled.routeConfig, virtualHost, route, weightedEntry),
        local: new LocalRouteAnswer(route.local, route, where),
      });
      return new WeightedChoice([decision], [1]);
    }
    const entries = route.action.clusters;
    if (entries.length === 0) return undefined;
    const decisions = entries.map((weightedEntry): RouteDecision =>
      Object.freeze({
        listener,
        routeConfig: compiled.routeConfig,
        virtualHost,
        route,
        cluster: weightedEntry.name,
        weightedEntry,
        rewrite: compileUpstreamRewrite(listener, compiled.routeConfig, virtualHost, route, weightedEntry),
      }),
    );
    return new WeightedChoice(decisions, entries.map((e) => e.weight));
  });
  return { virtualHost, matchers, choices };
}
