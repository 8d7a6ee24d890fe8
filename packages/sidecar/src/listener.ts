/**
 * One TCP port for HTTP/1.1 and h2c, and TLS when the served listener's filter chains ask for it: each
 * connection's first bytes decide. A TLS ClientHello goes to the TLS terminator (`gate`), whose secured
 * connections come back through `acceptSecure` and are served by ALPN (h2, else HTTP/1.1, else sniffed). The
 * HTTP/2 client preface (`PRI * HTTP/2.0`) hands the socket to an HTTP/2 server; anything else to an HTTP/1.1
 * server. Both see the sniffed bytes (they stay in the socket's buffer). A connection the gate does not
 * accept (TLS without a TLS chain, plaintext without a plaintext chain) is closed.
 *
 * Connections are protected as Envoy protects them (see `DownstreamProtection`, read at accept):
 * - at most `maxConnections` at once: more are closed at accept, open ones are untouched;
 * - the first bytes must come within the listener's protocol-detection timeout (else the
 *   connection closes, or is served as HTTP/1.1 with `continue_on_listener_filters_timeout`);
 * - HTTP/2: SETTINGS from the HCM (max concurrent streams, windows, header list size), and a
 *   `SessionGuard` per session (idle timeout, max duration, max requests, premature resets);
 * - HTTP/1.1: node's parser limits and timers set from the HCM (header size, headers timeout,
 *   request timeout, keep-alive idle timeout, requests per connection), and a duration timer.
 *
 * Every socket, session and server has an 'error' listener: nothing a client sends can throw.
 *
 * `drain()` stops accepting, sends GOAWAY on HTTP/2 sessions and `Connection: close` on HTTP/1.1,
 * lets in-flight requests finish, and resolves once every connection closed (or the grace period ran out).
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { IncomingMessage, ServerOptions, ServerResponse } from 'node:http';
import { createServer as createH2Server, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream, type Settings } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { DEFAULT_DOWNSTREAM_PROTECTION, type ConnectionFacts, type DownstreamProtection } from '@xmesh/xds';
import { markChainListener, type DownstreamGate, type ServedChain } from './downstream-tls.js';
import { parseClientHello } from './client-hello.js';
import { CONNECTION_WINDOW, withStreamWindow } from './flow-control.js';
import { defaultSidecarLimits, type SidecarLimits } from './protection.js';
import { MAX_TIMER_MS, SessionGuard, type SessionGuardEvents } from './session-guard.js';

/** node:http's values without an ESM import of it: that import evaluates every export, and its lazy WebSocket ones load Node's bundled undici (~5 MiB RSS). */
const { createServer: createHttpServer } = process.getBuiltinModule('node:http');

const PREFACE = Buffer.from('PRI * HTTP/2.0');
/** How often node checks HTTP/1.1 connections against the headers and request timeouts. */
const HTTP1_TIMEOUT_CHECK_MS = 1000;
/** Node's floor for `maxHeaderListPairs`; the HCM's `max_headers_count` is checked per request by the front. */
const H2_HEADER_PAIRS_BACKSTOP = 4096;
/** The longest keep-alive timeout node can arm (it may add a buffer to it): "none" in effect. */
const KEEP_ALIVE_MAX_MS = MAX_TIMER_MS - 60_000;
/** Node 22's `keepAliveTimeoutBuffer` (not in @types/node 20). */
type HttpServerOptions = ServerOptions & { keepAliveTimeoutBuffer?: number };

export interface DualListenerHandlers {
  readonly onStream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => void;
  readonly onRequest: (req: IncomingMessage, res: ServerResponse) => void;
  /** An HTTP/1.1 request asking for a protocol upgrade (WebSocket, ...) or a CONNECT request: node hands over the socket. */
  readonly onUpgrade?: (req: IncomingMessage, socket: Socket, head: Buffer) => void;
}

/** What the listener reports (stats). */
export interface ListenerEvents extends SessionGuardEvents {
  connectionOpened(): void;
  connectionClosed(): void;
  /** A connection was closed at accept: `maxConnections` were open. */
  connectionOverflow(): void;
  /** A connection sent nothing decisive within the protocol-detection timeout. */
  protocolDetectionTimeout(): void;
  /** No filter chain matched a connection (and the listener has no default chain): it was closed. */
  noFilterChainMatch(): void;
}

