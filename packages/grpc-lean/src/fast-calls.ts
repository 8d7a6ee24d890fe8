import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { LeanCallError } from './call-error.js';
import type { EndpointSessions } from './endpoint-sessions.js';
import type { RawMetadata } from './metadata.js';
import type { LeanTransportOptions } from './options.js';
import { GrpcStatus } from './status.js';
import { StreamCall, type WriteDone } from './stream-call.js';

/** grpc-js's words for a unary call answered with more than one message, or none (its `Client` fails both with UNIMPLEMENTED). */
export const TOO_MANY_RESPONSES = 'Too many responses received';
export const NO_RESPONSE = 'No message received';

/** Unary completion: `reply` is the serialized response message when `error` is null. */
export type UnaryCallback = (error: LeanCallError | null, reply: Buffer | null, trailers: RawMetadata | null) => void;

/** Unary completion as a method, so a caller's per-call object receives it without a closure. */
export interface UnaryReceiver {
  onUnaryReply(error: LeanCallError | null, reply: Buffer | null, trailers: RawMetadata | null): void;
  /** Response headers, before the reply (not called for trailers-only responses). */
  onUnaryHeaders?(headers: RawMetadata): void;
}

/** A unary call on the fast path: one request frame, one reply, one callback. */
export class UnaryFastCall extends StreamCall {
  private reply: Buffer | null = null;

  constructor(
    pool: EndpointSessions,
    options: LeanTransportOptions,
    headers: OutgoingHttpHeaders,
    deadlineEpochMs: number,
    request: Uint8Array,
    private readonly callback: UnaryCallback | UnaryReceiver,
  ) {
    super(pool, options, headers, deadlineEpochMs);
    this.writeMessage(request, true, undefined);
    this.closeSend();
    this.dispatch();
  }

  protected deliverHeaders(headers: IncomingHttpHeaders): void {
    const callback = this.callback;
    if (typeof callback !== 'function') callback.onUnaryHeaders?.(headers);
  }

  protected deliverMessage(message: Buffer): void {
    if (this.reply !== null) {
      this.cancel(GrpcStatus.UNIMPLEMENTED, TOO_MANY_RESPONSES);
      return;
    }
    this.reply = message;
  }

  protected deliverStatus(code: number, details: string, trailers: IncomingHttpHeaders | null): void {
    if (code === GrpcStatus.OK) {
      if (this.reply !== null) return this.complete(null, this.reply, trailers);
      return this.complete(new LeanCallError(GrpcStatus.UNIMPLEMENTED, NO_RESPONSE, trailers, this.responseStarted), null, trailers);
    }
    this.complete(new LeanCallError(code, details, trailers, this.responseStarted), null, trailers);
  }

  private complete(error: LeanCallError | null, reply: Buffer | null, trailers: RawMetadata | null): void {
    const callback = this.callback;
    if (typeof callback === 'function') callback(error, reply, trailers);
    else callback.onUnaryReply(error, reply, trailers);
  }
}

/** Receives a streaming call's events on the fast path. */
export interface LeanStreamHandler {
  /** Response headers (absent for trailers-only responses). */
  onHeaders?(headers: RawMetadata): void;
  /** One serialized response message. */
  onMessage(message: Buffer): void;
  /** The final status; called exactly once, last. `trailers` is null when the call ended locally. */
  onStatus(code: number, details: string, trailers: RawMetadata | null): void;
}

/**
 * A streaming call on the fast path (server-, client- or bidi-streaming).
 * `pause()`/`resume()` stop and restart reading, so HTTP/2 flow control
 * pushes back on the server.
 */
export class LeanStream extends StreamCall {
  constructor(
    pool: EndpointSessions,
    options: LeanTransportOptions,
    headers: OutgoingHttpHeaders,
    deadlineEpochMs: number,
    private readonly handler: LeanStreamHandler,
  ) {
    super(pool, options, headers, deadlineEpochMs);
    this.dispatch();
  }

  /** Sends one serialized message; `done` fires once it is handed to the connection. */
  write(message: Uint8Array, done?: WriteDone): void {
    this.writeMessage(message, true, done);
  }

  /** Half-closes: no more messages from this side. */
  end(): void {
    this.closeSend();
  }

  /** Cancels the call: RST_STREAM CANCEL to the server, CANCELLED to the handler. */
  cancelCall(details = 'Cancelled on client'): void {
    this.cancel(GrpcStatus.CANCELLED, details);
  }

  pause(): void {
    this.stream?.pause();
  }

  resume(): void {
    this.stream?.resume();
  }

  protected deliverHeaders(headers: IncomingHttpHeaders): void {
    this.handler.onHeaders?.(headers);
  }

  protected deliverMessage(message: Buffer): void {
    this.handler.onMessage(message);
  }

  protected deliverStatus(code: number, details: string, trailers: IncomingHttpHeaders | null): void {
    this.handler.onStatus(code, details, trailers);
  }
}
