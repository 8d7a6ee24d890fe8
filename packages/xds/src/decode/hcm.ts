/**
 * `envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`: its routes (inline or RDS),
 * its HTTP filters, how it treats callers and paths, and its downstream protections — decoded into the
 * ListenerConfig the requests it serves are routed with.
 */
import type { CallerTrust, CidrRange, DownstreamProtection, ListenerConfig, RequestIdTracing, RouteConfig, SocketAddress } from '../model.js';
import type { UpgradeConfig } from '../filter-model.js';
import { httpFiltersField } from './http-filters.js';
import { decodeCommonHttpProtocolOptions, decodeHttp1ProtocolOptions, decodeHttp2ProtocolOptions } from './protocol-options.js';
import { ignoreAll, oneOf, rejectUnsupported } from './fields.js';
import type { Reader } from './reader.js';
import { decodeRouteConfig } from './route.js';
import { decodePathNormalization } from './path-normalization.js';
import { readCidrRange } from './cidr.js';
import { decodeLocalReplyConfig } from './local-reply.js';
import { decodeRequestIdExtension, decodeTracing, refuseRouterChildSpans } from './tracing.js';

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

/** What an HCM is decoded within: its listener's fields. */
export interface HcmContext {
  /** The name the ListenerConfig gets (the listener's, or `<listener>/<chain>` for another chain's HCM). */
  readonly name: string;
  readonly address: SocketAddress | undefined;
  /** The listener's `traffic_direction` is OUTBOUND (the Zipkin tracer's spans are then children, never shared). */
  readonly outbound: boolean;
  readonly perConnectionBufferLimitBytes: number;
  readonly protocolDetectionTimeoutMs: number;
  readonly continueOnProtocolDetectionTimeout: boolean;
  readonly protocol: 'bolt' | undefined;
}

/** The ListenerConfig of `hcm` (undefined: an HCM that could not be read, reported) and its inline routes. */
export function decodeHcm(hcm: Reader | undefined, context: HcmContext): { listener: ListenerConfig; inlineRoutes: RouteConfig | undefined } {
  const { name, address, outbound, perConnectionBufferLimitBytes, protocolDetectionTimeoutMs, continueOnProtocolDetectionTimeout, protocol } = context;
  let statPrefix = '';
  let routeConfigName = name;
  let rds = false;
  let inlineRoutes: RouteConfig | undefined;
  let httpFilters: ListenerConfig['httpFilters'] = [];
  let stripHostPort: ListenerConfig['stripHostPort'] = 'none';
  let generateRequestId = true;
  let tracing: ListenerConfig['tracing'] = false;
  let pathNormalization: ListenerConfig['pathNormalization'];
  let callerTrust: CallerTrust = NO_TRUSTED_CALLERS;
  let upgradeConfigs: UpgradeConfig[] | undefined;
  let localReply: ListenerConfig['localReply'];
  let forwardClientCert: ListenerConfig['forwardClientCert'];
  let preserveExternalRequestId = false;
  let requestIdTracing: RequestIdTracing | undefined;
  let protection = decodeProtection(undefined, protocolDetectionTimeoutMs, continueOnProtocolDetectionTimeout);
  if (hcm) {
    // Under a gRPC client's rules (an api_listener) stat_prefix is optional and RDS must come from the ADS server.
    const grpc = hcm.issues.rules === 'grpc';
    statPrefix = grpc ? hcm.str('stat_prefix') ?? '' : hcm.requiredStr('stat_prefix');
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
    httpFilters = httpFiltersField(hcm, 'http_filters');
    const stripAny = hcm.bool('strip_any_host_port', false);
    const stripMatching = hcm.bool('strip_matching_host_port', false);
    if (stripAny && stripMatching) hcm.error('strip_any_host_port', 'cannot be set together with strip_matching_host_port');
    stripHostPort = stripAny ? 'any' : stripMatching ? 'matching' : 'none';
    generateRequestId = hcm.bool('generate_request_id', true);
    pathNormalization = decodePathNormalization(hcm);
    tracing = decodeTracing(hcm, outbound);
    if (tracing !== false && tracing.kind === 'b3') refuseRouterChildSpans(hcm);
    callerTrust = readCallerTrust(hcm);
    rejectUnsupported(hcm, HCM_UNSUPPORTED);
    for (const key of ['add_user_agent', 'append_x_forwarded_port'] as const) {
      if (hcm.bool(key, false)) hcm.error(key, `is not supported: the header it adds (${key === 'add_user_agent' ? 'user-agent, x-envoy-downstream-service-cluster' : 'x-forwarded-port'}) is not sent`);
    }
    forwardClientCert = readForwardClientCert(hcm);
    preserveExternalRequestId = hcm.bool('preserve_external_request_id', false);
    const rid = hcm.obj('request_id_extension');
    if (rid) requestIdTracing = decodeRequestIdExtension(rid);
    const lr = hcm.obj('local_reply_config');
    if (lr) localReply = decodeLocalReplyConfig(lr);
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
    ...(localReply === undefined || (localReply.mappers.length === 0 && localReply.bodyFormat === undefined) ? {} : { localReply }),
    ...(forwardClientCert === undefined ? {} : { forwardClientCert }),
    ...(preserveExternalRequestId ? { preserveExternalRequestId } : {}),
    ...(requestIdTracing === undefined ? {} : { requestIdTracing }),
  };
  return { listener, inlineRoutes };
}

/** gRFC A27: a gRPC client's RDS routes come over its ADS stream (`config_source` `ads`, or `self`). */
function checkAdsSource(rds: Reader): void {
  const source = rds.get('config_source');
  const fromAds = source !== null && typeof source === 'object' && ('ads' in source || 'self' in source);
  if (!fromAds) rds.error('config_source', 'must be ads or self: a gRPC client takes its routes from its ADS server (gRFC A27)');
}


/**
 * HCM `UpgradeConfig`: an upgrade type (the `Upgrade` header's value, lower-cased; `connect` for CONNECT requests)
 * the listener proxies. Upgrade filter chains (`filters`) are refused.
 */
function readUpgradeConfig(u: Reader): UpgradeConfig {
  const upgradeType = u.requiredStr('upgrade_type').toLowerCase();
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
