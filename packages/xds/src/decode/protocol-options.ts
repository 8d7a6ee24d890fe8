/**
 * Whether a cluster's upstream speaks HTTP/2, from the deprecated `http2_protocol_options` on the Cluster or from
 * `typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]`:
 *
 * - `explicit_http_config.http2_protocol_options` → HTTP/2; `explicit_http_config.http_protocol_options` → HTTP/1.
 * - `use_downstream_protocol_config` and `auto_config` let Envoy pick per request (from the downstream, or by ALPN).
 *   An in-process client has no downstream and no TLS ALPN, so xmesh uses HTTP/2 exactly when the config lists
 *   `http2_protocol_options` (that is, when HTTP/2 is one of the allowed upstream protocols), HTTP/1 otherwise.
 *
 * The tuning inside a cluster's Http1/Http2ProtocolOptions (windows, max_concurrent_streams, keepalive ...) is
 * recorded as ignored: the transport's own defaults apply.
 *
 * The same option messages on an HttpConnectionManager configure the downstream side (a proxy's own
 * codecs and limits): `decodeCommonHttpProtocolOptions`, `decodeHttp1ProtocolOptions`, `decodeHttp2ProtocolOptions`.
 */
import type { DownstreamProtection } from '../model.js';
import { ignoreListed, Messages } from './ignored-fields.js';
import { ignoreAll, oneOf } from './fields.js';
import { describe, Reader } from './reader.js';

export const HTTP_PROTOCOL_OPTIONS_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const HTTP_PROTOCOL_OPTIONS_TYPE = `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS_KEY}`;

/** Reads `http2_protocol_options` and `typed_extension_protocol_options` from the Cluster reader `r`. */
export function decodeHttp2(r: Reader): boolean {
  const deprecatedHttp2 = present(r, 'http2_protocol_options');
  let typed: boolean | undefined;
  for (const { key, value, path } of r.entries('typed_extension_protocol_options')) {
    if (key !== HTTP_PROTOCOL_OPTIONS_KEY) {
      r.issues.error(path, `unsupported protocol options "${key}" (only ${HTTP_PROTOCOL_OPTIONS_KEY} is supported)`);
      continue;
    }
    const options = Reader.of(value, path, r.issues);
    if (options) typed = decodeHttpProtocolOptions(options);
  }
  if (deprecatedHttp2 && typed !== undefined) {
    // As Envoy: the deprecated cluster field and the typed options may not be mixed.
    r.error('http2_protocol_options', `must not be set together with typed_extension_protocol_options["${HTTP_PROTOCOL_OPTIONS_KEY}"]`);
  }
  return typed ?? deprecatedHttp2;
}

function decodeHttpProtocolOptions(r: Reader): boolean {
  const type = r.raw['@type'];
  if (type !== HTTP_PROTOCOL_OPTIONS_TYPE) {
    r.issues.error(`${r.path}.@type`, `must be "${HTTP_PROTOCOL_OPTIONS_TYPE}", got ${describe(type)}`);
  }
  oneOf(r, ['explicit_http_config', 'use_downstream_protocol_config', 'auto_config']);

  let http2 = false;
  const explicit = r.obj('explicit_http_config');
  if (explicit) {
    oneOf(explicit, ['http_protocol_options', 'http2_protocol_options', 'http3_protocol_options'], 'must set http_protocol_options or http2_protocol_options');
    present(explicit, 'http_protocol_options');
    http2 = present(explicit, 'http2_protocol_options');
    // http3_protocol_options is left to finish(): HTTP/3 upstreams are not supported.
    explicit.finish();
  }
  for (const key of ['use_downstream_protocol_config', 'auto_config']) {
    const selector = r.obj(key);
    if (!selector) continue;
    present(selector, 'http_protocol_options');
    http2 = present(selector, 'http2_protocol_options');
    // auto_config's http3 options and alternate_protocols_cache_options need QUIC: left to finish().
    selector.finish();
  }
  ignoreListed(r, Messages.HTTP_OPTIONS);
  r.finish();
  return http2;
}

