/**
 * The client side of one proxied request, over HTTP/2 (a server stream) or HTTP/1.1 (req/res).
 * The forwarders write the upstream's response through this interface, so each upstream protocol
 * is written once for both downstream protocols.
 *
 * A downstream also keeps the request's own timers, as Envoy's connection manager does per stream:
 * the stream idle timeout (node's per-stream/per-socket timer, refreshed by traffic either way),
 * and `request_timeout` / `max_stream_duration` (entries on the mesh's deadline scheduler, only
 * when configured). When one fires the request is terminated: the upstream attempt is cancelled and
 * the client gets a local reply, or a reset once response headers went out.
 */
import { constants, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough, Readable, Writable, type Transform } from 'node:stream';
import type { BufferedBody, ResponseCompression } from '@xmesh/client';
import { MeshError } from '@xmesh/core';
import { decodeError, localReply, localReplyRewrite, type MeshState } from '@xmesh/client';
import { BridgedResponse, bridgedResponseTooLarge } from '@xmesh/filters';
import type { HeaderSource } from '@xmesh/router';
import type { LocalReplyConfig } from '@xmesh/xds';
import type { BodyRelay } from './body-relay.js';
import { HeaderView } from './header-view.js';
import { MAX_TIMER_MS } from './session-guard.js';

/** Told when the client goes away mid-request (the pipeline attempt, or the forwarder once it runs). */
export interface DownstreamAbortHandler {
  downstreamAborted(): void;
}

type DeadlineScheduler = NonNullable<MeshState['services']>['deadlines'];

export interface Downstream {
  /** True when the request is gRPC (`content-type: application/grpc*`). */
  readonly grpc: boolean;
  /** The incoming request headers as Node parsed them (HTTP/2 ones include pseudo-headers). */
  readonly requestHeaders: IncomingHttpHeaders;
  /** The request body; already ended when the request had none. */
  readonly body: Readable;
  /** False when the request carries no body (HTTP/2 END_STREAM on headers, HTTP/1.1 without length or chunking). */
  readonly hasBody: boolean;
  /** The compressor filters of the request (see FilterCall.compression): `respond` may start an encoder. */
  compression: ResponseCompression | undefined;
  /** Where response DATA is piped (with `end: false`; `finish` ends it); the encoder when the response is compressed. */
  readonly writable: Writable;
  /** Relays the request body to upstream attempts; created by the first forwarder that needs it. */
  relay: BodyRelay | undefined;
  /** The body the relay reads when a filter read part or all of `body` first (see bufferBody). */
  readonly relaySource: Readable | undefined;
  /** The request body goes to the relay through `decoder` (a decompressor filter); its error ends the request. */
  decodeBody(decoder: Transform): void;
  /** Reads the request body for a filter, up to `limit` bytes (see FilterCall.bufferBody); never synchronous. */
  bufferBody(limit: number, partial: boolean, done: (body: BufferedBody) => void): void;
  /** True once the route's trace headers and the filters' request headers were added to `requestHeaders`. */
  decorated: boolean;
  /** The path to forward when the route's rewrite changed it (HTTP/2 requests also carry it in `:path`). */
  upstreamPath: string | undefined;
  /** The authority to forward when the route's rewrite changed it (HTTP/2 requests also carry it in `:authority`). */
  upstreamAuthority: string | undefined;
  /** True once response headers went out. */
  readonly headersSent: boolean;
  /** True once the client went away or the response completed. */
  readonly closed: boolean;
  /**
   * Sends response headers (`:status` included); `endStream` for a response without body or trailers.
   * False when the headers cannot be sent to this client (invalid for its protocol): nothing went out.
   */
  respond(headers: OutgoingHttpHeaders, endStream: boolean): boolean;
  /** Ends the response, with trailers when given. */
  finish(trailers: OutgoingHttpHeaders | undefined): void;
  /** Replies locally for a mesh error (`decorate` may add to the reply's headers), or resets the stream when headers already went out. */
  reject(error: MeshError, decorate?: (headers: OutgoingHttpHeaders) => void): void;
  /** Resets the client's stream (HTTP/2) or connection (HTTP/1.1). */
  abort(): void;
  /** Sets who is told, once, if the client goes away before the response completed (one at a time; replaces the previous). */
  onAbort(handler: DownstreamAbortHandler | undefined): void;
  /** The proxy ends the request itself (a timeout, a limit): the upstream attempt is cancelled, then `reject(error)`. */
  terminate(error: MeshError): void;
  /** Replaces the stream idle timeout (a route's `idle_timeout`); 0 disables it. */
  setIdleTimeout(ms: number): void;
  /** Arms `request_timeout` (until the request body ended) and `max_stream_duration` (0 = none) on `deadlines`. */
  armDeadlines(deadlines: DeadlineScheduler, now: number, requestTimeoutMs: number, maxStreamDurationMs: number): void;
}

