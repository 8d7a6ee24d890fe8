/**
 * `envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`: its routes (inline or RDS),
 * its HTTP filters, how it treats callers and paths, and its downstream protections — decoded into the
 * ListenerConfig the requests it serves are routed with.
 */
import type { CallerTrust, CidrRange, DownstreamProtection, ListenerConfig, RouteConfig, SocketAddress } from '../model.js';
import type { UpgradeConfig } from '../filter-model.js';
import { httpFiltersField } from './http-filters.js';
import { decodeCommonHttpProtocolOptions, decodeHttp1ProtocolOptions, decodeHttp2ProtocolOptions } from './protocol-options.js';
import { ignoreAll, oneOf, rejectUnsupported } from './fields.js';
import type { Reader } from './reader.js';
import { decodeRouteConfig } from './route.js';
import { decodePathNormalization } from './path-normalization.js';
import { readCidrRange } from './cidr.js';

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

const OPENTELEMETRY_TRACER = 'envoy.tracers.opentelemetry';

/** What an HCM is decoded within: its listener's fields. */
export interface HcmContext {
  /** The name the ListenerConfig gets (the listener's, or `<listener>/<chain>` for another chain's HCM). */
  readonly name: string;
  readonly address: SocketAddress | undefined;
  readonly perConnectionBufferLimitBytes: number;
  readonly protocolDetectionTimeoutMs: number;
  readonly continueOnProtocolDetectionTimeout: boolean;
  readonly protocol: 'bolt' | undefined;
}

/** The ListenerConfig of `hcm` (undefined: an HCM that could not be read, reported) and its inline routes. */
export function decodeHcm(hcm: Reader | undefined, context: HcmContext): { listener: ListenerConfig; inlineRoutes: RouteConfig | undefined } {
  const { name, address, perConnectionBufferLimitBytes, protocolDetectionTimeoutMs, continueOnProtocolDetectionTimeout, protocol } = context;
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
    ...(pathNormalization === undefined ? {} : { pathNormalization }),
  };
  return { listener, inlineRoutes };
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
export const DEFAULT_PROTOCOL_DETECTION_TIMEOUT_MS = 15_000;
/** Envoy's default HCM `stream_idle_timeout`. */
const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 300_000;
/** Envoy's default `max_request_headers_kb`. */
const DEFAULT_MAX_REQUEST_HEADERS_KB = 60;

/** The HCM's downstream protections (Envoy's defaults without an HCM). */
export function decodeProtection(hcm: Reader | undefined, protocolDetectionTimeoutMs: number, continueOnProtocolDetectionTimeout: boolean): DownstreamProtection {
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

