/**
 * `envoy.config.listener.v3.Listener`: its filter chains (see filter-chains.ts: each with its match, its TLS and its
 * HttpConnectionManager or tcp_proxy), or, as gRPC xDS clients use it, an `api_listener` holding an
 * HttpConnectionManager. The listener's own routes and HTTP filters (the fields of its ListenerConfig) are those of
 * its main chain's HttpConnectionManager: the chain a plaintext connection from loopback to the listener's port,
 * without SNI or ALPN, takes (else the first HTTP chain), which is what embedded mode and the app's calls use.
 */
import type { DownstreamProtection, ListenerConfig, RouteConfig, SocketAddress } from '../model.js';
import type { ListenerFilterChain } from '../filter-model.js';
import { TypeUrl } from '../type-urls.js';
import { selectFilterChain } from '../filter-chain-select.js';
import { describeType, ignoreAll, rejectUnsupported } from './fields.js';
import { Reader } from './reader.js';
import { DEFAULT_PROTOCOL_DETECTION_TIMEOUT_MS, decodeHcm, decodeProtection, type HcmContext } from './hcm.js';
import { checkSameProtection, decodeFilterChains } from './filter-chains.js';
import { PROTOCOL_NUMBERS, PROTOCOLS } from './lb-endpoint.js';

export { HCM_IGNORED } from './hcm.js';
export { FILTER_CHAIN_IGNORED } from './filter-chains.js';
import { readOutbound } from './tracing.js';

/**
 * Listener fields xmesh reads but does not act on, with the reason: they configure the downstream socket.
 * `listener_filters_timeout` and `continue_on_listener_filters_timeout` bound the sidecar's protocol
 * detection (its HTTP inspector), see `DownstreamProtection`.
 */
export const LISTENER_IGNORED: Readonly<Record<string, string>> = {
  stat_prefix: 'listener stats are not kept; the HCM stat_prefix names the stats',
  drain_type: 'downstream connection setting',
  listener_filters: 'the TLS inspector is implied (SNI and ALPN are always read when a chain matches on them); the HTTP inspector\'s presence is read (plaintext connections then offer h2c / http/1.1 as application protocol); other listener filters are refused',
  transparent: 'downstream socket option',
  freebind: 'downstream socket option',
  socket_options: 'downstream socket option',
  tcp_fast_open_queue_length: 'downstream socket option',
  connection_balance_config: 'downstream connection setting',
  reuse_port: 'downstream socket option',
  enable_reuse_port: 'downstream socket option',
  access_log: 'downstream access logging is not implemented',
  tcp_backlog_size: 'downstream socket option',
  bind_to_port: 'downstream socket option',
  enable_mptcp: 'downstream socket option',
  max_connections_to_accept_per_socket_event: 'downstream connection setting',
  additional_addresses: 'only the main address is reported',
};

/** Envoy's default listener `per_connection_buffer_limit_bytes`: 1 MiB. */
export const DEFAULT_CONNECTION_BUFFER_LIMIT = 1024 * 1024;

const HCM_FILTER = 'envoy.filters.network.http_connection_manager';
const HTTP_INSPECTOR = 'envoy.filters.listener.http_inspector';

/** Listener filters a proxy may leave out: the sidecar detects TLS and the HTTP version on its own. */
const INSPECTORS: ReadonlySet<string> = new Set([
  'envoy.filters.listener.tls_inspector',
  'envoy.filters.listener.http_inspector',
  'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
  'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector',
]);

export interface DecodedListener {
  /** `name` is '' when the listener has none: the snapshot gives it one (Envoy generates a name too). */
  readonly listener: ListenerConfig;
  /** The main HCM's inline route configuration. */
  readonly inlineRoutes: RouteConfig | undefined;
  /** The inline route configurations of the other chains' HCMs, by chain name. */
  readonly chainRoutes: ReadonlyMap<string, RouteConfig>;
  /** False when no HttpConnectionManager was found (reported, or a tcp_proxy-only listener): the listener refers to no routes. */
  readonly hasRoutes: boolean;
  /** The name of the chain whose HCM is the listener's own (see mainChain). */
  readonly mainChain?: string;
}

