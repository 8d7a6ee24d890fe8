/**
 * Streaming calls of `Mesh.grpcClient` clients without grpc-js's `Client` layer. The call objects
 * are grpc-js's, in behaviour: `ClientReadableStream` (server streaming), `ClientDuplexStream`
 * (bidi), `ClientWritableStream` (client streaming, with its callback), in object mode, with the
 * `metadata` event, then the messages, then (for readable streams) `end`, `error` when the status
 * is not OK (a grpc-js `ServiceError`: code, details, metadata), and `status` last; `cancel()`,
 * `getPeer()`, write callbacks and half-close on `end()`. A stream that is not read stops asking
 * its call for messages, so the transport stops reading the HTTP/2 stream and flow control holds
 * the server back.
 *
 * Each call is the mesh channel's call (`MeshGrpcCall`) used directly, so it runs every mesh policy,
 * stat, event, trace and transport (lean, grpc-js, the sidecar) exactly as the same call made through
 * grpc-js's `Client` does; what it skips is the `Client`'s argument handling, interceptor chain and
 * per-call caller stack capture. Interceptors, per-call credentials, `host` and a parent call are
 * left to grpc-js (see grpc-client-fast.ts).
 */
import type { IncomingHttpHeaders } from 'node:http2';
import { Duplex, Readable, Stream, Writable } from 'node:stream';
import type * as grpc from '@grpc/grpc-js';
import { GrpcStatus } from '@xmesh/core';
import { toGrpcMetadata, type RawMetadataListener } from '@xmesh/grpc-lean';
import { grpcJs } from './lazy-deps.js';
import { overrideHeaders, type CallOverrides } from './retry/call-overrides.js';

type CallStream = grpc.experimental.CallStream;
type Serialize = (value: unknown) => Buffer;
type Deserialize = (bytes: Buffer) => unknown;
type WriteCallback = (error?: Error | null) => void;
type UnaryCallback = grpc.requestCallback<unknown>;

const CANCELLED_DETAILS = 'Cancelled on client';

/** A streaming method's codecs and path. */
export interface StreamMethod {
  readonly path: string;
  readonly serialize: Serialize;
  readonly deserialize: Deserialize;
}

/** grpc-js's server-streaming call: the request goes out, half-closed, and the replies are read as a Readable. */
export function serverStreamCall(channel: grpc.ChannelInterface, method: StreamMethod, argument: unknown, metadata: grpc.Metadata | undefined, options: grpc.CallOptions): grpc.ClientReadableStream<unknown> {
  const stream = new MeshReadableStream(method.deserialize);
  const call = openCall(channel, method.path, options);
  stream.call = call;
  call.start(requestMetadata(metadata, options), new StreamListener(stream, call, method.deserialize));
  sendMessage(call, method.serialize, argument, {});
  call.halfClose();
  return stream as unknown as grpc.ClientReadableStream<unknown>;
}

/** grpc-js's bidi-streaming call: a Duplex whose writes are the requests and whose reads are the replies. */
export function bidiStreamCall(channel: grpc.ChannelInterface, method: StreamMethod, metadata: grpc.Metadata | undefined, options: grpc.CallOptions): grpc.ClientDuplexStream<unknown, unknown> {
  const stream = new MeshDuplexStream(method.serialize, method.deserialize);
  const call = openCall(channel, method.path, options);
  stream.call = call;
  call.start(requestMetadata(metadata, options), new StreamListener(stream, call, method.deserialize));
  return stream as unknown as grpc.ClientDuplexStream<unknown, unknown>;
}

/** grpc-js's client-streaming call: a Writable of requests; the one reply goes to `callback`, then `status`. */
export function clientStreamCall(
  channel: grpc.ChannelInterface, method: StreamMethod, metadata: grpc.Metadata | undefined, options: grpc.CallOptions, callback: UnaryCallback,
): grpc.ClientWritableStream<unknown> {
  const stream = new MeshWritableStream(method.serialize);
  const call = openCall(channel, method.path, options);
  stream.call = call;
  call.start(requestMetadata(metadata, options), new UnaryReplyListener(stream, call, method.deserialize, callback));
  // One reply is read at once, then one more read shows a second (too many) or the status.
  call.startRead();
  return stream as unknown as grpc.ClientWritableStream<unknown>;
}

