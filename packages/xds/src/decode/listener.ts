/**
 * `envoy.config.listener.v3.Listener` with one HttpConnectionManager: its routes (inline or RDS) and its
 * HTTP filters. The HCM is found in the filter chains (`filter_chains[]`, `default_filter_chain`; several chains
 * must carry the same HCM and differ by `filter_chain_match.transport_protocol`, see filter-chains.ts) or, as gRPC
 * xDS clients use it, in `api_listener`.
 */
import type { CallerTrust, CidrRange, DownstreamChains, DownstreamProtection, ListenerConfig, RouteConfig, SocketAddress } from '../model.js';
import type { UpgradeConfig } from '../filter-model.js';
import { TypeUrl } from '../type-urls.js';
import { httpFiltersField } from './http-filters.js';
import { decodeCommonHttpProtocolOptions, decodeHttp1ProtocolOptions, decodeHttp2ProtocolOptions } from './protocol-options.js';
import { describeType, ignoreAll, oneOf, rejectUnsupported } from './fields.js';
import { Reader } from './reader.js';
import { decodeRouteConfig } from './route.js';
import { decodePathNormalization } from './path-normalization.js';
import { decodeDownstream, filterChainsOf } from './filter-chains.js';
import { readCidrRange } from './cidr.js';

/**
 * Listener fields xmesh reads but does not act on, with the reason: they configure the downstream socket.
 * `listener_filters_timeout` and `continue_on_listener_filters_timeout` bound the sidecar's protocol
 * detection (its HTTP inspector), see `DownstreamProtection`.
 */
export const LISTENER_IGNORED: Readonly<Record<string, string>> = {
  stat_prefix: 'listener stats are not kept; the HCM stat_prefix names the stats',
  drain_type: 'downstream connection setting',
  listener_filters: 'downstream connection setting (TLS inspector, proxy protocol, ...)',
  transparent: 'downstream socket option',
  freebind: 'downstream socket option',
  socket_options: 'downstream socket option',
  tcp_fast_open_queue_length: 'downstream socket option',
  traffic_direction: 'informational only',
  connection_balance_config: 'downstream connection setting',
  reuse_port: 'downstream socket option',
  enable_reuse_port: 'downstream socket option',
  access_log: 'downstream access logging is not implemented',
  tcp_backlog_size: 'downstream socket option',
  bind_to_port: 'downstream socket option',
  enable_mptcp: 'downstream socket option',
  ignore_global_conn_limit: 'downstream connection setting',
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
  original_ip_detection_extensions: 'X-Forwarded-For handling concerns a proxy receiving calls',
  http3_protocol_options: 'downstream connection setting',
  server_name: 'the Server header concerns responses to downstream',
  server_header_transformation: 'the Server header concerns responses to downstream',
  scheme_header_transformation: 'downstream request normalization',
  preserve_external_request_id: 'calls from the app are internal requests: a caller\'s x-request-id is always kept',
  always_set_request_id_in_response: 'x-request-id in responses concerns downstream callers',
  request_id_extension: 'x-request-id is a UUID v4 (Envoy\'s default extension)',
  drain_timeout: 'downstream connection draining',
  delayed_close_timeout: 'downstream connection closing',
  add_user_agent: 'downstream request decoration',
  forward_client_cert_details: 'downstream mTLS details',
  set_current_client_cert_details: 'downstream mTLS details',
  proxy_100_continue: 'downstream protocol handling',
  represent_ipv4_remote_address_as_ipv4_mapped_ipv6: 'downstream address handling',
  local_reply_config: 'local replies are errors returned to the app, not HTTP bodies',
  stream_error_on_invalid_http_message: 'downstream protocol handling',
  proxy_status_config: 'the Proxy-Status header concerns responses to downstream',
  typed_header_validation_config: 'downstream request validation',
  append_x_forwarded_port: 'X-Forwarded-Port concerns a proxy receiving calls',
  append_local_overload: 'overload manager is not implemented',
  add_proxy_protocol_connection_state: 'downstream connection setting',
  early_header_mutation_extensions: 'downstream request decoration',
};

