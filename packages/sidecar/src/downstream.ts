/**
 * The client side of one proxied request, over HTTP/2 (a server stream) or HTTP/1.1 (req/res).
 * The forwarders write the upstream's response through this interface, so each upstream protocol
 * is written once for both downstream protocols.
 */
import { constants, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable, Writable } from 'node:stream';
import type { MeshError } from '@xmesh/core';
import { localReply } from '@xmesh/client';
import type { BodyRelay } from './body-relay.js';

/** Told when the client goes away mid-request (the pipeline attempt, or the forwarder once it runs). */
export interface DownstreamAbortHandler {
  downstreamAborted(): void;
}

export interface Downstream {
  /** True when the request is gRPC (`content-type: application/grpc*`). */
  readonly grpc: boolean;
  /** The incoming request headers as Node parsed them (HTTP/2 ones include pseudo-headers). */
  readonly requestHeaders: IncomingHttpHeaders;
  /** The request body; already ended when the request had none. */
  readonly body: Readable;
  /** False when the request carries no body (HTTP/2 END_STREAM on headers, HTTP/1.1 without length or chunking). */
  readonly hasBody: boolean;
  /** Where response DATA is piped (with `end: false`; `finish` ends it). */
  readonly writable: Writable;
  /** Relays the request body to upstream attempts; created by the first forwarder that needs it. */
  relay: BodyRelay | undefined;
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
  /** Sends response headers (`:status` included); `endStream` for a response without body or trailers. */
  respond(headers: OutgoingHttpHeaders, endStream: boolean): void;
  /** Ends the response, with trailers when given. */
  finish(trailers: OutgoingHttpHeaders | undefined): void;
  /** Replies locally for a mesh error (`decorate` may add to the reply's headers), or resets the stream when headers already went out. */
  reject(error: MeshError, decorate?: (headers: OutgoingHttpHeaders) => void): void;
  /** Resets the client's stream (HTTP/2) or connection (HTTP/1.1). */
  abort(): void;
  /** Sets who is told, once, if the client goes away before the response completed (one at a time; replaces the previous). */
  onAbort(handler: DownstreamAbortHandler | undefined): void;
}

/** Request headers that are not forwarded (connection-specific, RFC 9113 §8.2.2). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'http2-settings', 'te', 'expect']);

export function isGrpcContentType(value: string | string[] | undefined): boolean {
  return typeof value === 'string' && value.startsWith('application/grpc');
}

/** The downstream a server stream or response belongs to: its events reach it through shared listeners. */
const DOWNSTREAM = Symbol('xmesh.downstream');
type DownstreamStream = ServerHttp2Stream & { [DOWNSTREAM]: H2Downstream };

function onWantTrailers(this: DownstreamStream): void {
  this[DOWNSTREAM].sendTrailers();
}

/** Response options; node:http2 copies them, so one frozen object serves every response. */
const RESPOND_ENDED = Object.freeze({ endStream: true, waitForTrailers: false });
const RESPOND_OPEN = Object.freeze({ endStream: false, waitForTrailers: true });

function onStreamClose(this: DownstreamStream): void {
  this[DOWNSTREAM].streamClosed();
}

export class H2Downstream implements Downstream {
  readonly grpc: boolean;
  private readonly onClose: () => void;
  relay: BodyRelay | undefined = undefined;
  decorated = false;
  upstreamPath: string | undefined = undefined;
  upstreamAuthority: string | undefined = undefined;
  private trailers: OutgoingHttpHeaders | undefined = undefined;
  private abortHandler: DownstreamAbortHandler | undefined = undefined;
  private done = false;

  constructor(
    readonly stream: ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
    readonly hasBody: boolean,
    onClose: () => void,
  ) {
    this.grpc = isGrpcContentType(headers['content-type']);
    this.onClose = onClose;
    (stream as DownstreamStream)[DOWNSTREAM] = this;
    stream.on('wantTrailers', onWantTrailers);
    // 'close' is emitted once: a plain listener spares the per-request `once` wrapper.
    stream.on('close', onStreamClose);
  }

  /** The client stream closed (after the response, or because the client went away). */
  streamClosed(): void {
    this.onClose();
    if (this.done) return;
    this.done = true;
    this.abortHandler?.downstreamAborted();
  }

  /** Sends the upstream's trailers (or none) once the last DATA is queued. */
  sendTrailers(): void {
    this.stream.sendTrailers(this.trailers ?? {});
  }

