/**
 * Forwards one attempt over the endpoint's shared HTTP/2 session: request headers and DATA go up,
 * response headers, DATA and trailers come down, all as bytes (messages are never decoded; a gRPC
 * response's framing is metered so an oversized message ends the stream at its length prefix).
 *
 * Each end is reported to the retry layer before the client sees it: a response that may be
 * retried (trailers-only, or a non-2xx status) is held back until the retry layer declined it; a
 * retried attempt's response is dropped. A failure before response headers becomes a local reply,
 * after them a reset of the client stream; a client that goes away cancels the upstream stream.
 */
import { constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { MeshError } from '@xmesh/core';
import { isConnectError, upstreamFailureCode } from '@xmesh/client';
import { H2Downstream } from './downstream.js';
import { GrpcFrameMeter } from './grpc-frame-meter.js';
import { HeaderView } from './header-view.js';
import { h2FromH1 } from './request-headers.js';
import { cancelUpstream, upstreamClosed, upstreamOpened } from './reset-budget.js';
import { cancelledOutcome, isFinalStatus, grpcStatusHeader, localReplyHeaders, responseOutcome, withResponseHeaders, type AttemptFailure, type ProxyAttempt } from './proxy-attempt.js';

const END_STREAM = constants.NGHTTP2_FLAG_END_STREAM;
const CONNECT_ERRORS: ReadonlySet<string> = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET']);

/** Request options; node:http2 copies them, so one frozen object serves every request. */
const REQUEST_WITH_BODY = Object.freeze({ endStream: false });
const REQUEST_WITHOUT_BODY = Object.freeze({ endStream: true });

/** The forward an upstream stream belongs to: its events reach it through shared listeners, no closures per request. */
const FORWARD = Symbol('xmesh.forward');
type ForwardedStream = ClientHttp2Stream & { [FORWARD]: H2Forward };

function onResponse(this: ForwardedStream, headers: IncomingHttpHeaders, flags: number): void {
  this[FORWARD].response(headers, flags);
}
function onTrailers(this: ForwardedStream, trailers: IncomingHttpHeaders): void {
  this[FORWARD].receivedTrailers(trailers);
}
function onData(this: ForwardedStream, chunk: Buffer): void {
  this[FORWARD].data(chunk);
}
function onEnd(this: ForwardedStream): void {
  this[FORWARD].end();
}
function onError(this: ForwardedStream, error: Error): void {
  const forward = this[FORWARD];
  forward.failed(error, failureOf(error, forward.httpStatus), undefined);
}
function onClose(this: ForwardedStream): void {
  const forward = this[FORWARD];
  upstreamClosed(this, forward.session);
  forward.failed(undefined, 'reset', undefined);
}

export function forwardH2(attempt: ProxyAttempt, session: ClientHttp2Session): void {
  new H2Forward(attempt).start(session);
}

class H2Forward {
  httpStatus = 0;
  /** The upstream session the stream was opened on (a closed stream no longer has it). */
  session: ClientHttp2Session | undefined = undefined;
  private upstream: ForwardedStream | undefined = undefined;
  private grpcStatus: number | undefined = undefined;
  private trailers: IncomingHttpHeaders | undefined = undefined;
  /** Meters the framing of a gRPC response (created with its headers). */
  private meter: GrpcFrameMeter | undefined = undefined;
  /** True once the upstream ended its response (END_STREAM): the stream needs no reset to end. */
  private upstreamEnded = false;
  private settled = false;

  constructor(private readonly attempt: ProxyAttempt) {}

  /** The stream runs and no response was relayed from it: a retry can race it. */
  get raceable(): boolean {
    return !this.settled && this.upstream !== undefined;
  }

  start(session: ClientHttp2Session): void {
    const { attempt } = this;
    const ds = attempt.downstream;
    const request = attempt.request;
    const headers = ds instanceof H2Downstream ? ds.headers : h2FromH1(ds.requestHeaders, request.method, ds.upstreamPath ?? request.path, ds.upstreamAuthority ?? request.authority);
    ds.onAbort(this);
    attempt.upstreamAbort = this;
    let upstream: ForwardedStream;
    try {
      upstream = session.request(headers as OutgoingHttpHeaders, ds.hasBody ? REQUEST_WITH_BODY : REQUEST_WITHOUT_BODY) as ForwardedStream;
    } catch (error) {
      this.failed(error as Error, 'connect', undefined);
      return;
    }
    upstream[FORWARD] = this;
    this.upstream = upstream;
    this.session = session;
    upstreamOpened(upstream);
    upstream.on('response', onResponse);
    upstream.on('trailers', onTrailers);
    upstream.on('data', onData);
    upstream.on('end', onEnd);
    upstream.on('error', onError);
    upstream.on('close', onClose);
    if (ds.hasBody) {
      attempt.bodyRelay().attach(upstream);
    }
  }

  response(headers: IncomingHttpHeaders, flags: number): void {
    if (this.settled) return;
    const ds = this.attempt.downstream;
    this.httpStatus = Number(headers[':status']);
    if (!isFinalStatus(this.httpStatus)) {
      this.failed(undefined, 'reset', new MeshError('XMESH_UPSTREAM_PROTOCOL', `upstream ${this.attempt.endpoint?.id}: invalid response status ${String(headers[':status'])}`, this.origin()));
      return;
    }
    const endStream = (flags & END_STREAM) !== 0;
    if (endStream) {
      this.upstreamEnded = true;
      this.grpcStatus = grpcStatusHeader(headers['grpc-status']);
    }
    if (this.attempt.retry !== undefined && (endStream || this.httpStatus >= 300)) {
      const result = { httpStatus: this.httpStatus, grpcStatus: grpcStatusHeader(headers['grpc-status']), failure: 'none' as const, headers: new HeaderView(headers, undefined) };
      if (this.attempt.retried(result, false)) {
        this.drop();
        return;
      }
    } else if (this.attempt.retry?.responseStarts(this.attempt) === false) {
      // Hedging: another attempt's response went to the client first.
      this.drop();
      return;
    }
    if (!ds.respond(withResponseHeaders(headers as OutgoingHttpHeaders, this.attempt), endStream)) {
      // The client could not be sent these headers and got a local reply instead.
      this.settled = true;
      this.closeUpstream();
      this.attempt.retry?.end();
      this.attempt.finish({ kind: 'local_error', httpStatus: this.httpStatus, grpcStatus: undefined, latencyMs: this.attempt.elapsed() });
      return;
    }
    if (endStream) this.settle();
    else if (ds.grpc) this.meter = new GrpcFrameMeter(this.attempt.proxy.maxGrpcMessageBytes);
  }

  receivedTrailers(trailers: IncomingHttpHeaders): void {
    this.upstreamEnded = true;
    this.trailers = trailers;
    this.grpcStatus = grpcStatusHeader(trailers['grpc-status']);
  }

  data(chunk: Buffer): void {
    if (this.settled) return;
    const meter = this.meter;
    if (meter !== undefined) {
      const allowed = meter.scan(chunk);
      if (allowed >= 0) {
        this.messageTooLarge(allowed === 0 ? undefined : chunk.subarray(0, allowed), meter);
        return;
      }
    }
    const writable = this.attempt.downstream.writable;
    if (!writable.write(chunk)) {
      const upstream = this.upstream!;
      upstream.pause();
      writable.once('drain', () => upstream.resume());
    }
  }

  end(): void {
    if (this.settled) return;
    this.attempt.downstream.finish(this.trailers as OutgoingHttpHeaders | undefined);
    this.settle();
  }

  /** The retry layer ends this attempt (per-try or route timeout). */
  abortAttempt(error: MeshError): void {
    this.failed(undefined, 'reset', error);
  }

  /** The client went away (or the sidecar ended its request); the retry layer ends attempts still racing. */
  downstreamAborted(): void {
    if (!this.settled) {
      this.settled = true;
      this.attempt.finish(cancelledOutcome(this.attempt.downstream.grpc, this.attempt.elapsed()));
    }
    this.attempt.retry?.end();
    this.closeUpstream();
  }

  /** No usable response: retry, or a local reply (reset once headers went out). `error` is the mesh's own (a timeout, a protocol error). */
  failed(cause: Error | undefined, failure: AttemptFailure, error: MeshError | undefined): void {
    if (this.settled) return;
    this.settled = true;
    const { attempt } = this;
    const ds = attempt.downstream;
    this.closeUpstream();
    const committed = ds.headersSent;
    const retried = attempt.retried({ httpStatus: this.httpStatus, grpcStatus: undefined, failure, headers: undefined }, committed);
    const meshError = error ?? new MeshError(
      failure !== 'connect' && isProtocolError(cause) ? 'XMESH_UPSTREAM_PROTOCOL' : upstreamFailureCode(cause, failure === 'connect'),
      `upstream ${attempt.endpoint?.id}: ${cause?.message ?? 'stream reset'}`,
      { ...this.origin(), cause },
    );
    attempt.finish({ kind: 'local_error', httpStatus: this.httpStatus, grpcStatus: ds.grpc ? meshError.grpcStatus : undefined, latencyMs: attempt.elapsed() });
    if (retried) return;
    ds.reject(meshError, localReplyHeaders(attempt, meshError));
  }

  /**
   * A response message's length prefix is over the limit: the upstream stream is cancelled and the
   * client gets what came before it, then RESOURCE_EXHAUSTED in trailers when the cut falls on a
   * message boundary, else a reset.
   */
  private messageTooLarge(before: Buffer | undefined, meter: GrpcFrameMeter): void {
    this.settled = true;
    const { attempt } = this;
    const ds = attempt.downstream;
    this.closeUpstream();
    const error = new MeshError('XMESH_MESSAGE_TOO_LARGE', `upstream ${attempt.endpoint?.id}: response message larger than ${meter.limit} bytes`, this.origin());
    attempt.retried({ httpStatus: this.httpStatus, grpcStatus: error.grpcStatus, failure: 'none', headers: undefined }, true);
    attempt.finish({ kind: 'local_error', httpStatus: this.httpStatus, grpcStatus: error.grpcStatus, latencyMs: attempt.elapsed() });
    if (meter.splitPrefix) {
      ds.abort();
      return;
    }
    if (before !== undefined) ds.writable.write(before);
    ds.finish({ 'grpc-status': String(error.grpcStatus), 'grpc-message': encodeURIComponent(`${error.code}: ${error.message}`) });
  }

  /** The response completed and went to the client. */
  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    const { attempt } = this;
    if (attempt.retry !== undefined) attempt.retried({ httpStatus: this.httpStatus, grpcStatus: this.grpcStatus, failure: 'none', headers: undefined }, true);
    attempt.finish(responseOutcome(this.httpStatus, this.grpcStatus, attempt.elapsed()));
  }

  /** A retry replaces this attempt, or (hedging) another one answered first: its response is discarded. */
  private drop(): void {
    this.settled = true;
    this.attempt.finish(responseOutcome(this.httpStatus, this.grpcStatus, this.attempt.elapsed()));
    this.closeUpstream();
  }

  /** The upstream stream is not needed any more: reset it, or end the request when the response already ended. */
  private closeUpstream(): void {
    const upstream = this.upstream;
    if (upstream === undefined) return;
    if (!this.upstreamEnded) {
      this.attempt.downstream.relay?.detach(upstream);
      cancelUpstream(upstream);
    }
    else if (!upstream.writableEnded && !upstream.destroyed) upstream.end();
  }

  private origin(): { cluster: string | undefined; endpoint: string | undefined } {
    return { cluster: this.attempt.cluster?.name, endpoint: this.attempt.endpoint?.id };
  }
}

/** nghttp2 found the upstream's frames invalid (a bad `:status`, malformed headers): the upstream broke HTTP/2. */
function isProtocolError(error: Error | undefined): boolean {
  return error !== undefined && error.message.includes('NGHTTP2_PROTOCOL_ERROR');
}

/** A stream that never reached the upstream (its session failed to connect) is a connect failure. */
function failureOf(error: Error, httpStatus: number): AttemptFailure {
  const code = (error as { code?: string }).code;
  const cause = (error.cause as { code?: string } | undefined)?.code;
  if (httpStatus === 0 && (CONNECT_ERRORS.has(code ?? '') || (code === 'ERR_HTTP2_STREAM_CANCEL' && CONNECT_ERRORS.has(cause ?? '')))) return 'connect';
  // A failed TLS handshake (marked by @xmesh/tls, on the error or the session error it was cancelled by).
  if (httpStatus === 0 && isConnectError(error)) return 'connect';
  if (error.message.includes('NGHTTP2_REFUSED_STREAM')) return 'refused';
  return 'reset';
}