/** Request headers that are not forwarded (connection-specific, RFC 9113 §8.2.2). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'http2-settings', 'te', 'expect']);

export function isGrpcContentType(value: string | string[] | undefined): boolean {
  return typeof value === 'string' && value.startsWith('application/grpc');
}

/** Envoy's wording for the connection manager's own timeouts (HTTP 408, gRPC DEADLINE_EXCEEDED). */
const STREAM_IDLE_TIMEOUT = 'stream timeout';
const REQUEST_TIMEOUT = 'request timeout';
const STREAM_DURATION_TIMEOUT = 'downstream duration timeout';

function timeoutError(message: string): MeshError {
  return new MeshError('XMESH_TIMEOUT', message, { httpStatus: 408 });
}

function ignoreError(): void {}

/** Response headers the client's protocol cannot carry (or a response that may not be sent now). */
function unsendable(cause: unknown): MeshError {
  return new MeshError('XMESH_UPSTREAM_PROTOCOL', `upstream response cannot be sent to the client: ${(cause as Error).message}`, { cause });
}

/** Shared by every downstream: the abort handler, the scheduler-kept deadlines, termination, body buffering. */
export abstract class BaseDownstream {
  relay: BodyRelay | undefined = undefined;
  /** The served listener's `local_reply_config`: how this request's local replies are rewritten. */
  localReplies: LocalReplyConfig | undefined = undefined;
  relaySource: Readable | undefined = undefined;
  decorated = false;
  upstreamPath: string | undefined = undefined;
  upstreamAuthority: string | undefined = undefined;
  compression: ResponseCompression | undefined = undefined;
  /** The response body's encoder (the compressor filter), piped to the client. */
  protected encoder: Transform | undefined = undefined;
  protected abortHandler: DownstreamAbortHandler | undefined = undefined;
  protected done = false;
  /** DeadlineEntry: the earlier of the request and stream deadlines, on `scheduler`. */
  deadlineDue = Infinity;
  deadlineSlot = -1;
  private scheduler: DeadlineScheduler | undefined = undefined;
  private requestDue = Infinity;
  private streamDue = Infinity;

  abstract readonly body: Readable;
  abstract readonly hasBody: boolean;
  abstract reject(error: MeshError, decorate?: (headers: OutgoingHttpHeaders) => void): void;
  protected abstract requestComplete(): boolean;

  onAbort(handler: DownstreamAbortHandler | undefined): void {
    this.abortHandler = handler;
  }

  decodeBody(decoder: Transform): void {
    if (!this.hasBody) {
      decoder.destroy();
      return;
    }
    const source = this.relaySource ?? this.body;
    decoder.on('error', (error: Error) => {
      source.unpipe(decoder);
      this.terminate(decodeError(error));
    });
    source.pipe(decoder);
    this.relaySource = decoder;
  }

  bufferBody(limit: number, partial: boolean, done: (body: BufferedBody) => void): void {
    if (!this.hasBody || this.relaySource !== undefined) {
      process.nextTick(done, 'none');
      return;
    }
    const source = this.body;
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (): void => {
      source.off('data', onData);
      source.off('end', onEnd);
    };
    const onData = (chunk: Buffer): void => {
      if (size + chunk.length <= limit) {
        chunks.push(chunk);
        size += chunk.length;
        return;
      }
      stop();
      source.pause();
      if (!partial) {
        done('too_large');
        return;
      }
      const head = Buffer.concat([...chunks, chunk]);
      // The relay gets what was read, then the rest of the stream as it arrives.
      const rest = new PassThrough();
      rest.on('error', ignoreError);
      rest.write(head);
      source.pipe(rest);
      this.relaySource = rest;
      done({ bytes: head.subarray(0, limit), complete: false });
    };
    const onEnd = (): void => {
      stop();
      const bytes = Buffer.concat(chunks);
      this.relaySource = Readable.from([bytes], { objectMode: false });
      done(chunks.length === 0 ? 'none' : { bytes, complete: true });
    };
    source.on('data', onData);
    source.once('end', onEnd);
  }

