/**
 * An undici Dispatcher that sends each request through the mesh: routes by the origin's host
 * (the logical authority) and the path, picks an endpoint, and forwards to that endpoint's pool
 * with `Host` kept as the logical authority.
 *
 * A call the mesh ends before any response reached the caller (no route, rate limited, fault
 * abort, no healthy upstream, circuit open, timeout, connect failure or reset after the retries)
 * gets the local reply the sidecar (and Envoy) would send: the error's HTTP status, a short text
 * body and `x-xmesh-error-code`, so `fetch` resolves with the same Response in either mode. The
 * caller's own abort, a closed mesh and a sidecar (in sidecar mode) that cannot be reached reach the
 * handler's error callback instead (undici's `fetch` wraps the error: `err.cause`).
 *
 * On a route with a retry policy the request body is kept, up to the route's buffer limit, so a
 * retried request sends the same bytes again (`retry/request-body.ts`); an upstream whose bytes are
 * not HTTP (status 0, an unparsable status line, headers over undici's limit) gets Envoy's protocol
 * error reply, XMESH_UPSTREAM_PROTOCOL (502).
 *
 * Each attempt is its own undici handler. With `hedge_on_per_try_timeout`, a request whose body was
 * read whole keeps its timed-out attempt running beside the retry: the first response the retry layer
 * takes is the caller's, every other attempt is aborted and its response dropped. A body still being
 * streamed is not raced (its per-try timeout aborts the attempt as before).
 */
import { createRequire } from 'node:module';
import type { DecoratorHandler, Dispatcher as UndiciDispatcher } from 'undici';
import { ErrorCode, MeshError, isMeshError, parseGrpcStatus, type HeaderMap } from '@xmesh/core';
import { PipelineCall } from './pipeline-call.js';
import type { Invoke } from './pipeline.js';
import type { MeshState } from './mesh-state.js';
import { CLIENT_CLOSED_REQUEST } from '@xmesh/breaker';
import { BridgedResponse, bridgedResponseTooLarge, decodeError, type AttemptResult, type BufferedBody, type ResponseCompression } from '@xmesh/filters';
import { Readable, type Transform } from 'node:stream';
import type { RouteDecision } from '@xmesh/router';
import { traceHeadersFor, type TraceHeaders } from './observability/trace-propagation.js';
import { callLocalReplyRewrite, localReply } from './local-reply.js';
import { addHeaderOptions, firstValue, headerText, removeHeaders } from './header-options.js';
import { isConnectError, isHttp1ProtocolError } from './connect-error.js';
import { bodyBufferLimit, bufferRequestBody, requestBodyOf, stopReading, type BodyObserver, type RequestBody } from './retry/request-body.js';
import { embeddedRewrite, isRouterReply } from './upstream-rewrite.js';
import { editHeaderRecord } from './retry/router-headers.js';
import { RecordHeaders } from '@xmesh/router';
import { tlsFailureOf } from '@xmesh/tls';
import type { MirrorRequest } from './mirror/shadow-call.js';
import { copyHeaders } from './mirror/mirror-request.js';
import { undici } from './lazy-deps.js';

/** node:http's values without an ESM import of it: that import evaluates every export, and its lazy WebSocket ones load Node's bundled undici (~5 MiB RSS). */
const { STATUS_CODES } = process.getBuiltinModule('node:http');

type Handler = UndiciDispatcher.DispatchHandler;
type Controller = UndiciDispatcher.DispatchController;
type Headers = Record<string, string | string[] | undefined>;
const NO_TRAILERS: Headers = Object.freeze({});

export interface MeshDispatcherHost {
  /** The current state, or the error new requests fail with (e.g. XMESH_CLOSED). */
  state(): MeshState | MeshError;
  readonly invoke: Invoke<HttpAttempt>;
  /** The Listener every request must use (`mesh.fetch` of an `xds:///` URL); undefined for authority routing. */
  readonly listener?: string;
}

/** One pass of an HTTP request through the pipeline; undici's handler of its upstream request. */
export class HttpAttempt extends PipelineCall implements Handler {
  /** @internal undici's controller of this attempt's upstream request, once it started. */
  upstream: Controller | undefined = undefined;
  /**
   * @internal This attempt's response is not the caller's: a retry replaced it, or another attempt's
   * response was taken first (hedging). Its late callbacks only release it.
   */
  stale = false;
  /** @internal The upstream's response headers arrived, or its request failed: a retry can no longer race it. */
  answered = false;

  constructor(
    readonly exchange: HttpExchange,
    state: MeshState,
    request: { authority: string; path: string; method: string; headers: HeaderMap; grpc: boolean; listener?: string | undefined },
  ) {
    super(state, request, Infinity);
  }

  fail(error: MeshError): void {
    this.finish({ kind: 'local_error', httpStatus: 0, grpcStatus: undefined, latencyMs: this.elapsed() });
    // A hedging loser reset before it went upstream: the call goes on with the winner.
    if (this.stale) return;
    this.retry?.end();
    this.exchange.fail(error);
  }

