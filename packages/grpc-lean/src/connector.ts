import type { Duplex } from 'node:stream';

/**
 * How the lean transport opens its connections when not plaintext TCP: a TLS connection (ALPN h2) from the mesh's
 * transport security. `connect` returns the socket at once (connecting); node:http2 waits for its handshake, and
 * a failed handshake arrives as the socket's `'error'`.
 */
export interface LeanConnector {
  connect(host: string, port: number): Duplex;
}
