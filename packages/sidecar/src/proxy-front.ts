/**
 * Turns incoming HTTP/2 streams and HTTP/1.1 requests into pipeline attempts: reads the state once,
 * checks the request (see `request-hygiene.ts`), arms the stream's own timers, builds the route
 * request over the raw headers, and invokes the composed pipeline.
 */
import { constants, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MeshError } from '@xmesh/core';
import type { DownstreamConnection, Invoke, MeshState } from '@xmesh/client';
import type { Socket } from 'node:net';
import { downstreamConnectionOf } from './downstream-connection.js';
import { UpgradeDownstream } from './upgrade-downstream.js';
import { chainListenerOf } from './downstream-tls.js';
import type { DownstreamProtection, LocalReplyConfig } from '@xmesh/xds';
import { H1Downstream, H2Downstream, type Downstream } from './downstream.js';
import { HeaderView } from './header-view.js';
import { grpcTimeoutMs } from './grpc-timeout.js';
import { ProxyAttempt, type ProxyContext } from './proxy-attempt.js';
import { checkUnderscores, connectTarget, http1Target, http2HeaderCountExceeded } from './request-hygiene.js';

const END_STREAM = constants.NGHTTP2_FLAG_END_STREAM;

export interface ProxyFrontHost {
  /** The state new requests read, or the error they are answered with. */
  state(): MeshState | MeshError;
  /** The downstream protections of `state` (see `protection.ts`). */
  protection(state: MeshState | MeshError): DownstreamProtection;
  /** The served listener's `local_reply_config`. */
  localReplies(state: MeshState | MeshError): LocalReplyConfig | undefined;
  readonly invoke: Invoke<ProxyAttempt>;
  readonly context: ProxyContext;
  /** Called once per request as it arrives. */
  readonly onOpen: () => void;
  /** Called once per request when its client stream or response closed. */
  readonly onClose: () => void;
}

export class ProxyFront {
  constructor(private readonly host: ProxyFrontHost) {}