  override nextAttempt(): HttpAttempt | undefined {
    return this.exchange.retryAttempt(this);
  }

  override mirrorRequest(bodyLimit: number): MirrorRequest {
    return this.exchange.mirrorRequest(this, bodyLimit);
  }

  override abortAttempt(error: MeshError): void {
    if (!this.exchange.abortUpstream(this, error)) super.abortAttempt(error);
  }

  /** A retry may race this attempt: see `HttpExchange.canRace`. */
  override get hedgeable(): boolean {
    return this.exchange.canRace(this);
  }

  onRequestStart(controller: Controller): void {
    this.exchange.requestStarted(this, controller);
  }

  onRequestUpgrade(controller: Controller, statusCode: number, headers: Headers, socket: import('node:stream').Duplex): void {
    this.exchange.upgraded(this, controller, statusCode, headers, socket);
  }

  onResponseStart(controller: Controller, statusCode: number, headers: Headers, statusMessage?: string): void {
    this.exchange.responseStarted(this, controller, statusCode, headers, statusMessage);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    this.exchange.responseData(this, controller, chunk);
  }

  onResponseEnd(controller: Controller, trailers: Headers): void {
    this.exchange.responseEnded(this, upstreamTrailers(controller, trailers));
  }

  onResponseError(controller: Controller, error: Error): void {
    this.exchange.responseFailed(this, error);
  }

  /** The compressor filters' response compression, kept by the exchange (every attempt's response goes there). */
  get compression(): ResponseCompression | undefined {
    return this.exchange.compression;
  }

  set compression(compression: ResponseCompression | undefined) {
    this.exchange.compression = compression;
  }

  /** The gRPC HTTP/1.1 bridge (FilterCall.bridgeGrpcResponse): the caller gets the response whole once it ended. */
  bridgeGrpcResponse(limit: number): void {
    this.exchange.bridgeGrpcResponse(limit);
  }

  /** A decompressor filter: the request body goes upstream decoded. */
  decodeRequestBody(decoder: Transform): void {
    this.exchange.decodeRequestBody(decoder);
  }

  /** Reads the caller's body for a filter; the request then sends what was read (and the rest). */
  bufferBody(limit: number, partial: boolean, done: (body: BufferedBody) => void): void {
    this.exchange.bufferBody(limit, partial, done);
  }
}

/** The pipeline's terminal for HTTP: the picked endpoint's undici pool. */
export const httpTransport: Invoke<HttpAttempt> = (attempt) => {
  // No cluster in sidecar mode: the sidecar's listener takes HTTP/1.1, and h2c for gRPC.
  const h2 = attempt.cluster?.config.http2 ?? attempt.request.grpc;
  attempt.exchange.forward(attempt, attempt.transports!.http(h2), h2);
};

/**
 * undici's `Dispatcher` base class, from its own file rather than the package's index, so that importing
 * this module does not load undici. The index adds `request`, `stream`, `pipeline`... to this class's
 * prototype; a `MeshDispatcher` loads it before it is made (`undici()`), so every instance has them.
 */
const Dispatcher = createRequire(import.meta.url)('undici/lib/dispatcher/dispatcher.js') as typeof UndiciDispatcher;

export class MeshDispatcher extends Dispatcher {
  constructor(private readonly host: MeshDispatcherHost) {
    undici();
    super();
  }

  override dispatch(options: UndiciDispatcher.DispatchOptions, handler: Handler): boolean {
    const exchange = new HttpExchange(options, handler);
    const state = this.host.state();
    if (state instanceof MeshError) {
      exchange.fail(state);
      return true;
    }
    let url: URL;
    try {
      url = new URL(String(options.origin ?? ''));
    } catch {
      exchange.fail(new MeshError('XMESH_NO_ROUTE', `request has no usable origin: ${String(options.origin)}`));
      return true;
    }
    const headers = headerMapOf(options.headers, url.host, options);
    headers.set(':scheme', url.protocol === 'https:' ? 'https' : 'http');
    // undici's upgrade requests (WebSocket) carry the upgrade in `upgrade`, not in their headers: the route and
    // the listener's upgrade_configs see it as an Upgrade header.
    if (typeof options.upgrade === 'string' && options.upgrade !== '') {
      headers.set('upgrade', options.upgrade);
      headers.set('connection', 'upgrade');
    }
    const request = {
      authority: headers.get('host') ?? url.host,
      path: options.path,
      method: options.method,
      headers,
      grpc: (headers.get('content-type') ?? '').startsWith('application/grpc'),
      listener: this.host.listener,
    };
    const attempt = new HttpAttempt(exchange, state, request);
    exchange.attempt = attempt;
    this.host.invoke(attempt);
    return true;
  }

  /** The mesh owns the connections; closing the dispatcher alone does nothing. */
  override close(): Promise<void> {
    return Promise.resolve();
  }

