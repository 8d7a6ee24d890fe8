/**
 * Turns incoming HTTP/2 streams and HTTP/1.1 requests into pipeline attempts: reads the state once,
 * builds the route request over the raw headers, and invokes the composed pipeline.
 */
import { constants, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MeshError } from '@xmesh/core';
import type { Invoke, MeshState } from '@xmesh/client';
import { H1Downstream, H2Downstream, type Downstream } from './downstream.js';
import { HeaderView } from './header-view.js';
import { grpcTimeoutMs } from './grpc-timeout.js';
import { ProxyAttempt, type ProxyContext } from './proxy-attempt.js';

const END_STREAM = constants.NGHTTP2_FLAG_END_STREAM;

export interface ProxyFrontHost {
  /** The state new requests read, or the error they are answered with. */
  state(): MeshState | MeshError;
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
  readonly onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number): void => {
    const ds = new H2Downstream(stream, headers, (flags & END_STREAM) === 0, this.host.onClose);
    const authority = headers[':authority'] ?? headers.host ?? '';
    this.dispatch(ds, authority, headers[':path'] ?? '/', headers[':method'] ?? 'GET', new HeaderView(headers, undefined), headers['grpc-timeout'], stream.session?.socket?.remoteAddress);
  };

  /** An HTTP/1.1 request. */
  readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const ds = new H1Downstream(req, res, this.host.onClose);
    const authority = req.headers.host ?? '';
    const path = req.url ?? '/';
    const method = req.method ?? 'GET';
    this.dispatch(ds, authority, path, method, new HeaderView(req.headers, { authority, path, method }), req.headers['grpc-timeout'], req.socket.remoteAddress);
  };

  private dispatch(ds: Downstream, authority: string, path: string, method: string, headers: HeaderView, grpcTimeout: string | string[] | undefined, remoteAddress: string | undefined): void {
    this.host.onOpen();
    const state = this.host.state();
    if (state instanceof MeshError) {
      ds.reject(state);
      return;
    }
    const timeoutMs = ds.grpc ? grpcTimeoutMs(grpcTimeout) : undefined;
    const deadline = timeoutMs === undefined ? Infinity : state.clock.now() + timeoutMs;
    const attempt = new ProxyAttempt(ds, this.host.context, state, { authority, path, method, headers, grpc: ds.grpc }, deadline);
    // The listener's HttpConnectionManager decides (retry layer) whether this caller's x-envoy-* headers count.
    attempt.caller = { remoteAddress, forwardedFor: headers.get('x-forwarded-for') };
    ds.onAbort(attempt);
    this.host.invoke(attempt);
  }
}
