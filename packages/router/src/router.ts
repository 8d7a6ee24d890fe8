import { ErrorCode, GrpcStatus, MeshError } from '@xmesh/core';
import type { ListenerConfig, MeshSnapshot } from '@xmesh/xds';
import type { RouteDecision, RouteRequest } from './types.js';
import { compileRouteConfig, type CompiledRouteConfig } from './compiled-route-config.js';
import { RouteTable, type RoutableVirtualHost } from './route-table.js';
import { asciiLower } from './ascii.js';
import { splitAuthority } from './authority.js';

export interface RouterOptions {
  /** Listener to use when none is named like the authority or bound to its port. */
  readonly listener?: string;
  /** Returns a number in [0, 1); drives weighted clusters and runtime fractions. Default Math.random. */
  readonly random?: () => number;
}

/**
 * Routes requests with one snapshot's listeners and route configs. Everything is compiled in the
 * constructor (domain indexes, regexes, decisions); `route()` is synchronous and returns shared,
 * frozen decisions. A new snapshot gets a new Router.
 *
 * Listener selection for a call: the request's `listener` when it names one (an `xds:///` target:
 * that listener or none); otherwise the first that applies:
 * 1. the listener named exactly like the authority (gRPC xDS style);
 * 2. the listener whose address port equals the authority's port (Istio outbound style);
 * 3. `options.listener`, when the snapshot has it;
 * 4. the only listener, when there is exactly one;
 * 5. otherwise the virtual hosts of every route config (first route config wins a domain).
 *
 * Virtual hosts match the authority as sent, `host:port` included, as Envoy does: list both forms in
 * `domains` (as Istio does), or set `ignore_port_in_host_matching` / `strip_any_host_port`.
 */
export class Router {
  private readonly random: () => number;
  private readonly byName = new Map<string, RouteTable>();
  private readonly byPort = new Map<number, RouteTable>();
  /** The route tables of listeners' other filter chains' HCMs, by their ListenerConfig name (`<listener>/<chain>`). */
  private readonly byChain = new Map<string, RouteTable>();
  private readonly fallback: RouteTable;
  /** Authority as sent → its route table and virtual host (undefined: none matches); bounded, per snapshot. */
  private readonly byAuthority = new Map<string, { table: RouteTable; vhost: RoutableVirtualHost | undefined }>();
  /** Listener named by the request → its table and, per authority, its virtual host; bounded, per snapshot. */
  private readonly byListener = new Map<string, { table: RouteTable; byAuthority: Map<string, RoutableVirtualHost | undefined> }>();

  constructor(snapshot: MeshSnapshot, options: RouterOptions = {}) {
    this.random = options.random ?? Math.random;
    const compiled = new Map<string, CompiledRouteConfig>();
    for (const [name, routeConfig] of Object.entries(snapshot.routeConfigs)) compiled.set(name, compileRouteConfig(routeConfig));

    const tableFor = (listener: ListenerConfig): RouteTable => {
      const config = compiled.get(listener.routeConfigName);
      return config === undefined
        ? new RouteTable(listener, [], listener.routeConfigName)
        : new RouteTable(listener, [config]);
    };
    const listeners = Object.values(snapshot.listeners);
    for (const listener of listeners) {
      const table = tableFor(listener);
      this.byName.set(listener.name, table);
      const port = listener.address?.port;
      if (port !== undefined && port !== 0 && !this.byPort.has(port)) this.byPort.set(port, table);
      for (const chain of listener.filterChains ?? []) {
        if (chain.network.kind !== 'http') continue;
        const chainListener = chain.network.listener;
        this.byChain.set(chainListener.name, chainListener.name === listener.name ? table : tableFor(chainListener));
      }
    }
    const named = options.listener === undefined ? undefined : this.byName.get(options.listener);
    const only = listeners.length === 1 ? this.byName.get(listeners[0]!.name) : undefined;
    this.fallback = named ?? only ?? new RouteTable(undefined, [...compiled.values()]);
  }

  /**
   * Picks listener, virtual host, route and cluster. Returns (does not throw) a MeshError with
   * code XMESH_NO_ROUTE when no virtual host or route matches; its gRPC status is UNIMPLEMENTED
   * (12) and its HTTP status 404, as Envoy answers a request without a route — UNAVAILABLE (14) for a
   * request naming its listener, as gRPC clients fail it, and 503 when that listener does not exist.
   */
  route(request: RouteRequest): RouteDecision | MeshError {
    const { table, vhost } = request.listener === undefined ? this.hostOf(request.authority) : this.hostIn(request.listener, request.authority);
    if (table === undefined) return noListener(request.listener!);
    return this.routeIn(table, vhost, request);
  }

  /**
   * Routes with the routes of one listener's HCM: `listener` is the name of a ListenerConfig — a listener, or
   * another filter chain's HCM (`<listener>/<chain>`) — as a proxy serving that chain's connection routes. Unknown
   * names route as `route()` does.
   */
  routeVia(listener: string, request: RouteRequest): RouteDecision | MeshError {
    const table = this.byChain.get(listener) ?? this.byName.get(listener);
    if (table === undefined) return this.route(request);
    return this.routeIn(table, table.findVirtualHost(splitAuthority(asciiLower(request.authority))), request);
  }

