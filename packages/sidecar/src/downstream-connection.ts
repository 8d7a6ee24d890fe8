/**
 * What the HTTP filters know of a client's connection (`DownstreamConnection`): its addresses and, on a TLS
 * connection the listener's filter chain terminated, the SNI and the peer certificate's URI and DNS SANs,
 * subject (RFC 2253, as Envoy prints it) and PEM. Built once per connection, on its first request.
 */
import { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { DownstreamConnection, PeerIdentity } from '@xmesh/client';
import { subjectAltNames } from '@xmesh/tls';

const CONNECTIONS = new WeakMap<Socket, DownstreamConnection>();

/** The connection `socket` is, as the filters see it; `protocol` is `HTTP/1.1`, `HTTP/1.0` or `HTTP/2`. */
export function downstreamConnectionOf(socket: Socket | undefined | null, protocol: string): DownstreamConnection | undefined {
  if (socket === undefined || socket === null) return undefined;
  let connection = CONNECTIONS.get(socket);
  if (connection === undefined || connection.protocol !== protocol) {
    const tls = (socket as TLSSocket).encrypted === true ? tlsOf(socket as TLSSocket) : undefined;
    connection = Object.freeze({
      remoteAddress: unmapped(socket.remoteAddress),
      remotePort: socket.remotePort,
      localAddress: unmapped(socket.localAddress),
      localPort: socket.localPort,
      tls,
      protocol,
    });
    CONNECTIONS.set(socket, connection);
  }
  return connection;
}

function tlsOf(socket: TLSSocket): DownstreamConnection['tls'] {
  const servername = (socket as TLSSocket & { servername?: string | false }).servername;
  return Object.freeze({ serverName: typeof servername === 'string' ? servername : '', peer: peerOf(socket) });
}

function peerOf(socket: TLSSocket): PeerIdentity | undefined {
  let raw: Buffer | undefined;
  try {
    const certificate = socket.getPeerCertificate();
    raw = certificate !== null && typeof certificate === 'object' ? certificate.raw : undefined;
    if (raw === undefined) return undefined;
    const x509 = new X509Certificate(raw);
    const sans = subjectAltNames({ subjectaltname: x509.subjectAltName ?? '' });
    return Object.freeze({ uriSans: Object.freeze(sans.URI), dnsSans: Object.freeze(sans.DNS), subject: rfc2253(x509.subject), pem: x509.toString() });
  } catch {
    return undefined;
  }
}

/** Node's subject (`C=US\nO=Acme\nCN=a`, most significant first) in RFC 2253 form (`CN=a,O=Acme,C=US`). */
function rfc2253(subject: string): string {
  return subject
    .split('\n')
    .filter((line) => line !== '')
    .reverse()
    .map((line) => {
      const eq = line.indexOf('=');
      return eq < 0 ? line : `${line.slice(0, eq)}=${escapeValue(line.slice(eq + 1))}`;
    })
    .join(',');
}

function escapeValue(value: string): string {
  let out = value.replace(/[,+"\\<>;]/g, (c) => `\\${c}`);
  if (out.startsWith('#') || out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

function unmapped(address: string | undefined): string | undefined {
  return address !== undefined && address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