  override destroy(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The upstream's trailers. undici 7 hands an HTTP/2 response's trailers to handlers of its newer API as `{}`: its
 * adapter parses them as a raw header list, while its HTTP/2 client gives an object. That object is also kept on the
 * controller (`rawTrailers`): read there, so gRPC statuses and other trailers reach the caller.
 */
function upstreamTrailers(controller: Controller, trailers: Headers): Headers {
  const raw = (controller as { rawTrailers?: unknown }).rawTrailers;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return trailers;
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof value === 'string' || Array.isArray(value)) out[name] = value as string | string[];
    else if (value !== undefined) out[name] = String(value);
  }
  return out as Headers;
}

/**
 * One request's handler side. The caller's handler sees a single controller from the start, so it can
 * abort while the request waits for an endpoint; the upstream controller replaces it once forwarded.
 */
export class HttpExchange implements BodyObserver {
  /** The attempt whose response is (or will be) the caller's: the newest, or with hedging the one that answered first. */
  attempt: HttpAttempt | undefined = undefined;
  private readonly inner: Required<Pick<Handler, 'onRequestStart' | 'onRequestUpgrade' | 'onResponseStart' | 'onResponseData' | 'onResponseEnd' | 'onResponseError'>>;
  /** Hedging: attempts a retry replaced while their upstream request still runs (until they answer or fail). */
  private racing: Set<HttpAttempt> | undefined = undefined;
  /** A response reached the caller: no retry from here on. */
  private committed = false;
  private ended = false;
  private status = 0;
  private readonly controller: Controller;
  /** The trace headers every attempt of this request sends (computed by the first attempt to go upstream). */
  private trace: TraceHeaders | undefined | null = null;
  /** The request body as each attempt sends it (kept for retries within the route's buffer limit); set at the first forward. */
  private body: RequestBody | undefined = undefined;
  /** The compressor filters of the call: the caller gets the response as a sidecar's client would. */
  compression: ResponseCompression | undefined = undefined;
  /** Why the request body could not be decompressed (a decompressor filter): the call's answer. */
  private decodeFailure: MeshError | undefined = undefined;
  /** The response body's encoder when it is compressed; it writes to the caller. */
  private encoder: Transform | undefined = undefined;
  /** The gRPC HTTP/1.1 bridge holds the response until it ends (see bridgeGrpcResponse); undefined when it does not. */
  private bridge: BridgedResponse | undefined = undefined;
  /** The response the bridge holds: its status and headers as they would have gone to the caller. */
  private held: { readonly status: number; readonly headers: Headers } | undefined = undefined;

  constructor(
    /** The request; its body is replaced when a filter read it (`bufferBody`). */
    private options: UndiciDispatcher.DispatchOptions,
    handler: Handler,
  ) {
    this.inner = new (undici().DecoratorHandler)(handler) as unknown as HttpExchange['inner'];
    this.controller = this.meshController();
    this.inner.onRequestStart(this.controller, {});
  }

  /**
   * Pipeline terminal: sends the request to `pool` with the logical Host. On a `multiplexed` (HTTP/2)
   * connection every request is dispatched as `idempotent`: undici otherwise holds a POST back until no
   * other request runs on the connection (a rule for pipelined HTTP/1.1, where a failure could not be
   * told apart), and an endpoint's POSTs would go one at a time. The mesh's own retry policy decides
   * what is sent again, never undici.
   */
  forward(attempt: HttpAttempt, pool: UndiciDispatcher, multiplexed: boolean): void {
    if (this.ended || attempt.stale) {
      attempt.finish({ kind: 'local_error', httpStatus: 0, grpcStatus: undefined, latencyMs: 0 });
      return;
    }
    const headers = withHost(this.options.headers, attempt.request.authority);
    if (this.trace === null) this.trace = traceHeadersFor(attempt, headers, headerText);
    if (this.trace !== undefined) Object.assign(headers, this.trace);
    if (attempt.requestHeadersToAdd !== undefined) addHeaderOptions(headers, attempt.requestHeadersToAdd);
    removeHeaders(headers, attempt.requestHeadersToRemove);
    if (attempt.upstreamEdits !== undefined) editHeaderRecord(headers, attempt.upstreamEdits);
    if (multiplexed && this.body === undefined && this.readsAheadOnMultiplexed(headers, attempt)) return;
    // A body is kept (within the limit) when it may be sent again: for a retry, or as a mirror's copy.
    const keep = attempt.retry?.canRetry === true || attempt.decision?.route.action.requestMirrorPolicies !== undefined;
    this.body ??= requestBodyOf(this.options.body, keep, bodyBufferLimit(attempt.decision), this);
    const { origin: _origin, ...options } = this.options;
    const rest = multiplexed ? { ...options, idempotent: true } : options;
    const rewrite = embeddedRewrite(attempt);
    if (rewrite === undefined) {
      pool.dispatch({ ...rest, headers, body: this.body.forAttempt() as UndiciDispatcher.DispatchOptions['body'] }, attempt);
      return;
    }
    // The route's rewrite, after the filters' headers (Envoy's router finalizes the request last).
    const upstream = rewrite.rewriteRequest(new RecordHeaders(headers), attempt.request, attempt.endpoint, firstValue(headers.host) ?? attempt.request.authority, this.options.path);
    if (upstream instanceof MeshError) {
      attempt.finish({ kind: 'local_error', httpStatus: upstream.httpStatus, grpcStatus: undefined, latencyMs: attempt.elapsed() });
      attempt.retry?.end();
      this.fail(upstream);
      return;
    }
    headers.host = upstream.authority;
    pool.dispatch({ ...rest, path: upstream.path, headers, body: this.body.forAttempt() as UndiciDispatcher.DispatchOptions['body'] }, attempt);
  }