export function decodeListener(r: Reader): DecodedListener {
  // Optional, as in Envoy (listener.proto: "If no name is provided, Envoy will allocate an internal UUID").
  const name = r.str('name') ?? '';
  const a = r.obj('address');
  const address = a ? readAddress(a) : undefined;
  const perConnectionBufferLimitBytes = r.uint32('per_connection_buffer_limit_bytes', DEFAULT_CONNECTION_BUFFER_LIMIT);
  const protocolDetectionTimeoutMs = r.duration('listener_filters_timeout') ?? DEFAULT_PROTOCOL_DETECTION_TIMEOUT_MS;
  const continueOnProtocolDetectionTimeout = r.bool('continue_on_listener_filters_timeout', false);
  const protocol = decodeListenerProtocol(r.obj('metadata'));
  const httpInspector = hasHttpInspector(r.get('listener_filters'));
  const ignoreGlobalConnLimit = r.bool('ignore_global_conn_limit', false);
  const outbound = readOutbound(r);
  const context: HcmContext = { name, address, outbound, perConnectionBufferLimitBytes, protocolDetectionTimeoutMs, continueOnProtocolDetectionTimeout, protocol };

  if (r.has('api_listener')) {
    if (r.has('filter_chains') || r.has('default_filter_chain')) r.error('api_listener', 'cannot be combined with filter_chains or default_filter_chain');
    const api = r.obj('api_listener');
    const any = api?.obj('api_listener');
    api?.finish();
    if (api && !any) api.error('api_listener', 'is required');
    const hcm = any && checkHcmType(any) ? any : undefined;
    // A gRPC client refuses an api_listener with listener filters (gRFC A27): it cannot run them.
    if (r.list('listener_filters').length > 0) r.error('listener_filters', 'must be empty on an api_listener (a gRPC client runs no listener filters)');
    // A Listener with an api_listener is a gRPC client's: its HCM (and inline routes) are read by the rules gRPC clients apply.
    const decoded = r.issues.withRules('grpc', () => decodeHcm(hcm, context));
    finishListener(r);
    return { listener: withConnLimit(decoded.listener, ignoreGlobalConnLimit), inlineRoutes: decoded.inlineRoutes, chainRoutes: new Map(), hasRoutes: hcm !== undefined };
  }

  refuseListenerFilters(r);
  // A filter-chain listener is a proxy's: its HCMs keep Envoy's rules, whoever reads the resource.
  const decoded = r.issues.withRules('envoy', () => decodeFilterChains(r, context));
  const chains = decoded.chains;
  finishListener(r);
  const main = mainChain(chains, address, httpInspector);
  let listener: ListenerConfig;
  let inlineRoutes: RouteConfig | undefined;
  if (main !== undefined && main.network.kind === 'http') {
    // The main chain's HCM is the listener's own: it has the listener's name (its requests route as the listener's),
    // and so does its unnamed inline route configuration.
    const chainName = `${name}/${main.name}`;
    const own = main.network.listener;
    listener = { ...own, name, routeConfigName: own.routeConfigName === chainName ? name : own.routeConfigName };
    const routes = decoded.inlineRoutes.get(main.name);
    inlineRoutes = routes !== undefined && routes.name === chainName ? { ...routes, name } : routes;
    checkSameProtection(r, decoded, listener.protection);
  } else {
    listener = decodeHcm(undefined, context).listener;
  }
  const filterChains: ListenerFilterChain[] = chains.map((chain) => (chain === main && chain.network.kind === 'http' ? { ...chain, network: { kind: 'http', listener } } : chain));
  const chainRoutes = new Map([...decoded.inlineRoutes].filter(([chain]) => chain !== main?.name));
  return {
    listener: withConnLimit({ ...listener, filterChains, ...(httpInspector ? { httpInspector } : {}) }, ignoreGlobalConnLimit),
    inlineRoutes,
    chainRoutes,
    hasRoutes: main !== undefined && main.network.kind === 'http',
    ...(main === undefined ? {} : { mainChain: main.name }),
  };
}

/** `ignore_global_conn_limit`: the listener's connections are not counted against the overload manager's limit. */
function withConnLimit(listener: ListenerConfig, ignoreGlobalConnLimit: boolean): ListenerConfig {
  return ignoreGlobalConnLimit ? { ...listener, ignoreGlobalConnLimit } : listener;
}

function finishListener(r: Reader): void {
  ignoreAll(r, LISTENER_IGNORED);
  r.finish();
}

/**
 * The chain whose HCM is the listener's own: the one a plaintext connection from loopback to the listener's port,
 * without SNI or ALPN (with the HTTP inspector: http/1.1), takes; else the first HTTP chain.
 */
function mainChain(chains: readonly ListenerFilterChain[], address: SocketAddress | undefined, httpInspector: boolean): ListenerFilterChain | undefined {
  const local = address === undefined || address.address === '0.0.0.0' || address.address === '::' || address.address === '' ? '127.0.0.1' : address.address;
  const chosen = selectFilterChain(chains, {
    localAddress: local,
    localPort: address?.port ?? 0,
    remoteAddress: '127.0.0.1',
    remotePort: 0,
    serverName: '',
    transportProtocol: 'raw_buffer',
    applicationProtocols: httpInspector ? ['http/1.1'] : [],
  });
  return chosen?.network.kind === 'http' ? chosen : chains.find((c) => c.network.kind === 'http') ?? chosen;
}