/** The mesh channel's call for `path`, as grpc-js's `Client` opens it (no host, no parent). */
function openCall(channel: grpc.ChannelInterface, path: string, options: grpc.CallOptions): CallStream {
  return channel.createCall(path, options.deadline ?? Infinity, undefined, null, undefined);
}

/** The call's metadata: the caller's, or an empty one; a copy with the call's timeout and retry overrides when it has some. */
function requestMetadata(metadata: grpc.Metadata | undefined, options: grpc.CallOptions & CallOverrides): grpc.Metadata {
  if (options.timeoutMs === undefined && options.maxRetries === undefined && options.retryOn === undefined) return metadata ?? new (grpcJs().Metadata)();
  const out = metadata === undefined ? new (grpcJs().Metadata)() : metadata.clone();
  for (const [name, value] of overrideHeaders(options)) out.set(name, value);
  return out;
}

/**
 * Serializes and sends one request message; a serialization failure ends the call with INTERNAL, as in
 * grpc-js, and is reported by returning false (the write's callback is never called, as in grpc-js).
 */
function sendMessage(call: CallStream, serialize: Serialize, value: unknown, context: { callback?: WriteCallback; flags?: number }): boolean {
  let message: Buffer;
  try {
    message = serialize(value);
  } catch (error) {
    call.cancelWithStatus(GrpcStatus.INTERNAL, `Request message serialization failure: ${messageOf(error)}`);
    return false;
  }
  call.sendMessageWithContext(context, message);
  return true;
}