  terminate(error: MeshError): void {
    if (this.done) return;
    const handler = this.abortHandler;
    this.abortHandler = undefined;
    handler?.downstreamAborted();
    this.reject(error);
  }

  armDeadlines(deadlines: DeadlineScheduler, now: number, requestTimeoutMs: number, maxStreamDurationMs: number): void {
    if (requestTimeoutMs > 0 && !this.requestComplete()) {
      this.requestDue = now + requestTimeoutMs;
      this.body.once('end', () => this.requestEnded());
    }
    if (maxStreamDurationMs > 0) this.streamDue = now + maxStreamDurationMs;
    const due = Math.min(this.requestDue, this.streamDue);
    if (due === Infinity) return;
    this.scheduler = deadlines;
    deadlines.schedule(this, due);
  }

  /** @internal A deadline passed (DeadlineScheduler). */
  onDeadline(): void {
    if (this.deadlineDue === this.requestDue) this.terminate(timeoutError(REQUEST_TIMEOUT));
    else this.terminate(timeoutError(STREAM_DURATION_TIMEOUT));
  }

  /** The local reply for `error`, rewritten by the listener's `local_reply_config` when a mapper matches. */
  protected localReplyOf(error: MeshError): { headers: OutgoingHttpHeaders; body: string | undefined } {
    const config = this.localReplies;
    return localReply(error, this.grpc, config === undefined ? undefined : localReplyRewrite(config, error, this.replySource(), this.grpc));
  }

  /** The request as a local reply's filters read it. */
  protected abstract replySource(): HeaderSource;
  abstract readonly grpc: boolean;

  protected idleTimedOut(): void {
    this.terminate(timeoutError(STREAM_IDLE_TIMEOUT));
  }

  /** The stream is over: its deadlines go, and the encoder's memory. */
  protected released(): void {
    this.scheduler?.cancel(this);
    this.scheduler = undefined;
    this.encoder?.destroy();
  }

  /**
   * Response headers as they go out: the compressor filters decide (and edit `headers`, a copy being
   * made first); the encoder they start is piped to `sink`.
   */
  protected compressing(headers: OutgoingHttpHeaders, endStream: boolean): OutgoingHttpHeaders {
    const compression = this.compression;
    if (compression === undefined) return headers;
    const out = { ...headers };
    const encoder = compression.begin(out, endStream);
    if (encoder !== undefined) {
      // A body that cannot be coded (a corrupt or inflating upstream body being decompressed): headers went out, so a reset.
      encoder.on('error', () => this.abort());
      this.encoder = encoder;
    }
    return out;
  }

  /** Pipes the encoder, once headers went out. */
  protected pipeEncoder(sink: Writable): void {
    this.encoder?.pipe(sink, { end: false });
  }

  /** Ends the response body: through the encoder (its last bytes, then `then`) or at once. */
  protected endBody(then: () => void): void {
    const encoder = this.encoder;
    if (encoder === undefined) {
      then();
      return;
    }
    encoder.once('end', then);
    encoder.end();
  }

  abstract abort(): void;

  private requestEnded(): void {
    if (this.requestDue === Infinity) return;
    this.requestDue = Infinity;
    const scheduler = this.scheduler;
    if (scheduler === undefined || this.deadlineSlot < 0) return;
    scheduler.cancel(this);
    if (this.streamDue !== Infinity) scheduler.schedule(this, this.streamDue);
  }
}

/** The downstream a server stream or response belongs to: its events reach it through shared listeners. */
const DOWNSTREAM = Symbol('xmesh.downstream');
type DownstreamStream = ServerHttp2Stream & { [DOWNSTREAM]: H2Downstream };

function onWantTrailers(this: DownstreamStream): void {
  this[DOWNSTREAM].sendTrailers();
}

function onStreamClose(this: DownstreamStream): void {
  this[DOWNSTREAM].streamClosed();
}

function onStreamTimeout(this: DownstreamStream): void {
  this[DOWNSTREAM].streamIdle();
}

/** How long a client may keep sending a request whose response is complete (see `H2Downstream.complete`). */
const HALF_CLOSED_GRACE_MS = 1000;

/** Response options; node:http2 copies them, so one frozen object serves every response. */
const RESPOND_ENDED = Object.freeze({ endStream: true, waitForTrailers: false });
const RESPOND_OPEN = Object.freeze({ endStream: false, waitForTrailers: true });
/** A tunnel ends with END_STREAM on its last DATA: it has no trailers. */
const RESPOND_TUNNEL = Object.freeze({ endStream: false });

