/**
 * `envoy.config.listener.v3.Listener` with one HttpConnectionManager: its routes (inline or RDS) and its
 * HTTP filters. The HCM is found in the filter chains (`filter_chains[]`, `default_filter_chain`; several chains
 * must carry the same HCM and differ by `filter_chain_match.transport_protocol`, see filter-chains.ts) or, as gRPC
 * xDS clients use it, in `api_listener`.
 */
import { isIP } from 'node:net';
import type { CallerTrust, CidrRange, DownstreamChains, DownstreamProtection, ListenerConfig, RouteConfig, SocketAddress } from '../model.js';
import { TypeUrl } from '../type-urls.js';
import { httpFiltersField } from './http-filters.js';
import { decodeCommonHttpProtocolOptions, decodeHttp1ProtocolOptions, decodeHttp2ProtocolOptions } from './protocol-options.js';
import { describeType, ignoreAll, oneOf, rejectUnsupported } from './fields.js';
import { Reader } from './reader.js';
import { decodeRouteConfig } from './route.js';
import { decodePathNormalization } from './path-normalization.js';
import { decodeLocalReplyConfig } from './local-reply.js';
import { decodeDownstream, filterChainsOf } from './filter-chains.js';
import { decodeTracing, readOutbound, refuseRouterChildSpans } from './tracing.js';

/**
 * Listener fields xmesh reads but does not act on, with the reason: they configure the downstream socket.
 * `listener_filters_timeout` and `continue_on_listener_filters_timeout` bound the sidecar's protocol
 * detection (its HTTP inspector), see `DownstreamProtection`.
 */
