import type { RouteConfig, VirtualHost } from '@xmesh/xds';
import { compileRouteMatch, type RouteMatcher } from './route-matcher.js';

/** A route config with every matcher compiled; shared by all listeners that use it. */
export interface CompiledRouteConfig {
  readonly routeConfig: RouteConfig;
  readonly virtualHosts: readonly CompiledVirtualHost[];
}

export interface CompiledVirtualHost {
  readonly virtualHost: VirtualHost;
  /** One matcher per `virtualHost.routes[i]`, same order. */
  readonly matchers: readonly RouteMatcher[];
}

/** Compiles every route match (regexes included) once; throws XMESH_CONFIG_INVALID on a bad regex. */
export function compileRouteConfig(routeConfig: RouteConfig): CompiledRouteConfig {
  return {
    routeConfig,
    virtualHosts: routeConfig.virtualHosts.map((virtualHost, v) => ({
      virtualHost,
      matchers: virtualHost.routes.map((route, r) =>
        compileRouteMatch(route.match, `route_configs.${routeConfig.name}.virtual_hosts[${v}].routes[${r}]`),
      ),
    })),
  };
}
