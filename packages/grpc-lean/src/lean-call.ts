import { sensitiveHeaders, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type * as GrpcJs from '@grpc/grpc-js';
import type { ChannelInterface, InterceptingListener, Metadata } from '@grpc/grpc-js';
import { lazyRequire } from '@xmesh/core';
import type { EndpointSessions } from './endpoint-sessions.js';
import { addEncodedHeaders, TRANSPORT_RESPONSE_HEADERS } from './metadata.js';
import type { LeanTransportOptions } from './options.js';
import { StreamCall } from './stream-call.js';

/** grpc-js's transport-level call contract (not exported by name from its index). */
export type GrpcJsCall = ReturnType<ChannelInterface['createCall']>;
type MessageContext = Parameters<GrpcJsCall['sendMessageWithContext']>[0];

/** Builds a call's request headers once its metadata is known. */
export interface RequestHeaderSource {
  requestHeaders(path: string, deadlineEpochMs: number, encodedMetadata: OutgoingHttpHeaders | null): OutgoingHttpHeaders;
}

/** grpc-js, loaded when the first response metadata is made (the sidecar imports this package and never does). */
const grpcJs = lazyRequire<typeof GrpcJs>(import.meta.url, '@grpc/grpc-js');

/** An object naming the entries node:http2 sends never-indexed. */
type NeverIndexed = { [sensitiveHeaders]?: readonly string[] };

/** grpc-js WriteFlags.NoCompress. */
const NO_COMPRESS = 2;

/** `:`, which starts the pseudo-headers. */
const COLON = 0x3a;
const TRANSPORT_HEADER_SET: ReadonlySet<string> = new Set(TRANSPORT_RESPONSE_HEADERS);

/** Response metadata for grpc-js: `-bin` values decoded, transport headers removed. */
export function toGrpcMetadata(raw: IncomingHttpHeaders): Metadata {
  // Only the application's entries are converted (a trailers-only OK status carries none).
  let entries: IncomingHttpHeaders | undefined;
  const names = Object.keys(raw);
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (name.charCodeAt(0) === COLON || TRANSPORT_HEADER_SET.has(name)) continue;
    (entries ??= {})[name] = raw[name];
  }
  const metadata = grpcJs().Metadata;
  return entries === undefined ? new metadata() : metadata.fromHttp2Headers(entries);
}

/**
 * A listener that takes response headers as node:http2 gave them, instead of grpc-js `Metadata`
 * (converting them with {@link toGrpcMetadata} only if someone reads them).
 */
export interface RawMetadataListener extends InterceptingListener {
  onReceiveRawMetadata(headers: IncomingHttpHeaders): void;
}

/**
 * grpc-js `Call` over the lean transport, so a stock grpc-js `Client`
 * (through `channelOverride`) runs on it. Messages arrive serialized (the
 * Client serializes) and leave serialized (the Client deserializes). One
 * message is delivered per `startRead()`; while none is wanted the HTTP/2
 * stream is paused, so flow control reaches the server.
 *
 * A listener with `onReceiveRawMetadata` gets the response headers that way.
 *
 * The stream opens on the first of: `halfClose()` (so a unary request goes out
 * whole and can be replayed if the server refuses the stream), or the tick
 * after `start()`.
 */
export class LeanCall extends StreamCall implements GrpcJsCall {
  private listener: InterceptingListener | null = null;
  private readWanted = false;
  private queuedMessages: Buffer[] | null = null;
  /** The final status, held while received messages wait for startRead(); code -1 = none held. */
  private heldCode = -1;
  private heldDetails = '';
  private heldTrailers: IncomingHttpHeaders | null = null;

  constructor(
    pool: EndpointSessions,
    options: LeanTransportOptions,
    private readonly headerSource: RequestHeaderSource,
    private readonly path: string,
    private readonly deadlineEpochMs: number,
    private readonly callNumber: number,
  ) {
    super(pool, options, EMPTY_HEADERS, deadlineEpochMs);
  }

