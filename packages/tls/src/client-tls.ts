/**
 * The client side of one UpstreamTlsContext (a cluster's `transport_socket`, or one of its
 * `transport_socket_matches`): opens TLS connections for every transport — the lean and grpc-js gRPC transports,
 * undici, the sidecar's upstream sessions — with Envoy's semantics:
 *
 * - SNI only when `sni` is set; ALPN from `alpn_protocols`, else the transport's own protocol;
 * - the peer's chain is verified when a trusted CA is configured (without one, as in Envoy, any certificate is
 *   accepted), then SANs, hashes and SPKI pins; the host name is never checked against the certificate (Envoy
 *   checks names only through `match_typed_subject_alt_names`);
 * - every failed handshake is classified, marked on its error (see failure.ts) and counted in `ssl.*`.
 *
 * Each connection reads the current material: after a rotation (`refresh`) new connections present the new
 * certificate and trust the new CAs; `generation` tells transports that they may drain older connections.
 */
import { connect as netConnect, type Socket } from 'node:net';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { FieldError } from '@xmesh/core';
import type { UpstreamTlsConfig } from '@xmesh/xds';
import { markTlsFailure, tlsFailureKindOf } from './failure.js';
import { buildMaterial, RotatingMaterial, type TlsMaterial } from './material.js';
import type { TlsSecrets } from './secrets.js';
import type { SslStats } from './ssl-stats.js';

/** node:tls's values without an ESM import of it: that import evaluates every export, `rootCertificates` (the parsed CA bundle) included. */
const { connect: tlsConnect } = process.getBuiltinModule('node:tls');

/** The transport's protocol, sent in ALPN when the config lists none. */
export type TransportAlpn = 'h2' | 'http/1.1';

const H2: readonly string[] = Object.freeze(['h2']);
const HTTP1: readonly string[] = Object.freeze(['http/1.1']);

/** Envoy's default cluster `connect_timeout`, which covers the TLS handshake. */
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5_000;

export class ClientTls extends RotatingMaterial {
  /** TCP connect plus handshake must complete within this (the cluster's `connect_timeout`). */
  handshakeTimeoutMs = DEFAULT_HANDSHAKE_TIMEOUT_MS;

  private constructor(
    readonly config: UpstreamTlsConfig,
    where: string,
    secrets: TlsSecrets,
    readonly stats: SslStats,
    material: TlsMaterial,
  ) {
    super(config.common, where, secrets, material);
  }

  /** Resolves the context's certificates now; a problem is returned as FieldErrors (the config is then refused). */
  static create(config: UpstreamTlsConfig, where: string, secrets: TlsSecrets, stats: SslStats): ClientTls | FieldError[] {
    const material = buildMaterial(config.common, secrets, where);
    return Array.isArray(material) ? material : new ClientTls(config, where, secrets, stats, material);
  }

  /**
   * Opens a TCP connection to `host:port` and starts TLS on it. Errors (classified) arrive as the socket's `'error'`.
   * `alpnOverride` replaces every ALPN choice (a health check's `tls_options.alpn_protocols`).
   */
  connect(host: string, port: number, alpn: TransportAlpn, alpnOverride?: readonly string[]): TLSSocket {
    return this.secure(netConnect({ host, port, noDelay: true }), host, port, alpn, alpnOverride);
  }

  /**
   * Starts TLS on `socket` (connected or connecting) to `host:port`. `relay`: the connection carries a byte relay
   * (tcp_proxy, CONNECT), whose peer may close without sending a byte; that is then its FIN, not a refusal.
   */
  secure(socket: Socket, host: string, port: number, alpn: TransportAlpn, alpnOverride?: readonly string[], relay = false): TLSSocket {
    const material = this.material;
    const config = this.config;
    const peer = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const stats = this.stats;
    let tcpConnected = !socket.connecting;
    if (!tcpConnected) socket.once('connect', () => (tcpConnected = true));
    const tlsSocket = tlsConnect({
      socket,
      secureContext: material.context,
      ...(config.sni === undefined ? {} : { servername: config.sni }),
      ALPNProtocols: alpnOverride !== undefined ? [...alpnOverride] : config.common.alpnProtocols.length > 0 ? [...config.common.alpnProtocols] : [...(alpn === 'h2' ? H2 : HTTP1)],
      rejectUnauthorized: material.verifyChain,
      // Envoy never checks the host name; only the configured SAN matchers, hashes and pins apply.
      checkServerIdentity: (_host: string, certificate: PeerCertificate) => material.peerCheck?.(certificate),
    });
    let secured = false;
    let failed = false;
    const timer = setTimeout(() => {
      if (!secured) tlsSocket.destroy(Object.assign(new Error(`no TLS connection within ${this.handshakeTimeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, this.handshakeTimeoutMs);
    timer.unref();
    tlsSocket.once('close', () => clearTimeout(timer));
    tlsSocket.once('secureConnect', () => {
      secured = true;
      clearTimeout(timer);
      stats.handshake.inc();
    });
    // A peer that completes the handshake and then closes before sending one byte refused us after the handshake
    // (a Node TLS server checks client certificates only then; an HTTP/2 server otherwise sends SETTINGS at once).
    if (!relay) tlsSocket.once('end', () => {
      if (secured && !failed && tlsSocket.bytesRead === 0) {
        tlsSocket.destroy(new Error('the peer closed the connection right after the handshake without sending anything: it did not accept this side\'s certificate'));
      }
    });
    // Registered before any transport's listener: the error is marked before they see it.
    tlsSocket.on('error', (error: Error) => {
      if (failed || !tcpConnected) return;
      const kind = secured && tlsSocket.bytesRead === 0 ? 'peer_rejected' : tlsFailureKindOf((error as NodeJS.ErrnoException).code, !secured);
      if (kind === undefined) return;
      failed = true;
      markTlsFailure(error, kind, peer);
      stats.failed(kind);
    });
    return tlsSocket;
  }
}