export class H2Downstream extends BaseDownstream implements Downstream {
  readonly grpc: boolean;
  private readonly onClose: () => void;
  private trailers: OutgoingHttpHeaders | undefined = undefined;

  /**
   * @param idleTimeoutMs the stream idle timeout (0 = none)
   */
  constructor(
    readonly stream: ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
    readonly hasBody: boolean,
    onClose: () => void,
    idleTimeoutMs: number,
  ) {
    super();
    this.grpc = isGrpcContentType(headers['content-type']);
    this.onClose = onClose;
    (stream as DownstreamStream)[DOWNSTREAM] = this;
    stream.on('wantTrailers', onWantTrailers);
    // 'close' is emitted once: a plain listener spares the per-request `once` wrapper.
    stream.on('close', onStreamClose);
    if (idleTimeoutMs > 0) {
      stream.on('timeout', onStreamTimeout);
      stream.setTimeout(Math.min(idleTimeoutMs, MAX_TIMER_MS));
    }
  }

  /** The client stream closed (after the response, or because the client went away). */
  streamClosed(): void {
    this.released();
    this.onClose();
    if (this.done) return;
    this.done = true;
    this.abortHandler?.downstreamAborted();
  }

  /** No traffic either way for the stream idle timeout. */
  streamIdle(): void {
    this.idleTimedOut();
  }

  /** Sends the upstream's trailers (or none) once the last DATA is queued. */
  sendTrailers(): void {
    try {
      this.stream.sendTrailers(this.trailers ?? {});
    } catch {
      // Trailers this client cannot be sent (the upstream's, invalid here): the stream is reset instead.
      this.abort();
    }
  }

  protected replySource(): HeaderSource {
    const headers = this.headers;
    return { authority: headers[':authority'] ?? '', path: headers[':path'] ?? '', method: headers[':method'] ?? '', headers: new HeaderView(headers, undefined) };
  }

  get requestHeaders(): IncomingHttpHeaders { return this.headers; }
  get body(): Readable { return this.stream; }
  get writable(): Writable { return this.encoder ?? this.stream; }
  get headersSent(): boolean { return this.stream.headersSent; }
  get closed(): boolean { return this.done || this.stream.closed || this.stream.destroyed; }

  respond(headers: OutgoingHttpHeaders, endStream: boolean): boolean {
    if (this.closed) return true;
    try {
      this.stream.respond(this.compressing(headers, endStream), endStream ? RESPOND_ENDED : RESPOND_OPEN);
    } catch (error) {
      this.encoder?.destroy();
      this.encoder = undefined;
      if (this.stream.headersSent) this.abort();
      else this.reject(unsendable(error));
      return false;
    }
    if (endStream) this.complete();
    else this.pipeEncoder(this.stream);
    return true;
  }

  /**
   * Answers a CONNECT request with `headers` (its 2xx): the stream's DATA that follows is the tunnel's, so no
   * response filter codes it. False when the stream cannot take it (then it is reset).
   */
  respondTunnel(headers: OutgoingHttpHeaders): boolean {
    if (this.closed) return false;
    try {
      this.stream.respond(headers, RESPOND_TUNNEL);
    } catch {
      this.abort();
      return false;
    }
    return true;
  }

  /** Resets the stream with `code` (RST_STREAM), e.g. CONNECT_ERROR for a tunnel whose TCP connection failed. */
  reset(code: number): void {
    this.done = true;
    if (!this.stream.destroyed) this.stream.close(code);
  }

  finish(trailers: OutgoingHttpHeaders | undefined): void {
    if (this.closed) return;
    this.trailers = trailers;
    this.endBody(() => {
      if (this.closed) return;
      this.stream.end();
      this.complete();
    });
  }

  reject(error: MeshError, decorate?: (headers: OutgoingHttpHeaders) => void): void {
    if (this.closed) return;
    if (this.stream.headersSent) {
      this.abort();
      return;
    }
    const reply = this.localReplyOf(error);
    decorate?.(reply.headers);
    try {
      this.stream.respond(reply.headers, { endStream: reply.body === undefined });
      if (reply.body !== undefined) this.stream.end(reply.body);
    } catch {
      this.abort();
      return;
    }
    this.complete();
  }

  abort(): void {
    this.done = true;
    if (this.stream.destroyed) return;
    this.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  }