  /**
   * undici sends a streamed body (what `fetch` hands a dispatcher, whatever the caller's body was) on an
   * HTTP/2 connection only when no other request runs there. A streamed body whose `content-length` is
   * known and within the route's buffer limit is therefore read first (it is usually there already) and
   * attempt forwarded with the bytes; true when that read was started or is under way (the attempt then
   * waits for it).
   */
  private readsAheadOnMultiplexed(headers: Record<string, string | string[]>, attempt: HttpAttempt): boolean {
    if (this.readingAhead) {
      this.waitingForBody = attempt;
      return true;
    }
    const body = this.options.body;
    if (body === null || body === undefined || typeof body === 'string' || body instanceof Uint8Array) return false;
    const length = Number(firstValue(headers['content-length']));
    if (!Number.isInteger(length) || length <= 0 || length > bodyBufferLimit(attempt.decision)) return false;
    this.readingAhead = true;
    this.waitingForBody = attempt;
    this.bufferBody(length, true, () => {
      this.readingAhead = false;
      const waiting = this.waitingForBody;
      this.waitingForBody = undefined;
      // The attempt that last asked, if it is still the call's (a per-try timeout may have replaced it), on its own endpoint.
      if (waiting !== undefined && waiting === this.attempt && !this.ended) this.forward(waiting, waiting.transports!.http(true), true);
    });
    return true;
  }

  /** A streamed body is being read ahead (see readsAheadOnMultiplexed), for `waitingForBody`. */
  private readingAhead = false;
  private waitingForBody: HttpAttempt | undefined = undefined;

  /** A mirror's copy: the request's headers and, once the attempts read it, its whole body (kept within `bodyLimit`). */
  mirrorRequest(attempt: HttpAttempt, bodyLimit: number): MirrorRequest {
    this.body ??= requestBodyOf(this.options.body, true, bodyLimit);
    const headers = copyHeaders(withHost(this.options.headers, attempt.request.authority), attempt.requestHeadersToAdd, attempt.request.grpc);
    if (this.trace !== null && this.trace !== undefined) Object.assign(headers, this.trace);
    return { method: this.options.method, path: this.options.path, authority: attempt.request.authority, grpc: attempt.request.grpc, headers, body: this.body.copy() };
  }

  /** Reads the request body for a filter (see bufferRequestBody); the caller's body failing ends the call with its error. */
  bufferBody(limit: number, partial: boolean, done: (body: BufferedBody) => void): void {
    bufferRequestBody(this.options.body, limit, partial, (read, replacement) => {
      if (this.ended) return;
      if (read instanceof Error) {
        this.ended = true;
        this.attempt?.cancel(new MeshError(ErrorCode.CANCELLED, `the request body failed: ${read.message}`, { cause: read }));
        this.attempt?.finish({ kind: 'local_error', httpStatus: 0, grpcStatus: undefined, latencyMs: this.attempt.elapsed() });
        this.inner.onResponseError(this.controller, read);
        return;
      }
      if (read !== 'too_large') this.options = { ...this.options, body: replacement as UndiciDispatcher.DispatchOptions['body'] };
      done(read);
    });
  }

  /** The caller's body goes upstream through `decoder`; a decoder error ends the call with its local reply (400). */
  decodeRequestBody(decoder: Transform): void {
    const body = this.options.body;
    if (body === undefined || body === null) {
      decoder.destroy();
      return;
    }
    const source = body instanceof Readable ? body : Readable.from(typeof body === 'string' || body instanceof Uint8Array ? [body] : (body as Iterable<Uint8Array>));
    source.on('error', (error: Error) => decoder.destroy(error));
    decoder.on('error', (error: Error) => {
      if (this.decodeFailure !== undefined) return;
      this.decodeFailure = decodeError(error);
      source.unpipe(decoder);
    });
    source.pipe(decoder);
    this.options = { ...this.options, body: decoder as unknown as UndiciDispatcher.DispatchOptions['body'] };
  }

  /** A retry of `previous` when the request body can be sent again (kept whole, within the buffer limit); the new attempt becomes current. */
  retryAttempt(previous: HttpAttempt): HttpAttempt | undefined {
    if (this.ended || this.committed || previous !== this.attempt || this.body?.replayable === false) return undefined;
    // Hedging: the previous attempt's request still runs; it races the new one.
    if (previous.upstream !== undefined && !previous.answered) (this.racing ??= new Set()).add(previous);
    const next = new HttpAttempt(this, previous.state, previous.request);
    this.attempt = next;
    return next;
  }