  /**
   * Names listed under node's `http2.sensitiveHeaders` symbol on `metadata` (a front end marks the
   * per-call ids it added, as on the fast path's metadata) are sent never-indexed.
   */
  start(metadata: Metadata, listener: InterceptingListener): void {
    this.listener = listener;
    const encoded = metadata.toHttp2Headers();
    const neverIndexed = (metadata as Metadata & NeverIndexed)[sensitiveHeaders];
    if (neverIndexed !== undefined) (encoded as NeverIndexed)[sensitiveHeaders] = neverIndexed;
    this.headers = this.headerSource.requestHeaders(this.path, this.deadlineEpochMs, encoded);
    process.nextTick(dispatchCall, this);
  }

  sendMessageWithContext(context: MessageContext, message: Buffer): void {
    const flags = context.flags ?? 0;
    this.writeMessage(message, (flags & NO_COMPRESS) === 0, context.callback);
  }

  halfClose(): void {
    this.closeSend();
    this.dispatchNow();
  }

  /** @internal */
  dispatchNow(): void {
    if (this.listener !== null) this.dispatch();
  }

  startRead(): void {
    const queued = this.queuedMessages;
    if (queued !== null && queued.length > 0) {
      const message = queued.shift()!;
      if (queued.length === 0) this.stream?.resume();
      this.listener?.onReceiveMessage(message);
      if (queued.length === 0 && this.heldCode !== -1) this.flushStatus();
      return;
    }
    this.readWanted = true;
  }

  cancelWithStatus(code: number, details: string): void {
    this.cancel(code, details);
  }

  getPeer(): string {
    return `${this.pool.host}:${this.pool.port}`;
  }

  getCallNumber(): number {
    return this.callNumber;
  }

  /** Per-call credentials are not supported on this insecure transport; they are ignored. */
  setCredentials(): void {}

  getAuthContext(): null {
    return null;
  }

  protected deliverHeaders(headers: IncomingHttpHeaders): void {
    const listener = this.listener;
    if (listener === null) return;
    if ((listener as Partial<RawMetadataListener>).onReceiveRawMetadata !== undefined) (listener as RawMetadataListener).onReceiveRawMetadata(headers);
    else listener.onReceiveMetadata(toGrpcMetadata(headers));
  }

  protected deliverMessage(message: Buffer): void {
    if (this.readWanted) {
      this.readWanted = false;
      this.listener?.onReceiveMessage(message);
      return;
    }
    (this.queuedMessages ??= []).push(message);
    this.stream?.pause();
  }

  protected deliverStatus(code: number, details: string, trailers: IncomingHttpHeaders | null): void {
    this.heldCode = code;
    this.heldDetails = details;
    this.heldTrailers = trailers;
    // Messages not yet read come first; a status without trailers (local end, broken stream) does not wait.
    if (trailers === null || this.queuedMessages === null || this.queuedMessages.length === 0) this.flushStatus();
  }

  protected override statusHeld(): boolean {
    return this.heldCode !== -1;
  }

  /**
   * The upstream's status waits behind messages nobody reads (a unary client reads one; an upstream
   * that sent two would otherwise hold the call forever): a local end (cancel, deadline) replaces it
   * and the unread messages are dropped, as grpc-js lets an error status overtake an OK one.
   */
  protected override replaceHeldStatus(code: number, details: string): void {
    this.heldCode = code;
    this.heldDetails = details;
    this.heldTrailers = null;
    this.flushStatus();
  }

  private flushStatus(): void {
    const code = this.heldCode;
    if (code === -1) return;
    this.clearDeadline();
    this.heldCode = -1;
    this.queuedMessages = null;
    const metadata = this.heldTrailers === null ? new (grpcJs().Metadata)() : toGrpcMetadata(this.heldTrailers);
    this.heldTrailers = null;
    this.listener?.onReceiveStatus({ code, details: this.heldDetails, metadata });
  }
}

const EMPTY_HEADERS: OutgoingHttpHeaders = Object.freeze({}) as OutgoingHttpHeaders;

function dispatchCall(call: LeanCall): void {
  call.dispatchNow();
}
