/**
 * `envoy.config.core.v3.TransportSocket` on a Cluster (`transport_socket`, `transport_socket_matches[]`) and on a
 * listener's filter chain. A transport socket decides whether bytes leave encrypted and authenticated, so one xmesh
 * does not honour is rejected with its path, never ignored: ignoring it would send in plaintext what the config asks
 * to protect. As Envoy, the factory is chosen by `typed_config`'s type URL when given, else by `name`.
 */
import { describeType } from './fields.js';
import type { Reader } from './reader.js';

export const RAW_BUFFER_NAME = 'envoy.transport_sockets.raw_buffer';
export const RAW_BUFFER_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';
/** Envoy's deprecated names, still accepted by its factory registry. */
const RAW_BUFFER_ALIASES: readonly string[] = [RAW_BUFFER_NAME, 'raw_buffer'];

/** What a transport socket asks for; plaintext (`raw_buffer`) is the only kind honoured so far. */
export type TransportSocketKind = 'plaintext';

/**
 * Decodes the TransportSocket at `r` (undefined when the field is absent: plaintext, as in Envoy).
 * Anything but `raw_buffer` is recorded as an error at its path.
 */
export function decodeTransportSocket(r: Reader | undefined): TransportSocketKind {
  if (!r) return 'plaintext';
  const name = r.requiredStr('name');
  const typed = r.obj('typed_config');
  r.finish();
  const type = typed?.raw['@type'];
  if (typed && type !== undefined) {
    if (type === RAW_BUFFER_TYPE) typed.finish();
    else r.issues.error(typed.at('@type'), `transport socket type ${describeType(type)} is not supported; only ${RAW_BUFFER_NAME} is, and a transport socket is never ignored (that would send plaintext)`);
    return 'plaintext';
  }
  if (typed) typed.finish();
  if (name !== '' && !RAW_BUFFER_ALIASES.includes(name)) {
    r.error('name', `transport socket "${name}" is not supported; only ${RAW_BUFFER_NAME} is, and a transport socket is never ignored (that would send plaintext)`);
  }
  return 'plaintext';
}

/**
 * `Cluster.transport_socket_matches[]`: each entry's `name`, `match` and `transport_socket`. While plaintext is the
 * only kind honoured, matches whose sockets are all `raw_buffer` select nothing that differs, and any other socket is
 * rejected by decodeTransportSocket.
 */
export function decodeTransportSocketMatches(r: Reader): void {
  for (const m of r.objects('transport_socket_matches')) {
    m.requiredStr('name');
    m.get('match');
    decodeTransportSocket(m.obj('transport_socket'));
    m.finish();
  }
}