  /**
   * Aborts `attempt`'s upstream request with `error`; false when the call's attempt has none (yet). An
   * attempt that is not the call's (a hedging loser) without one never goes upstream.
   */
  abortUpstream(attempt: HttpAttempt, error: MeshError): boolean {
    const upstream = attempt.upstream;
    if (upstream !== undefined) {
      upstream.abort(error);
      return true;
    }
    if (attempt === this.attempt) return false;
    attempt.stale = true;
    attempt.cancel(error);
    return true;
  }

  /**
   * True when a retry can race `attempt` (`hedge_on_per_try_timeout`): it is the call's attempt, its
   * request went upstream with the whole body (read and kept), and no response arrived. A body still
   * being streamed is not raced, as Envoy hedges only a complete request.
   */
  canRace(attempt: HttpAttempt): boolean {
    return attempt === this.attempt && attempt.upstream !== undefined && !attempt.answered && !this.committed && !this.ended && this.body?.whole === true;
  }

  fail(error: MeshError): void {
    if (this.ended) return;
    this.ended = true;
    this.closeBody(error);
    if (error.code === ErrorCode.CANCELLED || error.code === ErrorCode.CLOSED) this.inner.onResponseError(this.controller, error);
    else this.replyLocally(error);
  }

  /** Answers the caller with the local reply for `error`, as the sidecar would. */
  private replyLocally(error: MeshError): void {
    const reply = localReply(error, this.attempt?.request.grpc ?? false, callLocalReplyRewrite(this.attempt, error));
    const status = Number(reply.headers[':status']);
    const headers: Record<string, string | string[]> = {};
    for (const name in reply.headers) if (name !== ':status') headers[name] = String(reply.headers[name]);
    const added = this.attempt?.responseHeadersToAdd;
    if (added !== undefined) Object.assign(headers, added);
    const rewrite = this.attempt === undefined ? undefined : embeddedRewrite(this.attempt);
    if (rewrite?.mutatesResponseHeaders === true && isRouterReply(error)) rewrite.responseHeaders(new RecordHeaders(headers), this.attempt!.request);
    this.inner.onResponseStart(this.controller, status, headers as never, STATUS_CODES[status]);
    if (reply.body !== undefined) this.inner.onResponseData(this.controller, Buffer.from(reply.body));
    this.inner.onResponseEnd(this.controller, {} as never);
  }

  /** @internal `attempt`'s upstream request started (undici's onRequestStart). */
  requestStarted(attempt: HttpAttempt, controller: Controller): void {
    attempt.upstream = controller;
    if (this.controller.aborted) controller.abort(this.controller.reason as Error);
    // The call already ended (a timeout while the request waited in the pool): it must not go out late.
    else if (this.ended) controller.abort(new Error('the mesh already answered this request'));
    // A hedging loser reset while it waited in the pool.
    else if (attempt.stale) controller.abort(new Error('another attempt answered first'));
  }

  /** @internal undici's onRequestUpgrade of `attempt`. */
  upgraded(attempt: HttpAttempt, controller: Controller, statusCode: number, headers: Headers, socket: import('node:stream').Duplex): void {
    if (attempt.stale || attempt !== this.attempt) {
      controller.abort(new Error('another attempt answered first'));
      return;
    }
    this.inner.onRequestUpgrade(this.controller, statusCode, headers as never, socket);
  }

