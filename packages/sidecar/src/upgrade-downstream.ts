/**
 * The client side of an HTTP/1.1 request asking for a protocol upgrade (WebSocket, ...), which node hands
 * over as the raw socket. Until the upstream agrees (101), answers are written on the socket as HTTP/1.1
 * responses, and the connection is closed after them (Envoy closes it after a refused upgrade, so nothing the
 * client already sent for the new protocol is read as a request). Once the upstream switched protocols,
 * `tunnel` relays bytes both ways until either side closes or the stream idle timeout passes with no
 * traffic; every socket has an 'error' listener.
 */
import type { Socket } from 'node:net';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Readable, Writable } from 'node:stream';
import type { MeshError } from '@xmesh/core';
import type { HeaderSource } from '@xmesh/router';
import { BaseDownstream, HOP_BY_HOP, http1ReplySource, type Downstream } from './downstream.js';
import { MAX_TIMER_MS } from './session-guard.js';

/** node:http's values without an ESM import of it: that import evaluates every export, and its lazy WebSocket ones load Node's bundled undici (~5 MiB RSS). */
const { STATUS_CODES } = process.getBuiltinModule('node:http');

function ignoreError(): void {}

export class UpgradeDownstream extends BaseDownstream implements Downstream {
  readonly grpc = false;
  readonly hasBody = false;
  private sent = false;
  private tunnelled = false;
  private idleMs: number;

  /**
   * @param head bytes the client sent after its request headers (already the new protocol's)
   * @param idleTimeoutMs the stream idle timeout (0 = none), also the tunnel's
   */
  constructor(
    readonly req: IncomingMessage,
    readonly socket: Socket,
    readonly head: Buffer,
    private readonly onClose: () => void,
    idleTimeoutMs: number,
  ) {
    super();
    this.idleMs = idleTimeoutMs;
    socket.on('error', ignoreError);
    socket.once('close', () => this.socketClosed());
    if (idleTimeoutMs > 0) {
      socket.setTimeout(Math.min(idleTimeoutMs, MAX_TIMER_MS));
      socket.on('timeout', () => this.socketIdle());
    }
  }

  protected replySource(): HeaderSource {
    return http1ReplySource(this.req);
  }

  get requestHeaders(): IncomingMessage['headers'] { return this.req.headers; }
  get body(): Readable { return this.req; }
  get writable(): Writable { return this.socket; }
  get headersSent(): boolean { return this.sent; }
  get closed(): boolean { return this.done || this.socket.destroyed; }

  respond(headers: OutgoingHttpHeaders, endStream: boolean): boolean {
    if (this.closed) return true;
    this.writeHead(Number(headers[':status']), headers, true);
    if (endStream) this.finish(undefined);
    return true;
  }

  finish(_trailers?: OutgoingHttpHeaders): void {
    if (this.closed) return;
    this.done = true;
    this.socket.end();
  }

  reject(error: MeshError, decorate?: (headers: OutgoingHttpHeaders) => void): void {
    if (this.closed) return;
    if (this.sent) {
      this.abort();
      return;
    }
    const reply = this.localReplyOf(error);
    decorate?.(reply.headers);
    this.writeHead(Number(reply.headers[':status']), reply.headers, true);
    this.done = true;
    this.socket.end(reply.body ?? '');
  }

  abort(): void {
    this.done = true;
    this.socket.destroy();
  }

  setIdleTimeout(ms: number): void {
    this.idleMs = ms;
    if (this.socket.destroyed) return;
    if (ms > 0 && this.socket.listenerCount('timeout') === 0) this.socket.on('timeout', () => this.socketIdle());
    this.socket.setTimeout(Math.min(ms, MAX_TIMER_MS));
  }

  /**
   * The upstream switched protocols on `upstream` (`status` 101), or a CONNECT's connection to it is made (200):
   * the client gets `status` and `headers` (connection-specific ones included: they are the answer), then bytes
   * flow both ways. `head` is what the upstream sent after its 101.
   */
  tunnel(status: 101 | 200, headers: Record<string, string | string[] | undefined>, upstream: Socket, head: Buffer | undefined): void {
    if (this.closed) {
      upstream.destroy();
      return;
    }
    this.tunnelled = true;
    upstream.on('error', ignoreError);
    this.writeHead(status, headers, false);
    this.done = true;
    const client = this.socket;
    if (head !== undefined && head.length > 0) client.write(head);
    if (this.head.length > 0) upstream.write(this.head);
    client.pipe(upstream);
    upstream.pipe(client);
    if (status === 200) {
      // A CONNECT tunnel is TCP's: a FIN from one side ends the other side's writing only (what it has to send is
      // flushed first), and each socket closes once both its directions ended; a reset ends both at once.
      client.allowHalfOpen = true;
      const closeWith = (other: Socket) => (hadError: boolean): void => {
        if (hadError || other.destroyed) other.destroy();
        else other.end();
      };
      client.once('close', closeWith(upstream));
      upstream.once('close', closeWith(client));
    } else {
      // Either side closing (or failing) closes the other.
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    }
    // The idle timeout covers both directions.
    if (this.idleMs > 0) {
      upstream.setTimeout(Math.min(this.idleMs, MAX_TIMER_MS));
      upstream.on('timeout', () => {
        upstream.destroy();
        client.destroy();
      });
    }
  }

  protected requestComplete(): boolean {
    return true;
  }

  private socketClosed(): void {
    this.released();
    this.onClose();
    if (this.done) return;
    this.done = true;
    this.abortHandler?.downstreamAborted();
  }

  private socketIdle(): void {
    if (this.tunnelled) {
      this.socket.destroy();
      return;
    }
    this.idleTimedOut();
  }

  /** Writes a status line and headers (HTTP/2 form: pseudo-headers dropped); `close` adds `connection: close` and drops hop-by-hop headers. */
  private writeHead(status: number, headers: Record<string, unknown>, close: boolean): void {
    this.sent = true;
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
    for (const name in headers) {
      if (name.charCodeAt(0) === 58 || (close && HOP_BY_HOP.has(name))) continue;
      const value = headers[name];
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) {
        const text = String(v);
        // A header the client's protocol cannot carry is left out rather than corrupting the response.
        if (/[\r\n]/.test(text) || /[\r\n:]/.test(name)) continue;
        head += `${name}: ${text}\r\n`;
      }
    }
    if (close) head += 'connection: close\r\n';
    this.socket.write(`${head}\r\n`);
  }
}