export interface DualListenerOptions {
  /** HTTP/2 settings advertised to clients; the listener's `http2_protocol_options` override them. */
  readonly settings?: Settings;
  /** The downstream protections a new connection gets (read at accept). */
  readonly protection?: () => DownstreamProtection;
  readonly limits?: SidecarLimits;
  readonly events?: ListenerEvents;
  /** What new connections may be (read per connection); default plaintext only. */
  readonly gate?: () => DownstreamGate;
}

/** First byte of a TLS handshake record. */
const TLS_HANDSHAKE = 0x16;

const NO_EVENTS: ListenerEvents = {
  connectionOpened: () => undefined,
  connectionClosed: () => undefined,
  connectionOverflow: () => undefined,
  protocolDetectionTimeout: () => undefined,
  noFilterChainMatch: () => undefined,
  idleTimeout: () => undefined,
  maxDurationReached: () => undefined,
  maxRequestsReached: () => undefined,
  tooManyPrematureResets: () => undefined,
};

const GUARD = Symbol('xmesh.session-guard');
type GuardedSession = Http2Session & { [GUARD]?: SessionGuard };
/** A closed stream no longer has its session: it keeps the guard itself. */
type GuardedStream = ServerHttp2Stream & { [GUARD]: SessionGuard };

function onGuardedStreamClose(this: GuardedStream): void {
  this[GUARD].streamClosed(this, this.headersSent);
}

const H2C_TOKENS = new Set(['upgrade', 'http2-settings']);

/** The facts a filter chain is chosen by: the connection's addresses, and what its first bytes said. */
function factsOf(socket: Socket, transportProtocol: 'tls' | 'raw_buffer', serverName: string, applicationProtocols: readonly string[]): ConnectionFacts {
  return {
    localAddress: socket.localAddress ?? '',
    localPort: socket.localPort ?? 0,
    remoteAddress: socket.remoteAddress ?? '',
    remotePort: socket.remotePort ?? 0,
    serverName,
    transportProtocol,
    applicationProtocols,
  };
}

/** True when a request asks only for `Upgrade: h2c` (the HTTP/1.1 → HTTP/2 cleartext upgrade). */
function isH2cOnly(req: IncomingMessage): boolean {
  return String(req.headers.upgrade ?? '').trim().toLowerCase() === 'h2c';
}

/** Errors of client sockets, sessions and streams end them; node already did, the listener only keeps the process alive. */
function ignoreError(): void {}

export class DualListener {
  private readonly net: NetServer;
  private readonly h2 = createH2Server({ maxHeaderListPairs: H2_HEADER_PAIRS_BACKSTOP });
  private readonly h1 = createHttpServer({
    joinDuplicateHeaders: true,
    headersTimeout: DEFAULT_DOWNSTREAM_PROTECTION.streamIdleTimeoutMs,
    requestTimeout: 0,
    connectionsCheckingInterval: HTTP1_TIMEOUT_CHECK_MS,
    // The keep-alive timeout is the HCM's idle_timeout exactly (node would add a second).
    keepAliveTimeoutBuffer: 0,
  } as HttpServerOptions);
  private readonly sessions = new Set<Http2Session>();
  private readonly sockets = new Set<Socket>();
  /** HTTP/1.1 connections, and the responses in flight on them. */
  private readonly h1Sockets = new Set<Socket>();
  private readonly responding = new Set<ServerResponse>();
  private readonly baseSettings: Settings;
  private readonly protection: () => DownstreamProtection;
  private readonly limits: SidecarLimits;
  private readonly events: ListenerEvents;
  private readonly gate: (() => DownstreamGate) | undefined;
  /** The protection the codecs were last configured for. */
  private applied: DownstreamProtection | undefined = undefined;
  private connectionWindow = CONNECTION_WINDOW;
  private draining = false;
  /** Resolves `allClosed()` waiters once the last connection closed. */
  private onNoConnections: (() => void)[] = [];