  /** @internal undici's onResponseStart of `attempt`. */
  responseStarted(attempt: HttpAttempt, controller: Controller, statusCode: number, headers: Headers, statusMessage?: string): void {
    if (attempt.stale || this.ended) {
      controller.abort(new Error(this.ended ? 'the mesh already answered this request' : 'another attempt answered first'));
      return;
    }
    if (!(statusCode >= 100)) {
      // `HTTP/1.1 000`, `099`: no HTTP status. The upstream broke the protocol: this attempt ends as a protocol error.
      controller.abort(new MeshError(ErrorCode.UPSTREAM_PROTOCOL, `the upstream sent an invalid HTTP status (${statusCode})`, { cluster: attempt?.decision?.cluster, endpoint: attempt?.endpoint?.id }));
      return;
    }
    if (statusCode < 200) {
      // Informational (1xx): not the response; the final one follows (a racing attempt's are not the caller's).
      if (attempt === this.attempt && this.racing === undefined) this.inner.onResponseStart(this.controller, statusCode, headers as never, statusMessage);
      return;
    }
    attempt.answered = true;
    const racing = this.racing;
    const newest = this.attempt;
    // Hedging: whichever attempt answers is the call's while the retry layer looks at its response; the
    // others it resets are then not, and never go upstream if they have not yet.
    if (racing !== undefined) {
      racing.delete(attempt);
      this.attempt = attempt;
    }
    const retry = this.committed ? undefined : attempt.retry;
    if (retry?.canRetry === true && retry.retryOnResponse(attempt, responseResult(statusCode, headers, attempt.decision))) {
      // A new attempt replaced this one, or (hedging) another may still answer: drop this response.
      if (this.attempt === attempt && newest !== undefined) this.attempt = newest;
      attempt.stale = true;
      attempt.finish({ kind: statusCode >= 500 ? 'upstream_error' : 'success', httpStatus: statusCode, grpcStatus: undefined, latencyMs: attempt.elapsed() });
      controller.abort(new Error('response replaced by a retry'));
      return;
    }
    if (racing !== undefined) {
      // This response is the caller's: every other attempt (reset by the retry layer) is dropped.
      this.racing = undefined;
      for (const other of racing) other.stale = true;
      if (newest !== undefined && newest !== attempt) newest.stale = true;
    }
    this.committed = true;
    this.body?.release();
    this.status = statusCode;
    attempt?.retry?.streamActive();
    const added = attempt?.responseHeadersToAdd;
    let response = added === undefined ? headers : { ...headers, ...added };
    const rewrite = attempt === undefined ? undefined : embeddedRewrite(attempt);
    if (rewrite?.mutatesResponseHeaders === true) {
      if (response === headers) response = { ...headers };
      rewrite.responseHeaders(new RecordHeaders(response), attempt!.request);
    }
    if (this.compression !== undefined) response = this.compressing(controller, statusCode, response);
    if (this.bridge !== undefined) {
      this.held = { status: statusCode, headers: response };
      return;
    }
    this.inner.onResponseStart(this.controller, statusCode, response as never, statusMessage);
  }

  /**
   * Whether the caller gets the upstream's trailers: as a sidecar's HTTP/1.1 client gets them, only when the listener's
   * `http_protocol_options.enable_trailers` is set (Envoy's default drops them); in sidecar mode the sidecar decides.
   */
  private forwardsTrailers(): boolean {
    const attempt = this.attempt;
    return attempt?.mode === 'sidecar' || attempt?.decision?.listener?.protection.http1Trailers === true;
  }

  /** @internal The gRPC HTTP/1.1 bridge: the response is held, then given whole with its trailers' status as headers. */
  bridgeGrpcResponse(limit: number): void {
    this.bridge ??= new BridgedResponse(limit);
  }

  /** A chunk of the response body for the caller: held while the bridge holds the response. */
  private deliver(upstream: Controller, chunk: Buffer): void {
    if (this.held === undefined) {
      this.inner.onResponseData(this.controller, chunk);
      return;
    }
    const bridge = this.bridge!;
    if (bridge.hold(chunk)) return;
    // Over the buffer limit: the upstream request is cancelled and the caller answered 500, as Envoy answers.
    this.held = undefined;
    const error = bridgedResponseTooLarge(bridge.limit);
    this.end('local_error');
    upstream.abort(error);
    this.replyLocally(error);
  }

  /** The end of the response for the caller: the held response, whole, when the bridge holds it. */
  private deliverEnd(trailers: Headers): void {
    const held = this.held;
    if (held === undefined) {
      this.inner.onResponseEnd(this.controller, (this.forwardsTrailers() ? trailers : NO_TRAILERS) as never);
      return;
    }
    this.held = undefined;
    const bridge = this.bridge!;
    const head = bridge.head(held.status, held.headers, trailers);
    this.inner.onResponseStart(this.controller, head.status, head.headers as never, STATUS_CODES[head.status]);
    const body = bridge.body();
    if (body.length > 0) this.inner.onResponseData(this.controller, body);
    this.inner.onResponseEnd(this.controller, {} as never);
  }

  /** The compressor filters decide on the response; an encoder they start passes the body on to the caller. */
  private compressing(upstream: Controller, statusCode: number, headers: Headers): Headers {
    const out: Record<string, string | string[] | number | undefined> = { ...headers, ':status': statusCode };
    // Whether the body is empty is not known from the headers (begin itself reads HEAD, 204, 304 and 1xx).
    const encoder = this.compression!.begin(out, false);
    delete out[':status'];
    if (encoder !== undefined) {
      this.encoder = encoder;
      encoder.on('data', (chunk: Buffer) => {
        if (this.encoder === encoder) this.deliver(upstream, chunk);
      });
      encoder.on('drain', () => upstream.resume());
      encoder.on('error', (error: Error) => {
        if (this.encoder !== encoder) return;
        this.encoder = undefined;
        // A body that cannot be decoded (corrupt, or over max_inflate_ratio): the caller's body read fails.
        if (this.ended) this.inner.onResponseError(this.controller, decodeError(error));
        else upstream.abort(decodeError(error));
      });
    }
    return out as Headers;
  }

  /** @internal undici's onResponseData of `attempt`. */
  responseData(attempt: HttpAttempt, controller: Controller, chunk: Buffer): void {
    if (attempt.stale || attempt !== this.attempt || this.ended) return;
    this.attempt?.retry?.streamActive();
    const encoder = this.encoder;
    if (encoder === undefined) this.deliver(controller, chunk);
    else if (!encoder.write(chunk)) controller.pause();
  }

