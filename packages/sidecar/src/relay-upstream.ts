/**
 * The upstream connection of a byte relay (tcp_proxy, a terminated CONNECT) to one endpoint: plain TCP, or TLS
 * when the cluster's transport socket for that endpoint says so — its certificates, trust, SNI and SAN checks, as
 * for the cluster's HTTP connections, and ALPN only when the context lists protocols (a relay speaks none of its
 * own). `ready` names the event after which bytes may flow: TCP connected, or the TLS handshake done and the peer
 * verified. Either way the socket is half-open: a FIN from the peer ends only what it sends. A failure (refused,
 * reset, failed handshake) surfaces as the socket's 'error' then 'close'.
 */
import { connect, type Socket } from 'node:net';
import type { Endpoint } from '@xmesh/core';
import type { ClientTls } from '@xmesh/tls';

export interface RelayUpstream {
  readonly socket: Socket;
  readonly ready: 'connect' | 'secureConnect';
}

const NO_ALPN: readonly string[] = Object.freeze([]);

/** @param protocol the protocol spoken on the connection (a tunnel over HTTP/2 offers `h2` in ALPN); undefined = raw bytes */
export function connectRelayUpstream(endpoint: Endpoint, tls: ClientTls | undefined, protocol?: 'h2'): RelayUpstream {
  if (tls === undefined) return { socket: connect({ host: endpoint.host, port: endpoint.port, noDelay: true, allowHalfOpen: true }), ready: 'connect' };
  const alpn = protocol !== undefined || tls.config.common.alpnProtocols.length > 0 ? undefined : NO_ALPN;
  // Half-open as the plain relay: the peer's FIN (after its close_notify) ends one direction only (a TLS socket
  // takes allowHalfOpen from the socket it wraps).
  const tcp = connect({ host: endpoint.host, port: endpoint.port, noDelay: true, allowHalfOpen: true });
  return { socket: tls.secure(tcp, endpoint.host, endpoint.port, protocol ?? 'http/1.1', alpn, true), ready: 'secureConnect' };
}