/** True when the options message `key` is present; its contents are recorded as ignored. */
function present(r: Reader, key: string): boolean {
  if (!r.has(key)) {
    r.get(key);
    return false;
  }
  const options = r.obj(key);
  options?.ignoreRest();
  return options !== undefined;
}

// ------------------------------------------------------------ downstream (HttpConnectionManager) side

const HTTP1_MESSAGE = 'envoy.config.core.v3.Http1ProtocolOptions (on the HttpConnectionManager)';
const HTTP2_MESSAGE = 'envoy.config.core.v3.Http2ProtocolOptions (on the HttpConnectionManager)';

/** Http1ProtocolOptions fields a downstream-facing proxy reads but does not act on, with the reason. */
export const DOWNSTREAM_HTTP1_IGNORED: Readonly<Record<string, string>> = {
  header_key_format: 'header names are sent lower-case; HTTP/1.1 header names are case-insensitive',
  override_stream_error_on_invalid_http_message: 'an invalid HTTP/1.1 message always gets 400 and closes the connection (Envoy\'s default)',
  send_fully_qualified_url: 'concerns requests sent upstream, not the downstream codec',
  use_balsa_parser: 'the HTTP/1.1 parser is node\'s (llhttp)',
  allow_custom_methods: 'the HTTP/1.1 parser is node\'s (llhttp), which accepts the methods it knows',
};

/** Http2ProtocolOptions fields a downstream-facing proxy reads but does not act on, with the reason. */
export const DOWNSTREAM_HTTP2_IGNORED: Readonly<Record<string, string>> = {
  allow_metadata: 'METADATA frames are not forwarded; node:http2 drops unknown frame types',
  max_outbound_frames: 'frame-flood limits are node:http2\'s own (maxSessionInvalidFrames, maxOutstandingPings, nghttp2\'s flood detection)',
  max_outbound_control_frames: 'frame-flood limits are node:http2\'s own (maxSessionInvalidFrames, maxOutstandingPings, nghttp2\'s flood detection)',
  max_consecutive_inbound_frames_with_empty_payload: 'frame-flood limits are node:http2\'s own (maxSessionInvalidFrames, nghttp2\'s flood detection)',
  max_inbound_priority_frames_per_stream: 'frame-flood limits are node:http2\'s own (maxSessionInvalidFrames, nghttp2\'s flood detection)',
  max_inbound_window_update_frames_per_data_frame_sent: 'frame-flood limits are node:http2\'s own (maxSessionInvalidFrames, nghttp2\'s flood detection)',
  stream_error_on_invalid_http_messaging: 'an invalid HTTP/2 message resets its stream (node:http2), as Envoy\'s default',
  override_stream_error_on_invalid_http_message: 'an invalid HTTP/2 message resets its stream (node:http2), as Envoy\'s default',
  connection_keepalive: 'no PING keepalive is sent; a dead connection ends at idle_timeout or stream_idle_timeout',
  use_oghttp2_codec: 'the HTTP/2 codec is node:http2 (nghttp2)',
  max_metadata_size: 'METADATA frames are not forwarded',
};

export const DOWNSTREAM_PROTOCOL_IGNORED: readonly [string, Readonly<Record<string, string>>][] = [
  [HTTP1_MESSAGE, DOWNSTREAM_HTTP1_IGNORED],
  [HTTP2_MESSAGE, DOWNSTREAM_HTTP2_IGNORED],
];

/** Envoy's HCM default for `common_http_protocol_options.idle_timeout`. */
const DOWNSTREAM_IDLE_TIMEOUT_MS = 3_600_000;
/** Envoy's default `max_headers_count`. */
const MAX_HEADERS_COUNT = 100;
const MAX_WINDOW = 2_147_483_647;

export type CommonHttpProtocolOptions = Pick<DownstreamProtection,
  'idleTimeoutMs' | 'maxConnectionDurationMs' | 'maxHeadersCount' | 'maxStreamDurationMs' | 'maxRequestsPerConnection' | 'headersWithUnderscores'>;