  constructor(handlers: DualListenerHandlers, options: DualListenerOptions = {}) {
    this.baseSettings = withStreamWindow(options.settings);
    this.protection = options.protection ?? (() => DEFAULT_DOWNSTREAM_PROTECTION);
    this.limits = options.limits ?? defaultSidecarLimits();
    this.events = options.events ?? NO_EVENTS;
    this.gate = options.gate;
    this.h2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
      stream.on('error', ignoreError);
      const guard = (stream.session as GuardedSession | undefined)?.[GUARD];
      if (guard !== undefined) {
        (stream as GuardedStream)[GUARD] = guard;
        guard.streamOpened(stream);
        stream.on('close', onGuardedStreamClose);
      }
      handlers.onStream(stream, headers, flags, rawHeaders);
    });
    this.h2.on('session', (session: Http2Session) => this.onSession(session));
    this.h2.on('sessionError', ignoreError);
    this.h2.on('error', ignoreError);
    this.h1.on('request', (req: IncomingMessage, res: ServerResponse) => {
      req.on('error', ignoreError);
      res.on('error', ignoreError);
      if (this.draining) res.shouldKeepAlive = false;
      this.responding.add(res);
      res.once('close', () => this.responding.delete(res));
      handlers.onRequest(req, res);
    });
    const onUpgrade = handlers.onUpgrade;
    if (onUpgrade !== undefined) {
      this.h1.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
        req.on('error', ignoreError);
        socket.on('error', ignoreError);
        // `Upgrade: h2c` is not an upgrade a proxy performs: Envoy serves such a request as HTTP/1.1 (the
        // header dropped), as curl --http2 expects.
        if (isH2cOnly(req)) this.replayWithoutUpgrade(req, socket, head);
        else onUpgrade(req, socket, head);
      });
      // CONNECT requests hand over the socket too (node emits them as 'connect').
      this.h1.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
        req.on('error', ignoreError);
        socket.on('error', ignoreError);
        onUpgrade(req, socket, head);
      });
    }
    this.h1.on('error', ignoreError);
    // Node tracks HTTP/1.1 connections against headersTimeout / requestTimeout once its server
    // listens; this one never does (sockets are handed to it), so start the tracking explicitly.
    this.h1.emit('listening');
    this.net = createNetServer({ noDelay: true }, (socket) => this.sniff(socket));
    this.net.maxConnections = this.limits.maxConnections;
    this.net.on('drop', () => this.events.connectionOverflow());
  }

  /** Changes the downstream connection limit (a config's overload manager): new connections are counted against it, open ones stay. */
  setMaxConnections(max: number): void {
    this.net.maxConnections = max;
  }

  /**
   * An `Upgrade: h2c` request node handed over as an upgrade: its head is written back without the upgrade
   * (`Upgrade`, `HTTP2-Settings` and their `Connection` tokens), in front of what followed it, and the
   * connection goes back to the HTTP/1.1 server, which serves it as a plain request.
   */
  private replayWithoutUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    let text = `${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.${req.httpVersionMinor}\r\n`;
    const raw = req.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!;
      const lower = name.toLowerCase();
      if (lower === 'upgrade' || lower === 'http2-settings') continue;
      let value = raw[i + 1]!;
      if (lower === 'connection') {
        value = value.split(',').map((t) => t.trim()).filter((t) => t !== '' && !H2C_TOKENS.has(t.toLowerCase())).join(', ');
        if (value === '') continue;
      }
      text += `${name}: ${value}\r\n`;
    }
    if (head.length > 0) socket.unshift(head);
    socket.unshift(Buffer.from(`${text}\r\n`, 'latin1'));
    this.h1.emit('connection', socket);
  }

  /** Listens on `host:port` (port 0 picks one); resolves with the bound address. */
  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.net.once('error', reject);
      this.net.listen(port, host, () => {
        this.net.off('error', reject);
        this.net.on('error', ignoreError);
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
    this.closeHttp1(this.h1Sockets);
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

  /** Of `sockets` (HTTP/1.1 connections), idle ones end now, busy ones once their response finished. */
  private closeHttp1(sockets: ReadonlySet<Socket>): void {
    const busy = new Set<Socket>();
    for (const res of this.responding) {
      const socket = res.socket;
      if (socket === null || !sockets.has(socket)) continue;
      busy.add(socket);
      if (!res.headersSent) res.shouldKeepAlive = false;
      else res.once('finish', () => socket.end());
    }
    for (const socket of sockets) if (!busy.has(socket)) socket.end();
  }

  /** Closes every connection at once. */
  close(): Promise<void> {
    this.draining = true;
    this.net.close();
    for (const socket of this.sockets) socket.destroy();
    this.h1.close();
    return this.allClosed();
  }

  private onSession(session: Http2Session): void {
    session.on('error', ignoreError);
    session.on('frameError', ignoreError);
    if (!session.destroyed) session.setLocalWindowSize(this.connectionWindow);
    const guard = new SessionGuard(session, this.applied ?? DEFAULT_DOWNSTREAM_PROTECTION, this.limits, this.events);
    (session as GuardedSession)[GUARD] = guard;
    this.sessions.add(session);
    session.once('close', () => {
      guard.dispose();
      this.sessions.delete(session);
    });
    if (this.draining) session.close();
  }

  /** Sets the codecs up for `protection` when it changed (a config update): new connections get it. */
  private apply(protection: DownstreamProtection): void {
    if (protection === this.applied) return;
    this.applied = protection;
    const streamWindow = protection.initialStreamWindowSize ?? this.baseSettings.initialWindowSize;
    this.h2.updateSettings({
      ...this.baseSettings,
      initialWindowSize: streamWindow,
      maxConcurrentStreams: protection.maxConcurrentStreams ?? this.limits.defaultMaxConcurrentStreams,
      maxHeaderListSize: protection.maxRequestHeadersBytes,
      headerTableSize: protection.hpackTableSize,
    });
    this.connectionWindow = protection.initialConnectionWindowSize ?? Math.max(CONNECTION_WINDOW, streamWindow ?? 0);
    const h1 = this.h1;
    // Read by node per connection (the `maxHeaderSize` server option, which @types/node does not list as a property).
    (h1 as { maxHeaderSize?: number }).maxHeaderSize = protection.maxRequestHeadersBytes;
    // Envoy's stream idle timer runs while HTTP/1.1 headers arrive; request_headers_timeout may cut it shorter.
    const idle = protection.streamIdleTimeoutMs;
    const headers = protection.requestHeadersTimeoutMs;
    const headersTimeout = headers > 0 && (idle === 0 || headers < idle) ? headers : idle;
    h1.requestTimeout = protection.requestTimeoutMs;
    h1.headersTimeout = protection.requestTimeoutMs > 0 && (headersTimeout === 0 || headersTimeout > protection.requestTimeoutMs) ? protection.requestTimeoutMs : headersTimeout;
    // A keep-alive connection waiting for its next request: Envoy's idle_timeout (0 = none).
    h1.keepAliveTimeout = Math.min(protection.idleTimeoutMs > 0 ? protection.idleTimeoutMs : Infinity, KEEP_ALIVE_MAX_MS);
    // One more than allowed, so the front sees an excess and answers 431 (node would drop the rest silently).
    h1.maxHeadersCount = protection.maxHeadersCount + 1;
    h1.maxRequestsPerSocket = protection.maxRequestsPerConnection;
  }

  private sniff(socket: Socket): void {
    socket.on('error', ignoreError);
    this.sockets.add(socket);
    this.events.connectionOpened();
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.events.connectionClosed();
      if (this.sockets.size > 0) return;
      const waiters = this.onNoConnections;
      this.onNoConnections = [];
      for (const resolve of waiters) resolve();
    });
    const gate = this.gate?.();
    const protection = this.protection();
    if (gate === undefined) {
      this.route(socket, protection);
      return;
    }
    if (!gate.inspects) {
      this.dispatchChain(socket, protection, gate.select(factsOf(socket, 'raw_buffer', '', [])));
      return;
    }
    this.inspect(socket, protection, gate.httpInspector, (facts) => this.dispatchChain(socket, protection, gate.select(facts)));
  }

  /** Hands a connection to the filter chain chosen for it: its TLS terminator, its tcp_proxy, or the HTTP servers. */
  private dispatchChain(socket: Socket, protection: DownstreamProtection, chain: ServedChain | undefined): void {
    if (chain === undefined) {
      this.events.noFilterChainMatch();
      socket.destroy();
      return;
    }
    if (chain.tls !== undefined) chain.tls.accept(socket);
    else if (chain.kind === 'tcp') chain.serve(socket);
    else {
      if (chain.listener !== '') markChainListener(socket, chain.listener);
      this.route(socket, protection);
    }
  }

  /**
   * Reads what choosing a filter chain needs of a connection's first bytes (within the protocol-detection timeout,
   * bounded): a TLS ClientHello's SNI and ALPN, as Envoy's tls_inspector; for plaintext, with the HTTP inspector,
   * whether it opens with the HTTP/2 preface (`h2c`) or not (`http/1.1`). The bytes are put back before `decide`.
   */
  private inspect(socket: Socket, protection: DownstreamProtection, httpInspector: boolean, decide: (facts: ConnectionFacts) => void): void {
    let seen: Buffer = Buffer.alloc(0);
    const detectionTimeout = protection.protocolDetectionTimeoutMs;
    const done = (facts: ConnectionFacts): void => {
      socket.off('readable', onReadable);
      if (detectionTimeout > 0) {
        socket.setTimeout(0);
        socket.off('timeout', onDetectionTimeout);
      }
      if (seen.length > 0) socket.unshift(seen);
      decide(facts);
    };
    const onReadable = (): void => {
      const chunk = socket.read() as Buffer | null;
      if (chunk === null) return;
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      if (seen[0] === TLS_HANDSHAKE) {
        const hello = parseClientHello(seen);
        if (hello === 'incomplete') return;
        // Not a ClientHello after all: as Envoy's tls_inspector, the connection is then not TLS for the chain's choice.
        done(hello === 'invalid' ? factsOf(socket, 'raw_buffer', '', []) : factsOf(socket, 'tls', hello.serverName, hello.alpn));
        return;
      }
      if (!httpInspector) {
        done(factsOf(socket, 'raw_buffer', '', []));
        return;
      }
      const decided = Math.min(seen.length, PREFACE.length);
      if (decided < PREFACE.length && seen.subarray(0, decided).equals(PREFACE.subarray(0, decided))) return;
      done(factsOf(socket, 'raw_buffer', '', [seen.subarray(0, PREFACE.length).equals(PREFACE) ? 'h2c' : 'http/1.1']));
    };
    const onDetectionTimeout = (): void => {
      this.events.protocolDetectionTimeout();
      if (!protection.continueOnProtocolDetectionTimeout) {
        socket.destroy();
        return;
      }
      done(factsOf(socket, 'raw_buffer', '', []));
    };
    if (detectionTimeout > 0) {
      socket.setTimeout(Math.min(detectionTimeout, MAX_TIMER_MS));
      socket.on('timeout', onDetectionTimeout);
    }
    socket.on('readable', onReadable);
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
    socket.on('error', ignoreError);
    const protection = this.protection();
    if (socket.alpnProtocol === 'h2') this.serve(socket, protection, true);
    else if (socket.alpnProtocol === 'http/1.1') this.serve(socket, protection, false);
    else this.route(socket, protection);
  }

  /**
   * Reads the first bytes of `socket` (within the protocol-detection timeout), puts them back, and hands it to the
   * HTTP/2 server when they are the HTTP/2 preface, else to the HTTP/1.1 server.
   */
  private route(socket: Socket, protection: DownstreamProtection): void {
    let seen: Buffer = Buffer.alloc(0);
    const detectionTimeout = protection.protocolDetectionTimeoutMs;
    const stopDetecting = (): void => {
      socket.off('readable', onReadable);
      if (detectionTimeout > 0) {
        socket.setTimeout(0);
        socket.off('timeout', onDetectionTimeout);
      }
      if (seen.length > 0) socket.unshift(seen);
    };
    const onReadable = (): void => {
      const chunk = socket.read() as Buffer | null;
      if (chunk === null) return;
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const decided = Math.min(seen.length, PREFACE.length);
      if (decided < PREFACE.length && seen.subarray(0, decided).equals(PREFACE.subarray(0, decided))) return;
      stopDetecting();
      this.serve(socket, protection, seen.subarray(0, PREFACE.length).equals(PREFACE));
    };
    const onDetectionTimeout = (): void => {
      this.events.protocolDetectionTimeout();
      if (!protection.continueOnProtocolDetectionTimeout) {
        socket.destroy();
        return;
      }
      stopDetecting();
      this.serve(socket, protection, false);
    };
    if (detectionTimeout > 0) {
      socket.setTimeout(Math.min(detectionTimeout, MAX_TIMER_MS));
      socket.on('timeout', onDetectionTimeout);
    }
    socket.on('readable', onReadable);
  }

  /** Hands `socket` (its first bytes back in its buffer) to the HTTP/2 or the HTTP/1.1 server, set up for `protection`. */
  private serve(socket: Socket, protection: DownstreamProtection, http2: boolean): void {
    this.apply(protection);
    if (http2) {
      this.h2.emit('connection', socket);
      return;
    }
    this.h1Sockets.add(socket);
    socket.once('close', () => this.h1Sockets.delete(socket));
    this.h1.emit('connection', socket);
    this.limitDuration(socket, protection);
  }

  /** HTTP/1.1 `max_connection_duration`: the connection closes after the response in flight then. */
  private limitDuration(socket: Socket, protection: DownstreamProtection): void {
    const duration = protection.maxConnectionDurationMs;
    if (duration <= 0) return;
    const timer = setTimeout(() => {
      this.events.maxDurationReached();
      this.closeHttp1(new Set([socket]));
    }, Math.min(duration, MAX_TIMER_MS));
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }
}