export const LISTENER_IGNORED: Readonly<Record<string, string>> = {
  stat_prefix: 'listener stats are not kept; the HCM stat_prefix names the stats',
  drain_type: 'downstream connection setting',
  listener_filters: 'the TLS and HTTP inspectors only (the sidecar detects TLS and the HTTP version itself); other listener filters are refused',
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

/** FilterChain fields xmesh reads but does not act on, with the reason. */
export const FILTER_CHAIN_IGNORED: Readonly<Record<string, string>> = {
  name: 'informational only',
  metadata: 'metadata is not used',
};

/**
 * HttpConnectionManager fields xmesh reads but does not act on, with the reason: they are about the downstream side.
 * The downstream protections (timeouts, header limits, protocol options) are decoded into `DownstreamProtection`
 * for the sidecar.
 */
export const HCM_IGNORED: Readonly<Record<string, string>> = {
  codec_type: 'the app or the sidecar chooses the downstream codec',
  access_log: 'downstream access logging is not implemented',
  access_log_flush_interval: 'downstream access logging is not implemented',
  flush_access_log_on_new_request: 'downstream access logging is not implemented',
  access_log_options: 'downstream access logging is not implemented',
  skip_xff_append: 'X-Forwarded-For handling concerns a proxy receiving calls',
  http3_protocol_options: 'downstream connection setting',
  server_name: 'the Server header concerns responses to downstream',
  server_header_transformation: 'the Server header concerns responses to downstream',
  scheme_header_transformation: 'downstream request normalization',
  always_set_request_id_in_response: 'x-request-id in responses concerns downstream callers',
  request_id_extension: 'x-request-id is a UUID v4 (Envoy\'s default extension)',
  drain_timeout: 'downstream connection draining',
  delayed_close_timeout: 'downstream connection closing',
  set_current_client_cert_details: 'applies only to forward_client_cert_details APPEND_FORWARD and SANITIZE_SET, which are refused',
  proxy_100_continue: 'downstream protocol handling',
  represent_ipv4_remote_address_as_ipv4_mapped_ipv6: 'downstream address handling',
  stream_error_on_invalid_http_message: 'downstream protocol handling',
  append_local_overload: 'marks requests when an overload action fires; overload actions are refused',
  add_proxy_protocol_connection_state: 'downstream connection setting',
};

/** HCM fields that would change what is sent or allowed and are not implemented: refused with their path. */
const HCM_UNSUPPORTED: Readonly<Record<string, string>> = {
  original_ip_detection_extensions: 'the caller\'s address (which decides whether it is internal) comes from use_remote_address and xff_num_trusted_hops only',
  proxy_status_config: 'the Proxy-Status response header is not implemented',
  typed_header_validation_config: 'header validation extensions are not implemented',
  early_header_mutation_extensions: 'early header mutation extensions are not implemented',
};

/** Listener filters a proxy may leave out: the sidecar detects TLS and the HTTP version on its own. */
const INSPECTORS: ReadonlySet<string> = new Set([
  'envoy.filters.listener.tls_inspector',
  'envoy.filters.listener.http_inspector',
  'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
  'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector',
]);

/** Envoy's default listener `per_connection_buffer_limit_bytes`: 1 MiB. */
export const DEFAULT_CONNECTION_BUFFER_LIMIT = 1024 * 1024;

const HCM_FILTER = 'envoy.filters.network.http_connection_manager';

export interface DecodedListener {
  /** `name` is '' when the listener has none: the snapshot gives it one (Envoy generates a name too). */
  readonly listener: ListenerConfig;
  readonly inlineRoutes: RouteConfig | undefined;
  /** False when no HttpConnectionManager was found (reported): the listener refers to no routes. */
  readonly hasRoutes: boolean;
}

export function decodeListener(r: Reader): DecodedListener {
  // Optional, as in Envoy (listener.proto: "If no name is provided, Envoy will allocate an internal UUID").
  const name = r.str('name') ?? '';
  const a = r.obj('address');
  const address = a ? readAddress(a) : undefined;
  const { hcm, downstream: chains, api } = findHcm(r);
  const perConnectionBufferLimitBytes = r.uint32('per_connection_buffer_limit_bytes', DEFAULT_CONNECTION_BUFFER_LIMIT);
  // A gRPC client refuses an api_listener with listener filters (gRFC A27): it cannot run them.
  if (api && r.list('listener_filters').length > 0) r.error('listener_filters', 'must be empty on an api_listener (a gRPC client runs no listener filters)');
  const protocolDetectionTimeoutMs = r.duration('listener_filters_timeout') ?? DEFAULT_PROTOCOL_DETECTION_TIMEOUT_MS;
  const continueOnProtocolDetectionTimeout = r.bool('continue_on_listener_filters_timeout', false);
  const protocol = decodeListenerProtocol(r.obj('metadata'));
  refuseListenerFilters(r);
  const ignoreGlobalConnLimit = r.bool('ignore_global_conn_limit', false);
  const outbound = readOutbound(r);
  ignoreAll(r, LISTENER_IGNORED);
  r.finish();

  // A Listener with an api_listener is a gRPC client's: its HCM (and inline routes) are read by the rules gRPC clients apply.
  const decoded = hcm === undefined ? undefined : r.issues.withRules(api ? 'grpc' : 'envoy', () => decodeHcm(hcm, name, outbound, protocolDetectionTimeoutMs, continueOnProtocolDetectionTimeout));
  const listener: ListenerConfig = {
    name,
    address,
    statPrefix: decoded?.statPrefix ?? '',
    routeConfigName: decoded?.routeConfigName ?? name,
    rds: decoded?.rds ?? false,
    httpFilters: decoded?.httpFilters ?? [],
    stripHostPort: decoded?.stripHostPort ?? 'none',
    generateRequestId: decoded?.generateRequestId ?? true,
    tracing: decoded?.tracing ?? false,
    perConnectionBufferLimitBytes,
    callerTrust: decoded?.callerTrust ?? NO_TRUSTED_CALLERS,
    protection: decoded?.protection ?? decodeProtection(undefined, protocolDetectionTimeoutMs, continueOnProtocolDetectionTimeout),
    ...(protocol === undefined ? {} : { protocol }),
    ...localReplyOf(decoded?.localReply),
    ...(decoded?.forwardClientCert === undefined ? {} : { forwardClientCert: decoded.forwardClientCert }),
    ...(decoded?.preserveExternalRequestId === true ? { preserveExternalRequestId: true } : {}),
    ...(ignoreGlobalConnLimit ? { ignoreGlobalConnLimit } : {}),
  };
  const withChains = chains === undefined ? listener : { ...listener, chains };
  const pathNormalization = decoded?.pathNormalization;
  return { listener: pathNormalization === undefined ? withChains : { ...withChains, pathNormalization }, inlineRoutes: decoded?.inlineRoutes, hasRoutes: hcm !== undefined };
}

/** A local_reply_config that changes nothing is left out of the listener. */
function localReplyOf(localReply: ListenerConfig['localReply']): Pick<ListenerConfig, 'localReply'> {
  return localReply === undefined || (localReply.mappers.length === 0 && localReply.bodyFormat === undefined) ? {} : { localReply };
}

type DecodedHcm = Pick<ListenerConfig, 'statPrefix' | 'routeConfigName' | 'rds' | 'httpFilters' | 'stripHostPort' | 'generateRequestId' | 'tracing' | 'callerTrust' | 'pathNormalization' | 'protection'> & {
  readonly inlineRoutes: RouteConfig | undefined;
  readonly localReply: ListenerConfig['localReply'];
  readonly forwardClientCert: ListenerConfig['forwardClientCert'];
  readonly preserveExternalRequestId: boolean;
};

/**
 * The HttpConnectionManager of listener `name`. Under a gRPC client's rules (an api_listener) `stat_prefix`
 * is optional, the router filter is needed only when `http_filters` lists any (gRFC A39), and `rds` must
 * take its routes from the ADS server (`config_source` `ads` or `self`, gRFC A27).
 */
function decodeHcm(hcm: Reader, name: string, outbound: boolean, protocolDetectionTimeoutMs: number, continueOnProtocolDetectionTimeout: boolean): DecodedHcm {
  const grpc = hcm.issues.rules === 'grpc';
  const statPrefix = grpc ? hcm.str('stat_prefix') ?? '' : hcm.requiredStr('stat_prefix');
  let routeConfigName = name;
  let rds = false;
  let inlineRoutes: RouteConfig | undefined;
  const which = oneOf(hcm, ['rds', 'route_config', 'scoped_routes'] as const, 'one of rds, route_config is required');
  rejectUnsupported(hcm, { scoped_routes: 'scoped routes are not implemented; use rds or route_config' });
  if (which === 'rds') {
    const rdsReader = hcm.obj('rds');
    if (rdsReader) {
      routeConfigName = rdsReader.requiredStr('route_config_name');
      if (grpc) checkAdsSource(rdsReader);
      else rdsReader.ignore('config_source');
      rdsReader.finish();
    }
    rds = true;
  } else if (which === 'route_config') {
    const rc = hcm.obj('route_config');
    if (rc) {
      inlineRoutes = decodeRouteConfig(rc, { defaultName: name });
      routeConfigName = inlineRoutes.name;
    }
  }
  hcm.get('rds');
  hcm.get('route_config');
  const httpFilters = httpFiltersField(hcm, 'http_filters');
  const stripAny = hcm.bool('strip_any_host_port', false);
  const stripMatching = hcm.bool('strip_matching_host_port', false);
  if (stripAny && stripMatching) hcm.error('strip_any_host_port', 'cannot be set together with strip_matching_host_port');
  const stripHostPort = stripAny ? 'any' : stripMatching ? 'matching' : 'none';
  const generateRequestId = hcm.bool('generate_request_id', true);
  const pathNormalization = decodePathNormalization(hcm);
  const tracing = decodeTracing(hcm, outbound);
  if (tracing !== false && tracing.kind === 'b3') refuseRouterChildSpans(hcm);
  const callerTrust = readCallerTrust(hcm);
  rejectUnsupported(hcm, HCM_UNSUPPORTED);
  for (const key of ['add_user_agent', 'append_x_forwarded_port'] as const) {
    if (hcm.bool(key, false)) hcm.error(key, `is not supported: the header it adds (${key === 'add_user_agent' ? 'user-agent, x-envoy-downstream-service-cluster' : 'x-forwarded-port'}) is not sent`);
  }
  const forwardClientCert = readForwardClientCert(hcm);
  const preserveExternalRequestId = hcm.bool('preserve_external_request_id', false);
  const lr = hcm.obj('local_reply_config');
  const localReply = lr ? decodeLocalReplyConfig(lr) : undefined;
  const protection = decodeProtection(hcm, protocolDetectionTimeoutMs, continueOnProtocolDetectionTimeout);
  ignoreAll(hcm, HCM_IGNORED);
  hcm.finish();
  return { statPrefix, routeConfigName, rds, httpFilters, stripHostPort, generateRequestId, tracing, callerTrust, pathNormalization, protection, inlineRoutes, localReply, forwardClientCert, preserveExternalRequestId };
}

/** gRFC A27: a gRPC client's RDS routes come over its ADS stream (`config_source` `ads`, or `self`). */
function checkAdsSource(rds: Reader): void {
  const source = rds.get('config_source');
  const fromAds = source !== null && typeof source === 'object' && ('ads' in source || 'self' in source);
  if (!fromAds) rds.error('config_source', 'must be ads or self: a gRPC client takes its routes from its ADS server (gRFC A27)');
}

const NO_TRUSTED_CALLERS: CallerTrust = Object.freeze({ useRemoteAddress: false, xffNumTrustedHops: 0, internalCidrs: Object.freeze([]) });

/** HCM `use_remote_address`, `xff_num_trusted_hops`, `internal_address_config` (see CallerTrust). */
function readCallerTrust(hcm: Reader): CallerTrust {
  const useRemoteAddress = hcm.bool('use_remote_address', false);
  const xffNumTrustedHops = hcm.int('xff_num_trusted_hops', 0);
  const config = hcm.obj('internal_address_config');
  const internalCidrs: CidrRange[] = [];
  if (config) {
    if (config.bool('unix_sockets', false)) config.error('unix_sockets', 'downstream unix sockets are not supported');
    for (const range of config.objects('cidr_ranges')) {
      const addressPrefix = range.requiredStr('address_prefix');
      const family = isIP(addressPrefix);
      if (family === 0) range.error('address_prefix', `must be an IPv4 or IPv6 address, got ${JSON.stringify(addressPrefix)}`);
      const prefixLen = range.int('prefix_len', 0, 0, family === 6 ? 128 : 32);
      range.finish();
      if (family !== 0) internalCidrs.push({ addressPrefix, prefixLen });
    }
    config.finish();
  }
  if (!useRemoteAddress && xffNumTrustedHops === 0 && internalCidrs.length === 0) return NO_TRUSTED_CALLERS;
  return { useRemoteAddress, xffNumTrustedHops, internalCidrs };
}

/** Envoy's default `listener_filters_timeout`. */
const DEFAULT_PROTOCOL_DETECTION_TIMEOUT_MS = 15_000;
/** Envoy's default HCM `stream_idle_timeout`. */
const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 300_000;
/** Envoy's default `max_request_headers_kb`. */
const DEFAULT_MAX_REQUEST_HEADERS_KB = 60;

/** The HCM's downstream protections (Envoy's defaults without an HCM). */
function decodeProtection(hcm: Reader | undefined, protocolDetectionTimeoutMs: number, continueOnProtocolDetectionTimeout: boolean): DownstreamProtection {
  return Object.freeze({
    streamIdleTimeoutMs: hcm?.duration('stream_idle_timeout') ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS,
    requestTimeoutMs: hcm?.duration('request_timeout') ?? 0,
    requestHeadersTimeoutMs: hcm?.duration('request_headers_timeout') ?? 0,
    maxRequestHeadersBytes: (hcm?.int('max_request_headers_kb', DEFAULT_MAX_REQUEST_HEADERS_KB, 1, 8192) ?? DEFAULT_MAX_REQUEST_HEADERS_KB) * 1024,
    ...decodeCommonHttpProtocolOptions(hcm?.obj('common_http_protocol_options')),
    ...decodeHttp1ProtocolOptions(hcm?.obj('http_protocol_options')),
    ...decodeHttp2ProtocolOptions(hcm?.obj('http2_protocol_options')),
    protocolDetectionTimeoutMs,
    continueOnProtocolDetectionTimeout,
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
  s.ignore('protocol', 'ipv4_compat', 'network_namespace_filepath');
  s.finish();
  return { address, port };
}

/**
 * The HttpConnectionManager config of the listener, or undefined (with an error recorded), how its filter
 * chains secure connections (see filter-chains.ts), and whether it is an api_listener's (a gRPC client's).
 */
function findHcm(r: Reader): { hcm: Reader | undefined; downstream: DownstreamChains | undefined; api: boolean } {
  if (r.has('api_listener')) {
    if (r.has('filter_chains') || r.has('default_filter_chain')) {
      r.error('api_listener', 'cannot be combined with filter_chains or default_filter_chain');
    }
    const api = r.obj('api_listener');
    const any = api?.obj('api_listener');
    api?.finish();
    if (api && !any) api.error('api_listener', 'is required');
    return { hcm: any && checkHcmType(any) ? any : undefined, downstream: undefined, api: true };
  }
  const chains = filterChainsOf(r);
  if (chains.length === 0) {
    r.error('filter_chains', 'a listener needs a filter chain (filter_chains or default_filter_chain), got none');
    return { hcm: undefined, downstream: undefined, api: false };
  }
  const hcms = chains.map(({ reader }) => chainHcm(reader));
  // One route table per listener: every chain must carry the same connection manager.
  const first = hcms[0];
  hcms.forEach((hcm, i) => {
    if (i > 0 && hcm && first && JSON.stringify(hcm.raw) !== JSON.stringify(first.raw)) {
      hcm.issues.error(hcm.path, `must be the same ${HCM_FILTER} as the first filter chain's (xmesh serves one route table per listener)`);
    }
  });
  const downstream = decodeDownstream(r, chains);
  for (const { reader } of chains) {
    ignoreAll(reader, FILTER_CHAIN_IGNORED);
    reader.finish();
  }
  return { hcm: first, downstream, api: false };
}

/** The one HttpConnectionManager of a filter chain (errors recorded). */
function chainHcm(chain: Reader): Reader | undefined {
  let hcm: Reader | undefined;
  const filters = chain.objects('filters');
  if (filters.length === 0) chain.error('filters', `must contain the ${HCM_FILTER} network filter`);
  for (const f of filters) {
    const filterName = f.requiredStr('name');
    const any = f.obj('typed_config');
    rejectUnsupported(f, { config_discovery: 'filter configs must be given inline in typed_config' });
    f.finish();
    let config: Reader | undefined;
    if (any) {
      if (checkHcmType(any, filterName)) config = any;
    } else if (filterName === HCM_FILTER) {
      // Without typed_config Envoy finds the filter by its name and configures it with defaults
      // (RegistryUtils::getAndCheckFactory, source/common/config/registry_utils.h).
      config = Reader.of({}, `${f.path}.typed_config`, f.issues);
    } else if (!f.has('config_discovery') && filterName !== '') {
      f.error('name', `unsupported network filter "${filterName}": only ${HCM_FILTER} is supported`);
    }
    if (!config) continue;
    if (hcm) f.error('typed_config', `only one ${HCM_FILTER} filter is supported`);
    else hcm = config;
  }
  return hcm;
}

/** True when the Any is an HttpConnectionManager; records an error otherwise. */
function checkHcmType(any: Reader, filterName?: string): boolean {
  const type = any.raw['@type'];
  if (type === TypeUrl.HttpConnectionManager) return true;
  const what = filterName ? `network filter "${filterName}"` : 'api_listener';
  any.issues.error(
    any.at('@type'),
    type === undefined ? 'is required' : `unsupported ${what} type ${describeType(type)}: only ${HCM_FILTER} is supported`,
  );
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

/**
 * `forward_client_cert_details`: SANITIZE (the default) removes a caller's x-forwarded-client-cert;
 * FORWARD_ONLY keeps it from an mTLS caller; ALWAYS_FORWARD_ONLY keeps it. APPEND_FORWARD and
 * SANITIZE_SET write the client certificate's details, which is not implemented: refused.
 */
function readForwardClientCert(hcm: Reader): ListenerConfig['forwardClientCert'] {
  if (!hcm.has('forward_client_cert_details')) return undefined;
  const mode = hcm.enumOf('forward_client_cert_details', ['SANITIZE', 'FORWARD_ONLY', 'APPEND_FORWARD', 'SANITIZE_SET', 'ALWAYS_FORWARD_ONLY'] as const, 'SANITIZE', {
    0: 'SANITIZE', 1: 'FORWARD_ONLY', 2: 'APPEND_FORWARD', 3: 'SANITIZE_SET', 4: 'ALWAYS_FORWARD_ONLY',
  });
  if (mode === 'APPEND_FORWARD' || mode === 'SANITIZE_SET') {
    hcm.error('forward_client_cert_details', `${mode} is not supported: the client certificate's details are not written into x-forwarded-client-cert`);
    return undefined;
  }
  return mode === 'FORWARD_ONLY' ? 'forward_only' : mode === 'ALWAYS_FORWARD_ONLY' ? 'always_forward_only' : undefined;
}