  /** @internal undici's onResponseEnd of `attempt`. */
  responseEnded(attempt: HttpAttempt, trailers: Headers): void {
    if (attempt.stale) {
      this.released(attempt);
      return;
    }
    if (attempt !== this.attempt || this.ended) return;
    const encoder = this.encoder;
    this.end(this.status >= 500 ? 'upstream_error' : 'success');
    if (encoder === undefined) {
      this.deliverEnd(trailers);
      return;
    }
    // The encoder's last bytes reach the caller before its end.
    encoder.once('end', () => {
      if (this.encoder === encoder) this.deliverEnd(trailers);
    });
    encoder.end();
  }

  /** A dropped attempt's upstream request ended: released, as a request its caller gave up (outlier detection does not count it). */
  private released(attempt: HttpAttempt): void {
    attempt.finish({ kind: 'local_error', httpStatus: CLIENT_CLOSED_REQUEST, grpcStatus: undefined, latencyMs: attempt.elapsed() });
  }

  /** @internal undici's onResponseError of `attempt`. */
  responseFailed(attempt: HttpAttempt, error: Error): void {
    if (attempt.stale) {
      this.released(attempt);
      return;
    }
    attempt.answered = true;
    const racing = this.racing;
    if (racing !== undefined && attempt !== this.attempt) {
      // Hedging: an attempt that was racing failed before any response was taken; the retry layer drops
      // its end (the call goes on with another), or it is the call's end (then this attempt is the call's).
      racing.delete(attempt);
      if (!this.ended && !this.committed && !this.controller.aborted) {
        attempt.finish({ kind: 'local_error', httpStatus: 0, grpcStatus: undefined, latencyMs: attempt.elapsed() });
        if (attempt.retry?.onAttemptEnd(attempt, failureResult(error), false) !== false) return;
      }
      if (!this.ended) this.attempt = attempt;
    }
    const encoder = this.encoder;
    this.encoder = undefined;
    encoder?.destroy();
    const decodeFailure = this.decodeFailure;
    if (decodeFailure !== undefined && !this.ended && !this.committed) {
      // The request body could not be decompressed: the caller's own error, answered as the sidecar answers it (never retried).
      this.end('local_error');
      this.closeBody(decodeFailure);
      this.replyLocally(decodeFailure);
      return;
    }
    if (this.ended) {
      // The caller already has its end (its own abort, or the mesh's reply): release this attempt only.
      attempt?.finish({ kind: 'local_error', httpStatus: this.controller.aborted ? CLIENT_CLOSED_REQUEST : 0, grpcStatus: undefined, latencyMs: attempt.elapsed() });
      attempt?.retry?.end();
      return;
    }
    // The caller's own body failed: that is the caller's error, not the upstream's; it is not retried.
    const bodyError = this.body?.sourceError;
    if (!this.committed && attempt?.retry !== undefined && !this.controller.aborted && bodyError === undefined) {
      attempt.finish({ kind: 'local_error', httpStatus: 0, grpcStatus: undefined, latencyMs: attempt.elapsed() });
      if (attempt.retry.onAttemptEnd(attempt, failureResult(error), false)) return;
    }
    const committed = this.committed;
    this.end('local_error');
    // In sidecar mode the sidecar answers for the mesh; not reaching it is the caller's error, as with any sidecar.
    // A pool destroyed under the call is the mesh closing, not an upstream reset.
    if (committed || this.controller.aborted || attempt?.mode === 'sidecar' || isPoolDestroyed(error) || bodyError !== undefined) this.inner.onResponseError(this.controller, bodyError ?? error);
    else this.replyLocally(upstreamFailure(error, attempt));
  }

  /** @internal A chunk of the caller's body is going upstream: traffic for the stream idle timeout. */
  bodyChunkSent(): void {
    this.attempt?.retry?.streamActive();
  }

  /** Stops reading the caller's body: the call ended before any attempt will read it again. */
  private closeBody(error: Error): void {
    if (this.body !== undefined) this.body.close(error);
    else stopReading(this.options.body, error);
  }

  private end(kind: 'success' | 'upstream_error' | 'local_error'): void {
    if (this.ended) return;
    this.ended = true;
    const attempt = this.attempt;
    // An attempt its caller aborted is reported as a 499 local end, which outlier detection does not count.
    const httpStatus = kind === 'local_error' && this.controller.aborted ? CLIENT_CLOSED_REQUEST : this.status;
    attempt?.finish({ kind, httpStatus, grpcStatus: undefined, latencyMs: attempt.elapsed() });
    attempt?.retry?.onAttemptEnd(attempt, { httpStatus: this.status, grpcStatus: undefined, failure: kind === 'local_error' ? 'reset' : 'none', headers: undefined }, true);
  }

