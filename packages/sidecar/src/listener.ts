/**
 * One TCP port for HTTP/1.1 and h2c, and TLS when the served listener's filter chains ask for it: each
 * connection's first bytes decide. A TLS ClientHello goes to the TLS terminator (`gate`), whose secured
 * connections come back through `acceptSecure` and are served by ALPN (h2, else HTTP/1.1, else sniffed). The
 * HTTP/2 client preface (`PRI * HTTP/2.0`) hands the socket to an HTTP/2 server; anything else to an HTTP/1.1
 * server. Both see the sniffed bytes (they stay in the socket's buffer). A connection the gate does not
 * accept (TLS without a TLS chain, plaintext without a plaintext chain) is closed.
 *
 * `drain()` stops accepting, sends GOAWAY on HTTP/2 sessions and `Connection: close` on HTTP/1.1,
 * lets in-flight requests finish, and resolves once every connection closed (or the grace period ran out).
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createH2Server, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream, type Settings } from 'node:http2';
import type { TLSSocket } from 'node:tls';

import type { DownstreamGate } from './downstream-tls.js';
import { widenConnectionWindow } from './flow-control.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0');

export interface DualListenerHandlers {
  readonly onStream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => void;
  readonly onRequest: (req: IncomingMessage, res: ServerResponse) => void;
}

export interface DualListenerOptions {
  /** HTTP/2 settings advertised to clients. Every session's connection window is opened to `CONNECTION_WINDOW`. */
  readonly settings?: Settings;
  /** What new connections may be (read per connection); default plaintext only. */
  readonly gate?: () => DownstreamGate;
}

/** First byte of a TLS handshake record. */
const TLS_HANDSHAKE = 0x16;

export class DualListener {
  private readonly net: NetServer;
  private readonly h2 = createH2Server();
  private readonly h1 = createHttpServer();
  private readonly sessions = new Set<Http2Session>();
  private readonly sockets = new Set<Socket>();
  /** HTTP/1.1 connections, and the responses in flight on them. */
  private readonly h1Sockets = new Set<Socket>();
  private readonly responding = new Set<ServerResponse>();
  private draining = false;
  /** Resolves `allClosed()` waiters once the last connection closed. */
  private onNoConnections: (() => void)[] = [];

  private readonly gate: (() => DownstreamGate) | undefined;

  constructor(handlers: DualListenerHandlers, options: DualListenerOptions = {}) {
    this.gate = options.gate;
    if (options.settings !== undefined) this.h2.updateSettings(options.settings);
    this.h2.on('stream', handlers.onStream);
    const streamWindow = options.settings?.initialWindowSize;
    this.h2.on('session', (session: Http2Session) => {
      widenConnectionWindow(session, streamWindow);
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      if (this.draining) session.close();
    });
    this.h1.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (this.draining) res.shouldKeepAlive = false;
      this.responding.add(res);
      res.once('close', () => this.responding.delete(res));
      handlers.onRequest(req, res);
    });
    this.net = createNetServer({ noDelay: true }, (socket) => this.sniff(socket));
  }

  /** Listens on `host:port` (port 0 picks one); resolves with the bound address. */
  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.net.once('error', reject);
      this.net.listen(port, host, () => {
        this.net.off('error', reject);
        const address = this.net.address() as { address: string; port: number };
        resolve({ host: address.address, port: address.port });
      });
    });
  }

  /** Open client connections (for tests and `/stats`). */
  get connections(): number {
    return this.sockets.size;
  }

  drain(graceMs: number): Promise<void> {
    this.draining = true;
    this.net.close();
    const closed = this.allClosed();
    for (const session of this.sessions) session.close();
    this.closeHttp1();
    let timer: NodeJS.Timeout | undefined = undefined;
    const expired = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        for (const socket of this.sockets) socket.destroy();
        resolve();
      }, graceMs);
    });
    return Promise.race([closed, expired]).finally(() => clearTimeout(timer));
  }

  /** Resolves once no client connection is open. */
  private allClosed(): Promise<void> {
    if (this.sockets.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.onNoConnections.push(resolve));
  }

  /** Idle HTTP/1.1 connections end now; busy ones once their response finished. */
  private closeHttp1(): void {
    const busy = new Set<Socket>();
    for (const res of this.responding) {
      const socket = res.socket;
      if (socket === null) continue;
      busy.add(socket);
      if (!res.headersSent) res.shouldKeepAlive = false;
      else res.once('finish', () => socket.end());
    }
    for (const socket of this.h1Sockets) if (!busy.has(socket)) socket.end();
  }

  /** Closes every connection at once. */
  close(): Promise<void> {
    this.draining = true;
    this.net.close();
    for (const socket of this.sockets) socket.destroy();
    return this.allClosed();
  }

  private sniff(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      if (this.sockets.size > 0) return;
      const waiters = this.onNoConnections;
      this.onNoConnections = [];
      for (const resolve of waiters) resolve();
    });
    socket.on('error', () => socket.destroy());
    const gate = this.gate?.();
    this.route(socket, (first) => {
      if (gate === undefined) return true;
      const tls = first === TLS_HANDSHAKE ? gate.tls : undefined;
      if (tls !== undefined) return (s) => tls.accept(s);
      if (first === TLS_HANDSHAKE || !gate.plaintext) return (s) => s.destroy();
      return true;
    });
  }

  /**
   * A connection the TLS terminator secured (its raw socket is tracked already): served by its ALPN protocol, or
   * by the preface like a plaintext one when the client offered none.
   */
  acceptSecure(socket: TLSSocket): void {
    if (this.draining) {
      socket.destroy();
      return;
    }
    socket.on('error', () => socket.destroy());
    if (socket.alpnProtocol === 'h2') this.h2.emit('connection', socket);
    else if (socket.alpnProtocol === 'http/1.1') this.serveHttp1(socket);
    else this.route(socket, () => true);
  }

  /**
   * Reads the first bytes of `socket`, puts them back, and hands it on: `admit(firstByte)` may send it elsewhere
   * (a function given the socket once its bytes are back), else the HTTP/2 preface decides between the HTTP/2 and
   * HTTP/1.1 servers.
   */
  private route(socket: Socket, admit: (firstByte: number) => true | ((socket: Socket) => void)): void {
    let seen: Buffer = Buffer.alloc(0);
    const onReadable = (): void => {
      const chunk = socket.read() as Buffer | null;
      if (chunk === null) return;
      const first = seen.length === 0;
      seen = first ? chunk : Buffer.concat([seen, chunk]);
      const elsewhere = first ? admit(seen[0]!) : true;
      if (elsewhere !== true) {
        socket.off('readable', onReadable);
        socket.unshift(seen);
        elsewhere(socket);
        return;
      }
      const decided = Math.min(seen.length, PREFACE.length);
      if (decided < PREFACE.length && seen.subarray(0, decided).equals(PREFACE.subarray(0, decided))) return;
      socket.off('readable', onReadable);
      socket.unshift(seen);
      if (seen.subarray(0, PREFACE.length).equals(PREFACE)) this.h2.emit('connection', socket);
      else this.serveHttp1(socket);
    };
    socket.on('readable', onReadable);
  }

  private serveHttp1(socket: Socket): void {
    this.h1Sockets.add(socket);
    socket.once('close', () => this.h1Sockets.delete(socket));
    this.h1.emit('connection', socket);
  }
}