/** A write's context: its callback, and its flags when the encoding argument carries them (a number, as in grpc-js). */
function writeContext(encoding: string, callback: WriteCallback | undefined): { callback?: WriteCallback; flags?: number } {
  const flags = Number(encoding);
  if (Number.isNaN(flags)) return callback === undefined ? {} : { callback };
  return callback === undefined ? { flags } : { callback, flags };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a mixin's base takes any constructor arguments
type StreamClass<T> = new (...args: any[]) => T;

/** grpc-js's call surface on a stream class: the call it drives, `cancel()`, `getPeer()`, `getAuthContext()`. */
function withCall<Base extends StreamClass<Stream>>(base: Base) {
  return class extends base {
    call: CallStream | undefined = undefined;

    cancel(): void {
      this.call?.cancelWithStatus(GrpcStatus.CANCELLED, CANCELLED_DETAILS);
    }

    getPeer(): string {
      return this.call?.getPeer() ?? 'unknown';
    }

    getAuthContext(): ReturnType<CallStream['getAuthContext']> {
      return this.call?.getAuthContext() ?? null;
    }
  };
}

/**
 * The request side of grpc-js's writable call objects: each write is one serialized message (the
 * encoding argument carries write flags when it is a number, as in grpc-js); `end()` half-closes.
 */
function withRequests<Base extends StreamClass<Writable & { call: CallStream | undefined }>>(base: Base) {
  return class extends base {
    serialize!: Serialize;

    override _write(chunk: unknown, encoding: string, callback: WriteCallback): void {
      const call = this.call;
      if (call === undefined) return;
      sendMessage(call, this.serialize, chunk, writeContext(encoding, callback));
    }

    /**
     * Writes the stream buffered while an earlier write was in flight go out together, in order, in one
     * turn (so the transport sends them at once); the batch completes with its last message's write.
     * A message that fails to serialize ends the call, and the messages after it are not sent.
     */
    override _writev(chunks: { chunk: unknown; encoding: string }[], callback: WriteCallback): void {
      const call = this.call;
      if (call === undefined) return;
      const last = chunks.length - 1;
      for (let i = 0; i < last; i++) {
        if (!sendMessage(call, this.serialize, chunks[i]!.chunk, writeContext(chunks[i]!.encoding, undefined))) return;
      }
      sendMessage(call, this.serialize, chunks[last]!.chunk, writeContext(chunks[last]!.encoding, callback));
    }

    override _final(callback: WriteCallback): void {
      this.call?.halfClose();
      callback();
    }
  };
}

/** grpc-js's `ClientReadableStream`. */
class MeshReadableStream extends withCall(Readable) {
  constructor(readonly deserialize: Deserialize) {
    super({ objectMode: true });
  }

  override _read(): void {
    this.call?.startRead();
  }
}

/** grpc-js's `ClientDuplexStream`. */
class MeshDuplexStream extends withRequests(withCall(Duplex)) {
  constructor(
    serialize: Serialize,
    readonly deserialize: Deserialize,
  ) {
    super({ objectMode: true });
    this.serialize = serialize;
  }

  override _read(): void {
    this.call?.startRead();
  }
}

/** grpc-js's `ClientWritableStream`. */
class MeshWritableStream extends withRequests(withCall(Writable)) {
  constructor(serialize: Serialize) {
    super({ objectMode: true });
    this.serialize = serialize;
  }
}

/**
 * What a call's listener does as grpc-js's `Client` and its bottom interceptor do: `metadata` on the
 * call object; each message deserialized (a parse failure ends the call with INTERNAL, and that is
 * the status reported); one status. One per call.
 */
abstract class ResponseListener implements RawMetadataListener {
  private readError: grpc.StatusObject | undefined = undefined;
  private ended = false;

  constructor(
    protected readonly stream: Stream,
    protected readonly call: CallStream,
    private readonly deserialize: Deserialize,
  ) {}

  /** One deserialized response message. */
  protected abstract deliver(value: unknown): void;
  /** The call's final status. */
  protected abstract end(status: grpc.StatusObject): void;

  onReceiveMetadata(metadata: grpc.Metadata): void {
    this.stream.emit('metadata', metadata);
  }

  /** Response headers as the lean transport received them: converted only when the call object has `metadata` listeners. */
  onReceiveRawMetadata(headers: IncomingHttpHeaders): void {
    if (this.stream.listenerCount('metadata') > 0) this.stream.emit('metadata', toGrpcMetadata(headers));
  }

  onReceiveMessage(message: Buffer): void {
    let value: unknown;
    try {
      value = this.deserialize(message);
    } catch (error) {
      this.readError = parseError(error);
      this.call.cancelWithStatus(this.readError.code, this.readError.details);
      return;
    }
    this.deliver(value);
  }

  onReceiveStatus(received: grpc.StatusObject): void {
    if (this.ended) return;
    this.ended = true;
    this.end(this.readError ?? received);
  }
}

/** A streaming-response call's listener: messages pushed; at the status, the end of the readable side, `error` when not OK, then `status`. */
class StreamListener extends ResponseListener {
  protected deliver(value: unknown): void {
    // Room for more: ask for the next message now, as the stream's next `_read` would a tick later, so
    // messages that arrived together are delivered together. A full stream asks for none until it is read.
    if ((this.stream as Readable).push(value)) this.call.startRead();
  }

  protected end(status: grpc.StatusObject): void {
    const stream = this.stream as Readable;
    stream.push(null);
    if (status.code !== GrpcStatus.OK) stream.emit('error', serviceError(status));
    stream.emit('status', status);
  }
}

/** A client-streaming call's listener, as grpc-js's `Client` listens for a unary reply: the callback, then `status`. */
class UnaryReplyListener extends ResponseListener {
  private reply: unknown = undefined;
  private replied = false;

  constructor(stream: Writable, call: CallStream, deserialize: Deserialize, private readonly callback: UnaryCallback) {
    super(stream, call, deserialize);
  }

  protected deliver(value: unknown): void {
    if (this.replied) {
      this.call.cancelWithStatus(GrpcStatus.UNIMPLEMENTED, 'Too many responses received');
      return;
    }
    this.reply = value;
    this.replied = true;
    this.call.startRead();
  }

  protected end(received: grpc.StatusObject): void {
    const status = received.code === GrpcStatus.OK && !this.replied ? { code: GrpcStatus.UNIMPLEMENTED, details: 'No message received', metadata: received.metadata } : received;
    if (status.code === GrpcStatus.OK) this.callback(null, this.reply);
    else this.callback(serviceError(status));
    this.stream.emit('status', status);
  }
}

function parseError(error: unknown): grpc.StatusObject {
  return { code: GrpcStatus.INTERNAL, details: `Response message parsing error: ${messageOf(error)}`, metadata: new (grpcJs().Metadata)() };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A grpc-js `ServiceError` (as its `callErrorFromStatus` builds one): the status's fields on an Error
 * with grpc-js's message. Its stack is where the call ended: grpc-js also appends the caller's ("for
 * call at"), which costs a stack capture (2–5 µs) on every call, failed or not.
 */
export function serviceError(status: grpc.StatusObject): grpc.ServiceError {
  return Object.assign(new Error(`${status.code} ${grpcJs().status[status.code]}: ${status.details}`), status);
}