export type Http1ProtocolOptions = Pick<DownstreamProtection, 'allowAbsoluteUrl' | 'acceptHttp10' | 'defaultHostForHttp10' | 'http1Trailers'>;
export type Http2ProtocolOptions = Pick<DownstreamProtection, 'maxConcurrentStreams' | 'initialStreamWindowSize' | 'initialConnectionWindowSize' | 'hpackTableSize'>;

/** HCM `common_http_protocol_options` (envoy.config.core.v3.HttpProtocolOptions), Envoy's downstream defaults when absent. */
export function decodeCommonHttpProtocolOptions(r: Reader | undefined): CommonHttpProtocolOptions {
  const action = r?.enumOf('headers_with_underscores_action', ['ALLOW', 'REJECT_REQUEST', 'DROP_HEADER'] as const, 'ALLOW', { 0: 'ALLOW', 1: 'REJECT_REQUEST', 2: 'DROP_HEADER' }) ?? 'ALLOW';
  const options: CommonHttpProtocolOptions = {
    idleTimeoutMs: r?.duration('idle_timeout') ?? DOWNSTREAM_IDLE_TIMEOUT_MS,
    maxConnectionDurationMs: r?.duration('max_connection_duration') ?? 0,
    maxHeadersCount: r?.int('max_headers_count', MAX_HEADERS_COUNT, 1) ?? MAX_HEADERS_COUNT,
    maxStreamDurationMs: r?.duration('max_stream_duration') ?? 0,
    maxRequestsPerConnection: r?.int('max_requests_per_connection', 0) ?? 0,
    headersWithUnderscores: action === 'REJECT_REQUEST' ? 'reject' : action === 'DROP_HEADER' ? 'drop' : 'allow',
  };
  r?.finish();
  return options;
}

/** HCM `http_protocol_options` (envoy.config.core.v3.Http1ProtocolOptions), for the HTTP/1.1 downstream codec. */
export function decodeHttp1ProtocolOptions(r: Reader | undefined): Http1ProtocolOptions {
  const options: Http1ProtocolOptions = {
    allowAbsoluteUrl: r?.bool('allow_absolute_url', true) ?? true,
    acceptHttp10: r?.bool('accept_http_10', false) ?? false,
    defaultHostForHttp10: r?.str('default_host_for_http_10') || undefined,
    http1Trailers: r?.bool('enable_trailers', false) ?? false,
  };
  if (r !== undefined) {
    if (r.bool('allow_chunked_length', false)) {
      r.error('allow_chunked_length', 'is not supported: node\'s HTTP/1.1 parser rejects a request with both Content-Length and Transfer-Encoding (400)');
    }
    if (options.defaultHostForHttp10 !== undefined && !options.acceptHttp10) r.error('default_host_for_http_10', 'needs accept_http_10: true');
    ignoreAll(r, DOWNSTREAM_HTTP1_IGNORED);
    r.finish();
  }
  return options;
}

/** HCM `http2_protocol_options` (envoy.config.core.v3.Http2ProtocolOptions), for the HTTP/2 downstream codec, with Envoy's validation. */
export function decodeHttp2ProtocolOptions(r: Reader | undefined): Http2ProtocolOptions {
  const options: Http2ProtocolOptions = {
    maxConcurrentStreams: r?.optionalUint32('max_concurrent_streams', 1, MAX_WINDOW),
    initialStreamWindowSize: r?.optionalUint32('initial_stream_window_size', 65_535, MAX_WINDOW),
    initialConnectionWindowSize: r?.optionalUint32('initial_connection_window_size', 65_535, MAX_WINDOW),
    hpackTableSize: r?.int('hpack_table_size', 4096) ?? 4096,
  };
  if (r !== undefined) {
    if (r.bool('allow_connect', false)) r.error('allow_connect', 'is not supported: extended CONNECT (RFC 8441: WebSocket and other upgrades over HTTP/2) is not implemented; plain CONNECT is proxied');
    if (r.list('custom_settings_parameters').length > 0) r.error('custom_settings_parameters', 'is not supported: custom SETTINGS parameters are not sent');
    ignoreAll(r, DOWNSTREAM_HTTP2_IGNORED);
    r.finish();
  }
  return options;
}
