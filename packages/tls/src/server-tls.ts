/**
 * The server side of one DownstreamTlsContext (a listener's TLS filter chain), as the sidecar terminates TLS:
 * `accept(socket)` runs the handshake on an accepted connection and hands the TLS socket to `deliver` once the
 * client passed Envoy's checks — a certificate when `require_client_certificate`, its chain against the trusted CA
 * whenever one was presented, then the SAN matchers, hashes and pins. ALPN offers `alpn_protocols`, else h2 and
 * http/1.1. Every handshake counts in `ssl.*`; a failed one closes the connection. After a rotation (`refresh`)
 * new connections get the new certificate; open ones are left as they are (as Envoy).
 */
import type { Socket } from 'node:net';
import type { Server, TLSSocket } from 'node:tls';
import type { FieldError } from '@xmesh/core';
import type { DownstreamTlsConfig } from '@xmesh/xds';
import { tlsFailureKindOf, type TlsFailureKind } from './failure.js';
import { buildMaterial, RotatingMaterial, type TlsMaterial } from './material.js';
import type { TlsSecrets } from './secrets.js';
import type { SslStats } from './ssl-stats.js';

/** node:tls's values without an ESM import of it: that import evaluates every export, `rootCertificates` (the parsed CA bundle) included. */
const { createServer } = process.getBuiltinModule('node:tls');

const DEFAULT_ALPN: readonly string[] = Object.freeze(['h2', 'http/1.1']);

export interface ServerTlsOptions {
  /** A handshake not done by then closes the connection. */
  readonly handshakeTimeoutMs: number;
  /** Receives each connection that completed the handshake and passed the client checks. */
  readonly deliver: (socket: TLSSocket) => void;
}

export class ServerTls extends RotatingMaterial {
  private server: Server;

  private constructor(
    readonly config: DownstreamTlsConfig,
    where: string,
    secrets: TlsSecrets,
    readonly stats: SslStats,
    private readonly options: ServerTlsOptions,
    material: TlsMaterial,
  ) {
    super(config.common, where, secrets, material);
    this.server = this.newServer(material);
  }

  /** Resolves the certificates now; problems come back as FieldErrors (the config is then refused). */
  static create(config: DownstreamTlsConfig, where: string, secrets: TlsSecrets, stats: SslStats, options: ServerTlsOptions): ServerTls | FieldError[] {
    const material = buildMaterial(config.common, secrets, where);
    return Array.isArray(material) ? material : new ServerTls(config, where, secrets, stats, options, material);
  }

  /** Runs the TLS handshake on an accepted connection (whose first bytes, a ClientHello, may already be buffered). */
  accept(socket: Socket): void {
    this.server.emit('connection', socket);
  }

  /** New material: new connections are served by a server made from it; open ones are left as they are. */
  protected override rotated(material: TlsMaterial): void {
    this.server = this.newServer(material);
  }

  private newServer(material: TlsMaterial): Server {
    const alpn = this.config.common.alpnProtocols;
    const server = createServer({
      ...material.contextOptions,
      // Client certificates are asked for when this side validates peers, and checked below (Envoy refuses a
      // presented certificate that does not verify even when none is required).
      requestCert: material.validatesPeer,
      rejectUnauthorized: false,
      ALPNProtocols: alpn.length > 0 ? [...alpn] : [...DEFAULT_ALPN],
      handshakeTimeout: this.options.handshakeTimeoutMs,
    });
    server.on('secureConnection', (socket: TLSSocket) => this.secured(socket, material));
    server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
      this.stats.failed(tlsFailureKindOf((error as NodeJS.ErrnoException).code, true) ?? 'handshake');
      socket.destroy();
    });
    return server;
  }

  private secured(socket: TLSSocket, material: TlsMaterial): void {
    socket.on('error', () => socket.destroy());
    const certificate = socket.getPeerCertificate();
    const presented = certificate !== null && typeof certificate === 'object' && certificate.raw !== undefined;
    let failure: TlsFailureKind | undefined;
    if (!presented) {
      if (this.config.requireClientCertificate) failure = 'no_peer_certificate';
      else this.stats.noCertificate.inc();
    } else if (material.verifyChain && !socket.authorized) {
      const code = typeof socket.authorizationError === 'string' ? socket.authorizationError : (socket.authorizationError as NodeJS.ErrnoException | undefined)?.code;
      failure = tlsFailureKindOf(code, true) ?? 'verify_failed';
    } else {
      const refused = material.peerCheck?.(certificate);
      if (refused !== undefined) failure = tlsFailureKindOf((refused as NodeJS.ErrnoException).code, true);
    }
    if (failure !== undefined) {
      this.stats.failed(failure);
      socket.destroy();
      return;
    }
    this.stats.handshake.inc();
    this.options.deliver(socket);
  }
}