  /** An HTTP/2 (h2c) request stream. */
  readonly onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: readonly string[]): void => {
    const state = this.host.state();
    const protection = this.host.protection(state);
    if (http2HeaderCountExceeded(rawHeaders.length, protection)) {
      // As node answers a header list over its size limit (REFUSED_STREAM would invite a blind retry).
      stream.close(constants.NGHTTP2_ENHANCE_YOUR_CALM);
      return;
    }
    const ds = new H2Downstream(stream, headers, (flags & END_STREAM) === 0, this.host.onClose, protection.streamIdleTimeoutMs);
    ds.localReplies = this.host.localReplies(state);
    const authority = headers[':authority'] ?? headers.host ?? '';
    const socket = stream.session?.socket as Socket | undefined;
    const connection = downstreamConnectionOf(socket, 'HTTP/2');
    const method = headers[':method'] ?? 'GET';
    // A CONNECT request has no path (node refuses one with :path, bar extended CONNECT).
    const path = method === 'CONNECT' ? '' : headers[':path'] ?? '/';
    this.dispatch(state, protection, ds, authority, path, method, new HeaderView(headers, undefined), headers['grpc-timeout'], connection, chainListenerOf(socket), verifiedClient(socket));
  };

  /**
   * An HTTP/1.1 request asking for a protocol upgrade, or a CONNECT request: proxied when the listener and route
   * allow it, else 403 (see FilterChain).
   */
  readonly onUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    const state = this.host.state();
    const protection = this.host.protection(state);
    const ds = new UpgradeDownstream(req, socket, head, this.host.onClose, protection.streamIdleTimeoutMs);
    ds.localReplies = this.host.localReplies(state);
    const target = req.method === 'CONNECT'
      ? connectTarget(req.headers, req.url ?? '', req.httpVersionMinor, req.rawHeaders.length, protection)
      : http1Target(req.headers, req.url ?? '/', req.httpVersionMinor, req.rawHeaders.length, protection);
    if (target instanceof MeshError) {
      this.host.onOpen();
      ds.reject(target);
      return;
    }
    const { authority, path } = target;
    const connection = downstreamConnectionOf(socket, req.httpVersionMinor === 0 ? 'HTTP/1.0' : 'HTTP/1.1');
    const scheme = connection?.tls === undefined ? 'http' : 'https';
    this.dispatch(state, protection, ds, authority, path, req.method ?? 'GET', new HeaderView(req.headers, { authority, path, method: req.method ?? 'GET', scheme }), undefined, connection, chainListenerOf(socket), verifiedClient(socket));
  };

  /** An HTTP/1.1 request. */
  readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const state = this.host.state();
    const protection = this.host.protection(state);
    const ds = new H1Downstream(req, res, this.host.onClose, protection.streamIdleTimeoutMs, protection.http1Trailers);
    ds.localReplies = this.host.localReplies(state);
    const method = req.method ?? 'GET';
    const target = http1Target(req.headers, req.url ?? '/', req.httpVersionMinor, req.rawHeaders.length, protection);
    if (target instanceof MeshError) {
      this.host.onOpen();
      res.shouldKeepAlive = false;
      ds.reject(target);
      return;
    }
    const { authority, path } = target;
    const connection = downstreamConnectionOf(req.socket, req.httpVersionMinor === 0 ? 'HTTP/1.0' : 'HTTP/1.1');
    const scheme = connection?.tls === undefined ? 'http' : 'https';
    this.dispatch(state, protection, ds, authority, path, method, new HeaderView(req.headers, { authority, path, method, scheme }), req.headers['grpc-timeout'], connection, chainListenerOf(req.socket), verifiedClient(req.socket));
  };

  private dispatch(
    state: MeshState | MeshError,
    protection: DownstreamProtection,
    ds: Downstream,
    authority: string,
    path: string,
    method: string,
    headers: HeaderView,
    grpcTimeout: string | string[] | undefined,
    connection: DownstreamConnection | undefined,
    chainListener: string | undefined,
    mtls: boolean,
  ): void {
    this.host.onOpen();
    if (state instanceof MeshError) {
      ds.reject(state);
      return;
    }
    if (protection.headersWithUnderscores !== 'allow') {
      const refused = checkUnderscores(ds.requestHeaders, protection.headersWithUnderscores);
      if (refused !== undefined) {
        ds.reject(refused);
        return;
      }
    }
    const now = state.clock.now();
    const deadlines = state.services?.deadlines;
    if (deadlines !== undefined && (protection.requestTimeoutMs > 0 || protection.maxStreamDurationMs > 0)) {
      // HTTP/1.1's request timeout is node's (set on the listener's server).
      const requestTimeoutMs = ds instanceof H2Downstream ? protection.requestTimeoutMs : 0;
      ds.armDeadlines(deadlines, now, requestTimeoutMs, protection.maxStreamDurationMs);
    }
    const timeoutMs = ds.grpc ? grpcTimeoutMs(grpcTimeout) : undefined;
    const deadline = timeoutMs === undefined ? Infinity : now + timeoutMs;
    const attempt = new ProxyAttempt(ds, this.host.context, state, { authority, path, method, headers, grpc: ds.grpc }, deadline);
    // The listener's HttpConnectionManager decides (retry layer) whether this caller's x-envoy-* headers count.
    attempt.caller = { remoteAddress: connection?.remoteAddress, forwardedFor: headers.get('x-forwarded-for'), mtls };
    attempt.downstreamConnection = connection;
    if (chainListener !== undefined) {
      // The connection's filter chain has its own HttpConnectionManager: its routes and filters serve this request.
      const decision = state.router.routeVia?.(chainListener, attempt.request);
      if (decision instanceof MeshError) {
        ds.reject(decision);
        return;
      }
      if (decision !== undefined) attempt.decision = decision;
    }
    ds.onAbort(attempt);
    this.host.invoke(attempt);
  }
}

/** True when the connection is TLS and its client presented a certificate the listener verified. */
function verifiedClient(socket: unknown): boolean {
  return (socket as { authorized?: unknown } | undefined)?.authorized === true;
}
