/**
 * Protocol upgrades as Envoy's connection manager admits them (createUpgradeFilterChain): a request asking
 * for one (`Connection: upgrade` with an `Upgrade` type; `h2c` is not an upgrade a proxy performs, it is
 * served as HTTP/1.1) is proxied only when its route turns the type on (`RouteAction.upgrade_configs`), or
 * the listener's `upgrade_configs` has it enabled and the route does not turn it off. Otherwise it is
 * answered 403 with no body, before any HTTP filter runs. A CONNECT request is the `connect` upgrade, as in
 * Envoy.
 */
import type { HeaderSource, RouteDecision } from '@xmesh/router';

/** The lower-case upgrade type `request` asks for, or undefined. */
export function upgradeOf(request: HeaderSource): string | undefined {
  if (request.method === 'CONNECT') return 'connect';
  const upgrade = request.headers.get('upgrade');
  if (upgrade === undefined || upgrade === '') return undefined;
  const connection = request.headers.get('connection');
  if (connection === undefined || !connection.split(',').some((token) => token.trim().toLowerCase() === 'upgrade')) return undefined;
  const type = upgrade.trim().toLowerCase();
  return type === 'h2c' ? undefined : type;
}

/** Whether `decision` proxies an upgrade of `type`. */
export function upgradeAllowed(type: string, decision: RouteDecision): boolean {
  let routeEnabled = false;
  for (const config of decision.route.action.upgradeConfigs ?? []) {
    if (config.upgradeType !== type) continue;
    if (!config.enabled) return false;
    routeEnabled = true;
  }
  if (routeEnabled) return true;
  return decision.listener?.upgradeConfigs?.some((config) => config.upgradeType === type && config.enabled) ?? false;
}