  setIdleTimeout(ms: number): void {
    if (this.stream.destroyed) return;
    if (ms > 0 && this.stream.listenerCount('timeout') === 0) this.stream.on('timeout', onStreamTimeout);
    this.stream.setTimeout(Math.min(ms, MAX_TIMER_MS));
  }

  protected requestComplete(): boolean {
    return !this.hasBody || this.stream.readableEnded;
  }

  /**
   * The response is complete. A request still arriving is drained, not buffered; a client that has
   * not ended it shortly after is told to stop sending with RST_STREAM(NO_ERROR) (RFC 9113 §8.1).
   * Not at once: grpc-js reads a RST_STREAM that arrives with a trailers-only response as a call
   * without status.
   */
  private complete(): void {
    this.done = true;
    if (this.stream.readableEnded) return;
    this.stream.resume();
    const stream = this.stream;
    setTimeout(() => {
      if (!stream.destroyed && !stream.readableEnded) stream.close(constants.NGHTTP2_NO_ERROR);
    }, HALF_CLOSED_GRACE_MS).unref();
  }
}

type DownstreamResponse = ServerResponse & { [DOWNSTREAM]: H1Downstream };

function onResponseClose(this: DownstreamResponse): void {
  this[DOWNSTREAM].responseClosed();
}

function onResponseTimeout(this: DownstreamResponse): void {
  this[DOWNSTREAM].socketIdle();
}

export class H1Downstream extends BaseDownstream implements Downstream {
  readonly grpc: boolean;
  private readonly onClose: () => void;
  readonly hasBody: boolean;
  /** Why the last `writeHead` was refused. */
  private headError: unknown = undefined;
  /** The gRPC HTTP/1.1 bridge holds the response (see bridgeGrpcResponse); undefined when it does not. */
  private bridge: BridgedResponse | undefined = undefined;
  /** The held response's headers (`:status` included), from the upstream's until the response ends. */
  private heldHead: OutgoingHttpHeaders | undefined = undefined;
  /** Where the held response's body goes (the bridge), in place of the client. */
  private holder: Writable | undefined = undefined;