  private routeIn(table: RouteTable, vhost: RoutableVirtualHost | undefined, request: RouteRequest): RouteDecision | MeshError {
    if (vhost === undefined) return noRoute(request, table, 'no virtual host matches the authority');

    // The listener's normalization comes first: the normalized path is the one matched (and forwarded).
    let rawPath = request.path;
    // A CONNECT request has no path to normalize.
    if (table.normalizer !== undefined && rawPath !== '') {
      const normalized = table.normalizer.normalize(rawPath);
      if (typeof normalized !== 'string') return normalized;
      rawPath = normalized;
    }
    // The path ends at the first "?" or "#" (Envoy's removeQueryAndFragment); a "?" after the "#"
    // belongs to the fragment, not to a query string.
    const queryAt = rawPath.indexOf('?');
    const fragmentAt = rawPath.indexOf('#');
    const hasQuery = queryAt >= 0 && (fragmentAt < 0 || queryAt < fragmentAt);
    const pathEnd = hasQuery ? queryAt : fragmentAt >= 0 ? fragmentAt : rawPath.length;
    const path = pathEnd === rawPath.length ? rawPath : rawPath.slice(0, pathEnd);
    const query = hasQuery ? rawPath.slice(queryAt + 1, fragmentAt > queryAt ? fragmentAt : rawPath.length) : '';

    const { matchers, choices } = vhost;
    for (let i = 0; i < matchers.length; i++) {
      if (!matchers[i]!(request, path, query, this.random)) continue;
      const choice = choices[i];
      if (choice === undefined) return noRoute(request, table, `route "${vhost.virtualHost.routes[i]!.name}" names no cluster`);
      return choice.pick(this.random);
    }
    return noRoute(request, table, `no route of virtual host "${vhost.virtualHost.name}" matches`);
  }

  /** The route table and virtual host of an authority: both depend on the authority alone, so they are kept per authority. */
  private hostOf(authority: string): { table: RouteTable; vhost: RoutableVirtualHost | undefined } {
    let found = this.byAuthority.get(authority);
    if (found === undefined) {
      const split = splitAuthority(asciiLower(authority));
      const table = this.byName.get(authority) ?? (split.port === undefined ? undefined : this.byPort.get(split.port)) ?? this.fallback;
      found = { table, vhost: table.findVirtualHost(split) };
      if (this.byAuthority.size < MAX_CACHED_AUTHORITIES) this.byAuthority.set(authority, found);
    }
    return found;
  }

  /** The virtual host of `authority` in listener `name`'s route table only (undefined table: no such listener). */
  private hostIn(name: string, authority: string): { table: RouteTable | undefined; vhost: RoutableVirtualHost | undefined } {
    let hosts = this.byListener.get(name);
    if (hosts === undefined) {
      const table = this.byName.get(name);
      if (table === undefined) return NO_TABLE;
      if (this.byListener.size >= MAX_CACHED_AUTHORITIES) return { table, vhost: table.findVirtualHost(splitAuthority(asciiLower(authority))) };
      this.byListener.set(name, (hosts = { table, byAuthority: new Map() }));
    }
    let vhost = hosts.byAuthority.get(authority);
    if (vhost === undefined && !hosts.byAuthority.has(authority)) {
      vhost = hosts.table.findVirtualHost(splitAuthority(asciiLower(authority)));
      if (hosts.byAuthority.size < MAX_CACHED_AUTHORITIES) hosts.byAuthority.set(authority, vhost);
    }
    return { table: hosts.table, vhost };
  }
}

const NO_TABLE = Object.freeze({ table: undefined, vhost: undefined });

/**
 * A request naming a listener the snapshot lacks: UNAVAILABLE (503), as a gRPC client fails calls for a
 * Listener that does not exist.
 */
function noListener(listener: string): MeshError {
  return new MeshError(ErrorCode.NO_ROUTE, `listener "${listener}" does not exist`, { grpcStatus: GrpcStatus.UNAVAILABLE, httpStatus: 503 });
}

/** Authorities whose route table and virtual host a Router keeps (a bound on memory for callers that vary it). */
const MAX_CACHED_AUTHORITIES = 1024;

function noRoute(request: RouteRequest, table: RouteTable, reason: string): MeshError {
  const where =
    table.listener === undefined
      ? ''
      : table.missingRouteConfig === undefined
        ? ` (listener "${table.listener.name}")`
        : ` (listener "${table.listener.name}": route config "${table.missingRouteConfig}" not known)`;
  // A gRPC client fails a call its listener has no route for UNAVAILABLE (gRPC's xDS resolver); Envoy answers 404.
  const status = request.listener === undefined ? undefined : { grpcStatus: GrpcStatus.UNAVAILABLE };
  return new MeshError(ErrorCode.NO_ROUTE, `no route for ${request.authority}${request.path}: ${reason}${where}`, status);
}
