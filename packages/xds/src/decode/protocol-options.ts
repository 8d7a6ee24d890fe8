/**
 * Whether a cluster's upstream speaks HTTP/2, from the deprecated `http2_protocol_options` on the Cluster or from
 * `typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]`:
 *
 * - `explicit_http_config.http2_protocol_options` → HTTP/2; `explicit_http_config.http_protocol_options` → HTTP/1.
 * - `use_downstream_protocol_config` and `auto_config` let Envoy pick per request (from the downstream, or by ALPN).
 *   An in-process client has no downstream and no TLS ALPN, so xmesh uses HTTP/2 exactly when the config lists
 *   `http2_protocol_options` (that is, when HTTP/2 is one of the allowed upstream protocols), HTTP/1 otherwise.
 *
 * The tuning inside Http1/Http2ProtocolOptions (windows, max_concurrent_streams, keepalive ...) is recorded as
 * ignored: the transport's own defaults apply.
 */
import { ignoreListed, Messages } from './ignored-fields.js';
import { oneOf } from './fields.js';
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
