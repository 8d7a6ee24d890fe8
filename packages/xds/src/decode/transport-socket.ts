/**
 * `envoy.config.core.v3.TransportSocket` on a Cluster (`transport_socket`, `transport_socket_matches[]`) and on a
 * listener's filter chain. A transport socket decides whether bytes leave encrypted and authenticated, so one xmesh
 * does not honour is rejected with its path, never ignored: ignoring it would send in plaintext what the config asks
 * to protect. As Envoy, the factory is chosen by `typed_config`'s type URL when given, else by `name`.
 *
 * Honoured: `envoy.transport_sockets.raw_buffer` (plaintext) and `envoy.transport_sockets.tls` with an
 * UpstreamTlsContext (clusters) or a DownstreamTlsContext (filter chains).
 */
import type { Dict } from '../model.js';
import type { DownstreamTlsConfig, TransportSocketMatch, UpstreamTlsConfig } from '../tls-model.js';
import { describeType } from './fields.js';
import { decodeDownstreamTlsContext, decodeUpstreamTlsContext, DOWNSTREAM_TLS_CONTEXT_TYPE, UPSTREAM_TLS_CONTEXT_TYPE } from './tls-context.js';
import { describe, type Reader } from './reader.js';

export const RAW_BUFFER_NAME = 'envoy.transport_sockets.raw_buffer';
export const RAW_BUFFER_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';
export const TLS_NAME = 'envoy.transport_sockets.tls';
/** Envoy's deprecated names, still accepted by its factory registry. */
const RAW_BUFFER_ALIASES: readonly string[] = [RAW_BUFFER_NAME, 'raw_buffer'];
const TLS_ALIASES: readonly string[] = [TLS_NAME, 'tls'];

type Side = 'upstream' | 'downstream';
type Decoded<S extends Side> = S extends 'upstream' ? UpstreamTlsConfig : DownstreamTlsConfig;

/**
 * Decodes the TransportSocket at `r`: undefined for plaintext (absent, or raw_buffer), the TLS context otherwise.
 * Any other socket, a TLS socket without its context, or a context of the wrong side is an error at its path.
 */
export function decodeTransportSocket<S extends Side>(r: Reader | undefined, side: S): Decoded<S> | undefined {
  if (!r) return undefined;
  const name = r.requiredStr('name');
  const typed = r.obj('typed_config');
  r.finish();
  const type = typed?.raw['@type'];
  const wanted = side === 'upstream' ? UPSTREAM_TLS_CONTEXT_TYPE : DOWNSTREAM_TLS_CONTEXT_TYPE;
  if (typed && type !== undefined) {
    if (type === RAW_BUFFER_TYPE) {
      typed.finish();
      return undefined;
    }
    if (type === wanted) return decodeContext(typed, side);
    const other = side === 'upstream' ? DOWNSTREAM_TLS_CONTEXT_TYPE : UPSTREAM_TLS_CONTEXT_TYPE;
    const why = type === other
      ? `a ${side === 'upstream' ? 'cluster' : 'filter chain'} needs ${describeType(wanted)}`
      : `only ${RAW_BUFFER_NAME} and ${TLS_NAME} are supported, and a transport socket is never ignored (that would send plaintext)`;
    r.issues.error(typed.at('@type'), `transport socket type ${describeType(type)} is not supported here: ${why}`);
    return undefined;
  }
  typed?.finish();
  if (name === '' || RAW_BUFFER_ALIASES.includes(name)) return undefined;
  if (TLS_ALIASES.includes(name)) {
    // Envoy builds a TLS socket from an empty context; xmesh asks for the context to be written out.
    r.error('typed_config', `is required for ${TLS_NAME} (an ${side === 'upstream' ? 'UpstreamTlsContext' : 'DownstreamTlsContext'})`);
    return undefined;
  }
  r.error('name', `transport socket "${name}" is not supported; only ${RAW_BUFFER_NAME} and ${TLS_NAME} are, and a transport socket is never ignored (that would send plaintext)`);
  return undefined;
}

function decodeContext<S extends Side>(typed: Reader, side: S): Decoded<S> {
  return (side === 'upstream' ? decodeUpstreamTlsContext(typed) : decodeDownstreamTlsContext(typed)) as Decoded<S>;
}

/** `Cluster.transport_socket_matches[]`, in order. */
export function decodeTransportSocketMatches(r: Reader): TransportSocketMatch[] {
  const out: TransportSocketMatch[] = [];
  for (const m of r.objects('transport_socket_matches')) {
    const name = m.requiredStr('name');
    const match = decodeMatchStruct(m);
    const tls = decodeTransportSocket(m.obj('transport_socket'), 'upstream');
    if (!m.has('transport_socket')) m.error('transport_socket', 'is required');
    m.finish();
    out.push({ name, match, tls });
  }
  return out;
}

/** `match`: a Struct of label → value, compared with endpoint metadata by equality. */
function decodeMatchStruct(m: Reader): Dict<unknown> {
  const v = m.get('match');
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) {
    m.error('match', `must be an object, got ${describe(v)}`);
    return {};
  }
  return { ...(v as Record<string, unknown>) };
}

const HTTP_PROTOCOL_OPTIONS_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const AUTO_TLS_FIELDS = ['auto_sni', 'auto_san_validation'] as const;

/**
 * `upstream_http_protocol_options` (on the Cluster, or in its typed HttpProtocolOptions) takes SNI and SAN checks
 * from each request's host: on a cluster with TLS, that would change what is sent and checked, and is refused.
 * On a plaintext cluster it acts on nothing (the decoders list it as ignored).
 */
export function refuseAutoSni(r: Reader, tls: boolean): void {
  if (!tls) return;
  const places: { options: unknown; path: string }[] = [
    { options: field(r.raw, 'upstream_http_protocol_options'), path: r.at('upstream_http_protocol_options') },
  ];
  const typed = field(r.raw, 'typed_extension_protocol_options');
  if (isRecord(typed) && isRecord(typed[HTTP_PROTOCOL_OPTIONS_KEY])) {
    places.push({
      options: field(typed[HTTP_PROTOCOL_OPTIONS_KEY], 'upstream_http_protocol_options'),
      path: `${r.entryPath('typed_extension_protocol_options', HTTP_PROTOCOL_OPTIONS_KEY)}.upstream_http_protocol_options`,
    });
  }
  for (const { options, path } of places) {
    if (!isRecord(options)) continue;
    for (const name of AUTO_TLS_FIELDS) {
      const value = field(options, name);
      if (value === true || (isRecord(value) && value['value'] === true)) {
        r.issues.error(`${path}.${name}`, 'is not supported on a TLS cluster: SNI and SAN checks come from the UpstreamTlsContext (sni, match_typed_subject_alt_names)');
      }
    }
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A field by its snake_case name or its lowerCamelCase spelling. */
function field(obj: unknown, snake: string): unknown {
  if (!isRecord(obj)) return undefined;
  return obj[snake] ?? obj[snake.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())];
}
