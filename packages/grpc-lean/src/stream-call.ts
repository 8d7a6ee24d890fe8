import { constants as h2, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { DispatchableCall, EndpointSessions } from './endpoint-sessions.js';
import { encodeMessageFrame, FrameReader, type FrameSink } from './frames.js';
import type { LeanSession } from './lean-session.js';
import { decodeGrpcMessage } from './metadata.js';
import type { LeanTransportOptions } from './options.js';
import { grpcStatusFromHttp } from '@xmesh/core';
import { GrpcStatus, parseGrpcStatus, statusFromRstCode } from './status.js';
import { attachStreamListeners } from './stream-listeners.js';

/** node:http2 copies headers and options per request, so both may be shared. */
const REQUEST_OPTIONS = Object.freeze({ endStream: false });

/**
 * The longest delay a node timer keeps (a longer one fires after 1 ms). A deadline further away
 * than this is not timed locally, as grpc-js does; `grpc-timeout` still carries it to the server.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Write completion as node streams report it. */
export type WriteDone = (error?: Error | null) => void;

/**
 * One gRPC call on an HTTP/2 stream: request headers, length-prefixed
 * messages, response headers, messages and the final status (from trailers,
 * a trailers-only response, RST_STREAM, the HTTP status or the connection).
 * Subclasses deliver the three response events; the final status is
 * delivered exactly once and nothing follows it.
 *
 * Stream events go through module-level functions that find the call on the
 * stream, so a call allocates no listener closures. Messages written before
 * the stream opens are kept; a call whose whole request is known before it
 * starts (half-closed) is retried once, transparently, when the server
 * refuses its stream without processing it (REFUSED_STREAM, GOAWAY).
 */
export abstract class StreamCall implements DispatchableCall, FrameSink {
  protected stream: ClientHttp2Stream | null = null;
  private session: LeanSession | null = null;
  private pendingFrames: Buffer[] | null = null;
  private pendingCallbacks: (WriteDone | undefined)[] | null = null;
  private halfClosed = false;
  private dispatched = false;
  private finished = false;
  private replayable = false;
  private retried = false;
  private deadlineTimer: NodeJS.Timeout | null = null;
  private gotResponseHeaders = false;
  private headersDelivered = false;
  private trailers: IncomingHttpHeaders | null = null;
  private httpStatus = 0;
  private streamError: Error | null = null;
  private readonly reader: FrameReader;

  constructor(
    protected readonly pool: EndpointSessions,
    protected readonly options: LeanTransportOptions,
    /** Request headers; a subclass may set them later, before it dispatches. */
    protected headers: OutgoingHttpHeaders,
    deadlineEpochMs: number,
  ) {
    this.reader = new FrameReader(options.maxReceiveMessageLength);
    if (deadlineEpochMs !== Infinity) {
      const remaining = deadlineEpochMs - Date.now();
      // NaN (an invalid Date) fails the comparison and is timed as already passed.
      if (!(remaining > MAX_TIMER_MS)) this.deadlineTimer = setTimeout(onDeadline, Math.max(0, remaining || 0), this);
    }
  }

  /** Response headers (not sent for trailers-only responses). */
  protected abstract deliverHeaders(headers: IncomingHttpHeaders): void;
  /** One response message, uncompressed, without its frame header. */
  protected abstract deliverMessage(message: Buffer): void;
  /** The final status; `trailers` is null when the call ended locally or the stream broke. */
  protected abstract deliverStatus(code: number, details: string, trailers: IncomingHttpHeaders | null): void;

  /**
   * True while a subclass holds the final status back (received messages wait to be read). The
   * deadline keeps running meanwhile, and a local end ({@link cancel}, the deadline) replaces the
   * held status through {@link replaceHeldStatus}: a call never outlives its deadline.
   */
  protected statusHeld(): boolean {
    return false;
  }

  /** A local end while the status is held: the subclass delivers `code` instead, at once. */
  protected replaceHeldStatus(_code: number, _details: string): void {}

  /** True once response headers (not a trailers-only response) arrived on the current stream. */
  protected get responseStarted(): boolean {
    return this.headersDelivered;
  }

  isFinished(): boolean {
    return this.finished;
  }

  /** Hands the call to the pool: the stream opens now or when a session has room. */
  protected dispatch(): void {
    if (this.dispatched || this.finished) return;
    this.dispatched = true;
    this.replayable = this.halfClosed;
    this.pool.dispatch(this);
  }

  /** Sends one message (framed and, if configured, compressed). */
  protected writeMessage(message: Uint8Array, compress: boolean, done: WriteDone | undefined): void {
    if (this.finished || this.halfClosed) {
      done?.(null);
      return;
    }
    if (message.length > this.options.maxSendMessageLength) {
      this.cancel(GrpcStatus.RESOURCE_EXHAUSTED, `Sent message larger than max (${message.length} vs. ${this.options.maxSendMessageLength})`);
      done?.(null);
      return;
    }
    const frame = encodeMessageFrame(message, compress ? this.options.sendCompression : 'identity');
    if (this.stream !== null) {
      this.stream.write(frame, done);
      return;
    }
    const frames = (this.pendingFrames ??= []);
    frames.push(frame);
    // Callbacks line up with their frames; a call that passes none (unary) keeps no list.
    if (done !== undefined) (this.pendingCallbacks ??= new Array<WriteDone | undefined>(frames.length - 1)).push(done);
    else this.pendingCallbacks?.push(undefined);
  }

  /** Ends the request side. */
  protected closeSend(): void {
    if (this.halfClosed || this.finished) return;
    this.halfClosed = true;
    if (this.stream !== null) this.stream.end();
  }

  /** Ends the call locally with `code`; the server sees RST_STREAM CANCEL. A status still held back is replaced. */
  cancel(code: number, details: string): void {
    if (this.finished) {
      if (this.statusHeld()) this.replaceHeldStatus(code, details);
      return;
    }
    const stream = this.stream;
    this.finish(code, details, null);
    if (stream !== null && !stream.destroyed) stream.close(h2.NGHTTP2_CANCEL);
  }

  /** @internal */
  startOn(session: LeanSession): void {
    if (this.finished) return;
    let stream: ClientHttp2Stream;
    try {
      stream = session.http2.request(this.headers, REQUEST_OPTIONS);
    } catch (error) {
      const message = (error as Error).message;
      if (!isSessionUnusable(session, error)) {
        // Bad request headers (e.g. an invalid metadata value): the connection is fine.
        this.failToStart(GrpcStatus.INTERNAL, `Failed to start call: ${message}`);
      } else if (!this.retried) {
        this.retried = true;
        session.drain();
        this.pool.dispatch(this);
      } else {
        this.failToStart(GrpcStatus.UNAVAILABLE, `Failed to start call: ${message}`);
      }
      return;
    }
    session.streamOpened();
    this.session = session;
    this.stream = stream;
    attachStreamListeners(stream, this);
    this.flushPending(stream);
  }

  /** @internal */
  failToStart(code: number, details: string): void {
    this.finish(code, details, null);
  }

  private flushPending(stream: ClientHttp2Stream): void {
    const frames = this.pendingFrames;
    const callbacks = this.pendingCallbacks;
    // A replayable call keeps its frames until it finishes; callbacks fire once.
    if (!this.replayable) this.pendingFrames = null;
    this.pendingCallbacks = null;
    if (frames === null) {
      if (this.halfClosed) stream.end();
      return;
    }
    const last = frames.length - 1;
    for (let i = 0; i < last; i++) stream.write(frames[i], callbacks?.[i]);
    if (this.halfClosed) stream.end(frames[last], callbacks?.[last]);
    else stream.write(frames[last], callbacks?.[last]);
  }

  /** @internal */
  handleResponse(headers: IncomingHttpHeaders): void {
    this.gotResponseHeaders = true;
    const encoding = headers['grpc-encoding'];
    if (typeof encoding === 'string') this.reader.encoding = encoding;
    if (headers['grpc-status'] !== undefined) {
      this.trailers = headers;
      return;
    }
    const status = Number(headers[':status'] ?? 0);
    const contentType = headers['content-type'];
    if (status !== 200 || contentType === undefined || !contentType.startsWith('application/grpc')) {
      this.httpStatus = status;
      const code = status === 200 ? GrpcStatus.UNKNOWN : grpcStatusFromHttp(status);
      this.cancel(code, `Received HTTP status ${status} with content-type ${contentType ?? 'none'}`);
      return;
    }
    if (this.finished) return;
    this.headersDelivered = true;
    this.deliverHeaders(headers);
  }

  /** @internal */
  handleData(chunk: Buffer): void {
    if (!this.finished) this.reader.push(chunk, this);
  }

  onFrameMessage(message: Buffer): void {
    if (!this.finished) this.deliverMessage(message);
  }

  onFrameError(code: number, details: string): void {
    this.cancel(code, details);
  }

  /** @internal */
  handleTrailers(trailers: IncomingHttpHeaders): void {
    this.trailers = trailers;
  }

  /** @internal */
  handleEnd(): void {
    if (this.trailers === null) return;
    this.finishFromTrailers(this.trailers);
    // The server is done; request data it will never read must not hold the stream open.
    const stream = this.stream;
    if (stream !== null && !stream.writableFinished && !stream.destroyed) stream.close(h2.NGHTTP2_CANCEL);
  }

  /** @internal */
  handleError(error: Error): void {
    this.streamError ??= error;
  }

  /** @internal */
  handleClose(stream: ClientHttp2Stream): void {
    const session = this.session;
    this.session = null;
    if (session !== null) this.pool.streamEnded(session);
    if (this.finished) return;
    if (this.trailers !== null) return this.finishFromTrailers(this.trailers);
    const rstCode = stream.rstCode ?? h2.NGHTTP2_NO_ERROR;
    if (!this.gotResponseHeaders && this.replayable && !this.retried && rstCode === h2.NGHTTP2_REFUSED_STREAM) {
      return this.replay();
    }
    if (this.reader.hasPartialFrame()) {
      return this.finish(GrpcStatus.INTERNAL, 'Stream ended in the middle of a message', null);
    }
    if (rstCode !== h2.NGHTTP2_NO_ERROR) {
      const connectionLost = session !== null && (session.http2.destroyed || session.http2.closed);
      const code = connectionLost ? GrpcStatus.UNAVAILABLE : statusFromRstCode(rstCode);
      return this.finish(code, `Received RST_STREAM with code ${rstCode}`, null);
    }
    if (this.streamError !== null) {
      return this.finish(GrpcStatus.UNAVAILABLE, `Connection error: ${this.streamError.message}`, null);
    }
    if (this.httpStatus !== 0) return this.finish(grpcStatusFromHttp(this.httpStatus), `Received HTTP status ${this.httpStatus}`, null);
    // Ended (or reset with NO_ERROR) without trailers: INTERNAL, in grpc-js's words (grpc-go and grpc-java agree on the code).
    this.finish(GrpcStatus.INTERNAL, 'Received RST_STREAM with code 0 (Call ended without gRPC status)', null);
  }

  /** @internal */
  handleDeadline(): void {
    this.deadlineTimer = null;
    this.cancel(GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded');
  }

  private replay(): void {
    this.retried = true;
    this.stream = null;
    this.gotResponseHeaders = false;
    this.streamError = null;
    this.pool.dispatch(this);
  }

  private finishFromTrailers(trailers: IncomingHttpHeaders): void {
    const status = trailers['grpc-status'];
    const code = parseGrpcStatus(status);
    const details = decodeGrpcMessage(trailers['grpc-message']);
    // An invalid grpc-status is UNKNOWN; without a grpc-message, say what was received.
    if (code === GrpcStatus.UNKNOWN && details === '' && status !== '2') {
      return this.finish(code, status === undefined ? 'Received no grpc-status' : `Received an invalid grpc-status ${JSON.stringify(status)}`, trailers);
    }
    this.finish(code, details, trailers);
  }

  private finish(code: number, details: string, trailers: IncomingHttpHeaders | null): void {
    if (this.finished) return;
    this.finished = true;
    this.pendingFrames = this.pendingCallbacks = null;
    this.deliverStatus(code, details, trailers);
    if (!this.statusHeld()) this.clearDeadline();
  }

  /** Stops the deadline timer (the caller has the final status). */
  protected clearDeadline(): void {
    if (this.deadlineTimer !== null) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = null;
  }
}

/** True when `request()` failed because the connection can take no more streams. */
function isSessionUnusable(session: LeanSession, error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return (
    session.http2.closed ||
    session.http2.destroyed ||
    code === 'ERR_HTTP2_GOAWAY_SESSION' ||
    code === 'ERR_HTTP2_INVALID_SESSION' ||
    code === 'ERR_HTTP2_OUT_OF_STREAMS'
  );
}

function onDeadline(call: StreamCall): void {
  call.handleDeadline();
}