/** `listener_filters` (not decoded: see LISTENER_IGNORED) lists the HTTP inspector. */
function hasHttpInspector(value: unknown): boolean {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.some((f) => {
    if (typeof f !== 'object' || f === null) return false;
    const filter = f as { name?: unknown; typed_config?: { '@type'?: unknown }; typedConfig?: { '@type'?: unknown } };
    const type = filter.typed_config?.['@type'] ?? filter.typedConfig?.['@type'];
    return filter.name === HTTP_INSPECTOR || (typeof type === 'string' && type.endsWith('.http_inspector.v3.HttpInspector'));
  });
}

/**
 * Listener `metadata`: `filter_metadata.xmesh.protocol` says which protocol the xmesh sidecar speaks
 * on the listener (`bolt`: SOFARPC's Bolt, routed by the listener's HttpConnectionManager routes as
 * docs/config.md maps it; `http`, the default). Other filter_metadata entries configure other
 * filters and are recorded as ignored; so is `typed_filter_metadata`.
 */
function decodeListenerProtocol(m: Reader | undefined): 'bolt' | undefined {
  if (!m) return undefined;
  let protocol: 'bolt' | undefined;
  for (const { key, value, path } of m.entries('filter_metadata')) {
    if (key !== 'xmesh') {
      m.issues.ignored.push(path);
      continue;
    }
    const x = Reader.of(value, path, m.issues);
    if (!x) continue;
    if (x.has('protocol') && x.enumOf('protocol', ['http', 'bolt'] as const, 'http') === 'bolt') protocol = 'bolt';
    x.finish('xmesh listener setting');
  }
  m.ignore('typed_filter_metadata');
  m.finish();
  return protocol;
}

/** `address.socket_address` {address, port_value}; other address kinds are not supported. */
function readAddress(a: Reader): SocketAddress | undefined {
  rejectUnsupported(a, {
    pipe: 'only socket addresses are supported',
    envoy_internal_address: 'only socket addresses are supported',
  });
  const s = a.obj('socket_address');
  a.finish();
  if (!s) return undefined;
  const address = s.requiredStr('address');
  const port = s.int('port_value', 0, 0, 65_535);
  rejectUnsupported(s, { named_port: 'use port_value', resolver_name: 'addresses are not resolved' });
  // A UDP listener (QUIC, udp_proxy) is another kind of listener: never served as TCP.
  if (s.enumOf('protocol', PROTOCOLS, 'TCP', PROTOCOL_NUMBERS) !== 'TCP') s.error('protocol', 'UDP listeners are not supported: the sidecar listens on TCP');
  s.ignore('ipv4_compat', 'network_namespace_filepath');
  s.finish();
  return { address, port };
}

/** True when the Any is an HttpConnectionManager; records an error otherwise. */
function checkHcmType(any: Reader): boolean {
  const type = any.raw['@type'];
  if (type === TypeUrl.HttpConnectionManager) return true;
  any.issues.error(any.at('@type'), type === undefined ? 'is required' : `unsupported api_listener type ${describeType(type)}: only ${HCM_FILTER} is supported`);
  return false;
}

/** Envoy's downstream protections for a listener that sets none. */
export const DEFAULT_DOWNSTREAM_PROTECTION: DownstreamProtection = decodeProtection(undefined, DEFAULT_PROTOCOL_DETECTION_TIMEOUT_MS, false);

/**
 * `listener_filters`: the TLS and HTTP inspectors only; any other (proxy protocol, original
 * destination, connection rate limits, ...) would change who the caller is or whether a connection
 * is served, and is refused with its path.
 */
function refuseListenerFilters(r: Reader): void {
  for (const { value, path } of r.list('listener_filters')) {
    const filter = value as { name?: unknown; typed_config?: { '@type'?: unknown }; typedConfig?: { '@type'?: unknown } } | null;
    const name = typeof filter?.name === 'string' ? filter.name : '';
    const type = filter?.typed_config?.['@type'] ?? filter?.typedConfig?.['@type'];
    if (INSPECTORS.has(name) || (typeof type === 'string' && INSPECTORS.has(type))) continue;
    r.issues.error(path, `unsupported listener filter ${JSON.stringify(name || type)}: only the TLS and HTTP inspectors are accepted (the sidecar does their work)`);
  }
}