/**
 * HCM `tracing`: with the OpenTelemetry provider (Envoy's W3C trace-context tracer) upstream requests
 * carry a `traceparent`; another provider or none propagates nothing, as Envoy's null tracer. Spans
 * themselves belong to the app's tracer.
 */
export const TRACING_IGNORED: Readonly<Record<string, string>> = {
  client_sampling: 'sampling is decided by the app\'s tracer; the mesh propagates the caller\'s sampled flag',
  random_sampling: 'sampling is decided by the app\'s tracer; the mesh propagates the caller\'s sampled flag',
  overall_sampling: 'sampling is decided by the app\'s tracer; the mesh propagates the caller\'s sampled flag',
  verbose: 'spans are recorded by the app\'s tracer (OpenTelemetry)',
  max_path_tag_length: 'spans are recorded by the app\'s tracer (OpenTelemetry)',
  custom_tags: 'spans are recorded by the app\'s tracer (OpenTelemetry)',
  spawn_upstream_span: 'spans are recorded by the app\'s tracer (OpenTelemetry)',
};

/** HCM `tracing.provider`: only which tracer it names matters. */
export const TRACING_PROVIDER_IGNORED: Readonly<Record<string, string>> = {
  typed_config: 'the exporter settings belong to the app\'s tracer; only the provider\'s kind (OpenTelemetry: W3C trace context) is read',
};

/** Envoy's default listener `per_connection_buffer_limit_bytes`: 1 MiB. */
export const DEFAULT_CONNECTION_BUFFER_LIMIT = 1024 * 1024;