  get requestHeaders(): IncomingHttpHeaders { return this.headers; }
  get body(): Readable { return this.stream; }
  get writable(): Writable { return this.stream; }
  get headersSent(): boolean { return this.stream.headersSent; }
  get closed(): boolean { return this.done || this.stream.closed || this.stream.destroyed; }

  respond(headers: OutgoingHttpHeaders, endStream: boolean): void {
    if (this.closed) return;
    this.stream.respond(headers, endStream ? RESPOND_ENDED : RESPOND_OPEN);
    if (endStream) this.complete();
  }

  finish(trailers: OutgoingHttpHeaders | undefined): void {
    if (this.closed) return;
    this.trailers = trailers;
    this.stream.end();
    this.complete();
  }

  reject(error: MeshError, decorate?: (headers: OutgoingHttpHeaders) => void): void {
    if (this.closed) return;
    if (this.stream.headersSent) {
      this.abort();
      return;
    }
    const reply = localReply(error, this.grpc);
    decorate?.(reply.headers);
    this.stream.respond(reply.headers, { endStream: reply.body === undefined });
    if (reply.body !== undefined) this.stream.end(reply.body);
    this.complete();
  }

  abort(): void {
    if (this.stream.destroyed) return;
    this.done = true;
    this.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  }

  onAbort(handler: DownstreamAbortHandler | undefined): void {
    this.abortHandler = handler;
  }

  /** The response is complete: a request body still arriving is drained, not buffered. */
  private complete(): void {
    this.done = true;
    if (!this.stream.readableEnded) this.stream.resume();
  }
}

type DownstreamResponse = ServerResponse & { [DOWNSTREAM]: H1Downstream };

function onResponseClose(this: DownstreamResponse): void {
  this[DOWNSTREAM].responseClosed();
}

export class H1Downstream implements Downstream {
  readonly grpc: boolean;
  private readonly onClose: () => void;
  relay: BodyRelay | undefined = undefined;
  decorated = false;
  upstreamPath: string | undefined = undefined;
  upstreamAuthority: string | undefined = undefined;
  readonly hasBody: boolean;
  private abortHandler: DownstreamAbortHandler | undefined = undefined;
  private done = false;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    onClose: () => void,
  ) {
    this.grpc = isGrpcContentType(req.headers['content-type']);
    const length = req.headers['content-length'];
    this.hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    this.onClose = onClose;
    (res as DownstreamResponse)[DOWNSTREAM] = this;
    res.on('close', onResponseClose);
  }

  /** The response closed (after it finished, or because the client went away). */
  responseClosed(): void {
    this.onClose();
    if (this.done || this.res.writableFinished) return;
    this.done = true;
    this.abortHandler?.downstreamAborted();
  }

  get requestHeaders(): IncomingHttpHeaders { return this.req.headers; }
  get body(): Readable { return this.req; }
  get writable(): Writable { return this.res; }
  get headersSent(): boolean { return this.res.headersSent; }
  get closed(): boolean { return this.done || this.res.destroyed; }

  respond(headers: OutgoingHttpHeaders, endStream: boolean): void {
    if (this.closed) return;
    const status = Number(headers[':status']);
    const out: OutgoingHttpHeaders = {};
    for (const name in headers) {
      if (name.charCodeAt(0) !== 58 && !HOP_BY_HOP.has(name)) out[name] = headers[name];
    }
    this.res.writeHead(status, out);
    if (endStream) this.finish(undefined);
  }

  finish(trailers: OutgoingHttpHeaders | undefined): void {
    if (this.closed) return;
    if (trailers !== undefined && this.res.chunkedEncoding) this.res.addTrailers(trailers as Record<string, string>);
    this.res.end();
    this.complete();
  }

  reject(error: MeshError, decorate?: (headers: OutgoingHttpHeaders) => void): void {
    if (this.closed) return;
    if (this.res.headersSent) {
      this.abort();
      return;
    }
    const reply = localReply(error, this.grpc);
    decorate?.(reply.headers);
    this.respond(reply.headers, reply.body === undefined);
    if (reply.body !== undefined) this.res.end(reply.body);
    this.complete();
  }

  abort(): void {
    this.done = true;
    this.res.destroy();
  }

  onAbort(handler: DownstreamAbortHandler | undefined): void {
    this.abortHandler = handler;
  }

  private complete(): void {
    this.done = true;
    if (!this.req.readableEnded) this.req.resume();
  }
}