  /**
   * @param idleTimeoutMs the stream idle timeout (0 = none): the socket's timeout until the response
   *   ended, when node's keep-alive timeout (the connection's idle timeout) replaces it
   * @param trailers forward response trailers (the HCM's `enable_trailers`)
   */
  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    onClose: () => void,
    idleTimeoutMs: number,
    private readonly trailers: boolean,
  ) {
    super();
    this.grpc = isGrpcContentType(req.headers['content-type']);
    const length = req.headers['content-length'];
    this.hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    this.onClose = onClose;
    (res as DownstreamResponse)[DOWNSTREAM] = this;
    res.on('close', onResponseClose);
    if (idleTimeoutMs > 0) this.setIdleTimeout(idleTimeoutMs);
  }

  /** The response closed (after it finished, or because the client went away). */
  responseClosed(): void {
    this.released();
    this.onClose();
    if (this.done || this.res.writableFinished) return;
    this.done = true;
    this.abortHandler?.downstreamAborted();
  }

  /** No traffic on the connection for the stream idle timeout while this request ran. */
  socketIdle(): void {
    if (this.done) {
      // The response is complete and node has not set the keep-alive timeout yet (pipelining): close.
      this.res.socket?.destroy();
      return;
    }
    this.idleTimedOut();
  }

  protected replySource(): HeaderSource {
    return http1ReplySource(this.req);
  }

  get requestHeaders(): IncomingHttpHeaders { return this.req.headers; }
  get body(): Readable { return this.req; }
  get writable(): Writable { return this.encoder ?? this.holder ?? this.res; }
  /** True once the response started: held by the bridge counts (the upstream's answer is the client's, as in Envoy). */
  get headersSent(): boolean { return this.heldHead !== undefined || this.res.headersSent; }
  get closed(): boolean { return this.done || this.res.destroyed; }

  /**
   * The gRPC HTTP/1.1 bridge (`FilterCall.bridgeGrpcResponse`): a response that does not end with its headers is
   * held, then sent whole by `finish` with its trailers' status as headers; a body over `limit` bytes is answered 500.
   */
  bridgeGrpcResponse(limit: number): void {
    this.bridge ??= new BridgedResponse(limit);
  }

  respond(headers: OutgoingHttpHeaders, endStream: boolean): boolean {
    if (this.closed) return true;
    const bridge = this.bridge;
    if (bridge !== undefined && !endStream && this.heldHead === undefined) {
      this.heldHead = this.compressing(headers, endStream);
      let over = false;
      this.holder = new Writable({
        write: (chunk: Buffer, _encoding, callback) => {
          if (!over && !bridge.hold(chunk)) {
            over = true;
            this.bridgeOverflowed(bridge.limit);
          }
          callback();
        },
      });
      this.pipeEncoder(this.holder);
      return true;
    }
    if (!this.writeHead(this.compressing(headers, endStream))) {
      this.encoder?.destroy();
      this.encoder = undefined;
      this.reject(unsendable(this.headError));
      return false;
    }
    if (endStream) this.finish(undefined);
    else this.pipeEncoder(this.res);
    return true;
  }

  finish(trailers: OutgoingHttpHeaders | undefined): void {
    if (this.closed) return;
    this.endBody(() => this.finishBody(trailers));
  }

  private finishBody(trailers: OutgoingHttpHeaders | undefined): void {
    if (this.closed) return;
    const held = this.heldHead;
    if (held !== undefined) {
      this.sendHeld(held, trailers);
      return;
    }
    if (trailers !== undefined && this.trailers && this.res.chunkedEncoding) {
      try {
        this.res.addTrailers(trailers as Record<string, string>);
      } catch {
        this.abort();
        return;
      }
    }
    this.res.end();
    this.complete();
  }

  reject(error: MeshError, decorate?: (headers: OutgoingHttpHeaders) => void): void {
    if (this.closed) return;
    // A response under way (held by the bridge included) cannot be replaced: the connection is reset, as Envoy does.
    if (this.headersSent) {
      this.abort();
      return;
    }
    const reply = this.localReplyOf(error);
    decorate?.(reply.headers);
    // A request still arriving is not read further: the connection closes after the reply (as Envoy).
    if (!this.req.complete) this.res.shouldKeepAlive = false;
    if (!this.writeHead(reply.headers)) {
      this.abort();
      return;
    }
    this.res.end(reply.body);
    this.complete();
  }

  abort(): void {
    this.done = true;
    this.res.destroy();
  }

  /** The bridge's held response, whole: its status and headers with the trailers' gRPC status, then its body. */
  private sendHeld(held: OutgoingHttpHeaders, trailers: OutgoingHttpHeaders | undefined): void {
    const bridge = this.bridge!;
    const { [':status']: status, ...headers } = held;
    const head = bridge.head(Number(status), headers, trailers);
    this.heldHead = undefined;
    if (!this.writeHead({ ...head.headers, ':status': head.status })) {
      this.reject(unsendable(this.headError));
      return;
    }
    this.res.end(bridge.body());
    this.complete();
  }

  /** The held body outgrew the buffer limit: the upstream attempt is cancelled and the client answered 500 (Envoy). */
  private bridgeOverflowed(limit: number): void {
    this.heldHead = undefined;
    this.encoder?.destroy();
    this.encoder = undefined;
    this.terminate(bridgedResponseTooLarge(limit));
  }

  setIdleTimeout(ms: number): void {
    const socket = this.res.socket;
    if (socket === null || socket.destroyed) return;
    if (ms > 0 && this.res.listenerCount('timeout') === 0) this.res.on('timeout', onResponseTimeout);
    socket.setTimeout(Math.min(ms, MAX_TIMER_MS));
  }

  protected requestComplete(): boolean {
    return !this.hasBody || this.req.complete;
  }

  /** Writes `headers` (HTTP/2 form) as the status line and headers; false (nothing sent) when node refuses them. */
  private writeHead(headers: OutgoingHttpHeaders): boolean {
    const out: OutgoingHttpHeaders = {};
    for (const name in headers) {
      if (name.charCodeAt(0) !== 58 && !HOP_BY_HOP.has(name)) out[name] = headers[name];
    }
    try {
      this.res.writeHead(Number(headers[':status']), out);
      return true;
    } catch (error) {
      this.headError = error;
      // Headers set by a refused writeHead stay on the response: a local reply starts from a clean slate.
      for (const name of this.res.getHeaderNames()) this.res.removeHeader(name);
      return false;
    }
  }

  private complete(): void {
    this.done = true;
    if (!this.req.readableEnded) this.req.resume();
  }
}

/** An HTTP/1.1 request as a local reply's filters read it (Host as the authority). */
export function http1ReplySource(req: IncomingMessage): HeaderSource {
  const pseudo = { authority: req.headers.host ?? '', path: req.url ?? '', method: req.method ?? '' };
  return { ...pseudo, headers: new HeaderView(req.headers, pseudo) };
}