const HCM_FILTER = 'envoy.filters.network.http_connection_manager';
const OPENTELEMETRY_TRACER = 'envoy.tracers.opentelemetry';

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
  const { hcm, downstream: chains } = findHcm(r);
  const perConnectionBufferLimitBytes = r.uint32('per_connection_buffer_limit_bytes', DEFAULT_CONNECTION_BUFFER_LIMIT);
  const protocolDetectionTimeoutMs = r.duration('listener_filters_timeout') ?? DEFAULT_PROTOCOL_DETECTION_TIMEOUT_MS;
  const continueOnProtocolDetectionTimeout = r.bool('continue_on_listener_filters_timeout', false);
  const protocol = decodeListenerProtocol(r.obj('metadata'));
  ignoreAll(r, LISTENER_IGNORED);
  r.finish();

  let statPrefix = '';
  let routeConfigName = name;
  let rds = false;
  let inlineRoutes: RouteConfig | undefined;
  let httpFilters: ListenerConfig['httpFilters'] = [];
  let stripHostPort: ListenerConfig['stripHostPort'] = 'none';
  let generateRequestId = true;
  let tracing = false;
  let pathNormalization: ListenerConfig['pathNormalization'];
  let callerTrust: CallerTrust = NO_TRUSTED_CALLERS;
  let upgradeConfigs: UpgradeConfig[] | undefined;
  let protection = decodeProtection(undefined, protocolDetectionTimeoutMs, continueOnProtocolDetectionTimeout);
  if (hcm) {
    statPrefix = hcm.requiredStr('stat_prefix');
    const which = oneOf(hcm, ['rds', 'route_config', 'scoped_routes'] as const, 'one of rds, route_config is required');
    rejectUnsupported(hcm, { scoped_routes: 'scoped routes are not implemented; use rds or route_config' });
    if (which === 'rds') {
      const rdsReader = hcm.obj('rds');
      if (rdsReader) {
        routeConfigName = rdsReader.requiredStr('route_config_name');
        rdsReader.ignore('config_source');
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
    httpFilters = httpFiltersField(hcm, 'http_filters');
    const stripAny = hcm.bool('strip_any_host_port', false);
    const stripMatching = hcm.bool('strip_matching_host_port', false);
    if (stripAny && stripMatching) hcm.error('strip_any_host_port', 'cannot be set together with strip_matching_host_port');
    stripHostPort = stripAny ? 'any' : stripMatching ? 'matching' : 'none';
    generateRequestId = hcm.bool('generate_request_id', true);
    pathNormalization = decodePathNormalization(hcm);
    const tracingReader = hcm.obj('tracing');
    if (tracingReader) {
      const provider = tracingReader.obj('provider');
      if (provider) {
        const typed = provider.get('typed_config') as { readonly '@type'?: unknown } | undefined;
        const type = typeof typed?.['@type'] === 'string' ? typed['@type'] : '';
        tracing = provider.str('name') === OPENTELEMETRY_TRACER || type.endsWith('.OpenTelemetryConfig');
        ignoreAll(provider, TRACING_PROVIDER_IGNORED);
        provider.finish();
      }
      ignoreAll(tracingReader, TRACING_IGNORED);
      tracingReader.finish();
    }
    callerTrust = readCallerTrust(hcm);
    const upgrades = hcm.objects('upgrade_configs').map(readUpgradeConfig);
    if (upgrades.length > 0) upgradeConfigs = upgrades;
    protection = decodeProtection(hcm, protocolDetectionTimeoutMs, continueOnProtocolDetectionTimeout);
    ignoreAll(hcm, HCM_IGNORED);
    hcm.finish();
  }
  const listener: ListenerConfig = {
    name, address, statPrefix, routeConfigName, rds, httpFilters, stripHostPort, generateRequestId, tracing, perConnectionBufferLimitBytes, callerTrust, protection,
    ...(protocol === undefined ? {} : { protocol }),
    ...(upgradeConfigs === undefined ? {} : { upgradeConfigs }),
  };
  const withChains = chains === undefined ? listener : { ...listener, chains };
  return { listener: pathNormalization === undefined ? withChains : { ...withChains, pathNormalization }, inlineRoutes, hasRoutes: hcm !== undefined };
}

/**
 * HCM `UpgradeConfig`: an upgrade type (the `Upgrade` header's value, lower-cased) the listener proxies. Upgrade
 * filter chains (`filters`) and CONNECT (which Envoy terminates or forwards as a tunnel) are refused.
 */
function readUpgradeConfig(u: Reader): UpgradeConfig {
  const upgradeType = u.requiredStr('upgrade_type').toLowerCase();
  if (upgradeType === 'connect') u.error('upgrade_type', 'CONNECT is not supported: CONNECT requests are not proxied (WebSocket and other HTTP/1.1 upgrades are)');
  const enabled = u.bool('enabled', true);
  if (u.list('filters').length > 0) u.error('filters', 'is not supported: upgraded requests run the listener\'s HTTP filters');
  u.finish();
  return { upgradeType, enabled };
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
      const cidr = readCidrRange(range);
      if (cidr !== undefined) internalCidrs.push(cidr);
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
 * The HttpConnectionManager config of the listener, or undefined (with an error recorded), and how its filter
 * chains secure connections (see filter-chains.ts).
 */
function findHcm(r: Reader): { hcm: Reader | undefined; downstream: DownstreamChains | undefined } {
  if (r.has('api_listener')) {
    if (r.has('filter_chains') || r.has('default_filter_chain')) {
      r.error('api_listener', 'cannot be combined with filter_chains or default_filter_chain');
    }
    const api = r.obj('api_listener');
    const any = api?.obj('api_listener');
    api?.finish();
    if (api && !any) api.error('api_listener', 'is required');
    return { hcm: any && checkHcmType(any) ? any : undefined, downstream: undefined };
  }
  const chains = filterChainsOf(r);
  if (chains.length === 0) {
    r.error('filter_chains', 'a listener needs a filter chain (filter_chains or default_filter_chain), got none');
    return { hcm: undefined, downstream: undefined };
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
  return { hcm: first, downstream };
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