  private meshController(): Controller {
    let aborted = false;
    let reason: Error | null = null;
    const self = this;
    return {
      get aborted() { return aborted; },
      get reason() { return reason; },
      get paused() { return self.attempt?.upstream?.paused ?? false; },
      pause: () => self.attempt?.upstream?.pause(),
      resume: () => self.attempt?.upstream?.resume(),
      abort: (why?: Error) => {
        if (aborted) return;
        aborted = true;
        reason = why ?? new Error('aborted');
        const racing = self.racing;
        // Hedging: attempts racing the call's end with it (the first error ends the call).
        if (racing !== undefined) for (const other of racing) other.upstream?.abort(reason);
        const upstream = self.attempt?.upstream;
        if (upstream !== undefined) {
          upstream.abort(reason);
          return;
        }
        self.attempt?.cancel(new MeshError('XMESH_CANCELLED', reason.message, { cause: reason }));
        if (!self.ended) {
          self.ended = true;
          self.closeBody(reason);
          self.inner.onResponseError(self.controller, reason);
        }
      },
    } as Controller;
  }
}

/** Lower-cased request headers for routing, plus the pseudo-headers. */
function headerMapOf(raw: UndiciDispatcher.DispatchOptions['headers'], authority: string, options: UndiciDispatcher.DispatchOptions): Map<string, string> {
  const map = new Map<string, string>();
  forEachHeader(raw, (name, value) => {
    if (!map.has(name)) map.set(name, value);
  });
  map.set(':authority', map.get('host') ?? authority);
  map.set(':path', options.path);
  map.set(':method', options.method);
  return map;
}

/** The caller's headers with `host` set to the logical authority unless the caller set one. */
function withHost(raw: UndiciDispatcher.DispatchOptions['headers'], authority: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  forEachHeader(raw, (name, value) => {
    const prior = out[name];
    if (prior === undefined) out[name] = value;
    else if (Array.isArray(prior)) prior.push(value);
    else out[name] = [prior, value];
  });
  if (out.host === undefined) out.host = authority;
  return out;
}

/** Visits undici's header shapes: flat arrays, arrays of pairs, records, and iterables of pairs. */
function forEachHeader(raw: unknown, visit: (name: string, value: string) => void): void {
  if (raw == null) return;
  if (Array.isArray(raw)) {
    if (raw.length > 0 && Array.isArray(raw[0])) {
      for (const [k, v] of raw as [unknown, unknown][]) visit(String(k).toLowerCase(), String(v));
    } else {
      for (let i = 0; i + 1 < raw.length; i += 2) visit(String(raw[i]).toLowerCase(), String(raw[i + 1]));
    }
    return;
  }
  if (typeof (raw as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [k, v] of raw as Iterable<[unknown, unknown]>) visit(String(k).toLowerCase(), String(v));
    return;
  }
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const item of v) visit(k.toLowerCase(), String(item));
    else visit(k.toLowerCase(), String(v));
  }
}

/** Response headers as `retry_on` reads them; the header map is built only for non-2xx responses or when `retriable_headers` need it. */
function responseResult(status: number, headers: Headers, decision: RouteDecision | undefined): AttemptResult {
  const grpc = headers['grpc-status'];
  const grpcStatus = grpc === undefined ? undefined : parseGrpcStatus(grpc);
  const needHeaders = (decision?.route.action.retryPolicy?.retriableHeaders.length ?? 0) > 0;
  if (status < 300 && grpcStatus === undefined && !needHeaders) return { httpStatus: status, grpcStatus: undefined, failure: 'none', headers: undefined };
  const map = new Map<string, string>();
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined) map.set(name.toLowerCase(), Array.isArray(value) ? value.join(',') : value);
  }
  return { httpStatus: status, grpcStatus, failure: 'none', headers: map };
}

/** A transport error as `retry_on` reads it: refused connections are connect failures, the rest resets. */
function failureResult(error: Error): AttemptResult {
  return { httpStatus: 0, grpcStatus: undefined, failure: isConnectError(error) ? 'connect' : 'reset', headers: undefined };
}

function isPoolDestroyed(error: Error): boolean {
  return (error as { code?: string }).code === 'UND_ERR_DESTROYED';
}

/** An upstream failure before any response, as the mesh error its local reply is built from (a mesh timeout stays itself). */
function upstreamFailure(error: Error, attempt: HttpAttempt | undefined): MeshError {
  if (isMeshError(error)) return error;
  const details = { cluster: attempt?.decision?.cluster, endpoint: attempt?.endpoint?.id, cause: error };
  if (tlsFailureOf(error) !== undefined) return new MeshError(ErrorCode.TLS_HANDSHAKE_FAILED, error.message, details);
  if (isConnectError(error)) return new MeshError(ErrorCode.CONNECT_FAILED, `connection to the upstream failed: ${error.message}`, details);
  if (isHttp1ProtocolError(error)) return new MeshError(ErrorCode.UPSTREAM_PROTOCOL, `the upstream's response is not valid HTTP: ${error.message}`, details);
  return new MeshError(ErrorCode.UPSTREAM_RESET, `the upstream reset the request before responding: ${error.message}`, details);
}


