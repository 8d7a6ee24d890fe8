/**
 * A TCP listener speaking Bolt to stock SOFARPC clients: heartbeats answered here, request frames
 * handed to the `BoltFront`, responses written back under the caller's ids (many calls in flight
 * per connection, in any order).
 *
 * Hostile input: a byte stream that is not Bolt (or a frame over the size limit) closes that
 * connection only — Bolt cannot resynchronise a stream — and its calls in flight are cancelled;
 * other connections are unaffected. Calls in flight per connection are bounded (past the bound a
 * call is answered SERVER_THREADPOOL_BUSY), as are connections and the answers a client has not read
 * (it is then not read from until it drains), and an idle connection is closed.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { MeshError } from '@xmesh/core';
import { BoltDecoder, encodeBoltHeartbeatAck, type BoltFrame } from '@xmesh/codec';
import type { BoltCall } from '@xmesh/bolt';
import type { BoltDownstreamSink, BoltFront } from './bolt-front.js';

export interface BoltListenerOptions {
  /** Largest frame accepted from a client; default 16 MiB. */
  readonly maxFrameSize?: number;
  /** Calls in flight per connection; default 10 000. */
  readonly maxInFlight?: number;
  /** Open client connections; default 10 000. */
  readonly maxConnections?: number;
  /** A connection with no call in flight and no traffic for this long is closed, ms; default 5 min. */
  readonly idleTimeoutMs?: number;
  /** Answer bytes a client has not read yet past which the connection stops reading requests until it drains; default 16 MiB. */
  readonly maxBuffered?: number;
  /** Called once per request as it arrives, and once when it ended (for the sidecar's stats). */
  readonly onOpen?: () => void;
  readonly onClose?: () => void;
  /** Called for each oneway request that could not be delivered. */
  readonly onDropped?: (error: MeshError) => void;
}

export class BoltListener {
  private readonly server: Server;
  private readonly connections = new Set<BoltDownstream>();
  private draining = false;

  constructor(
    private readonly front: BoltFront,
    private readonly options: BoltListenerOptions = {},
  ) {
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server.on('error', () => undefined);
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const address = this.server.address() as { address: string; port: number };
        resolve({ host: address.address, port: address.port });
      });
    });
  }

  /** Open client connections. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Stops accepting; connections close once their calls ended (or at `graceMs`). */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    this.server.close();
    const end = Date.now() + graceMs;
    for (const c of this.connections) c.closeWhenIdle();
    while (this.connections.size > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    await this.close();
  }

  async close(): Promise<void> {
    this.draining = true;
    this.server.close();
    for (const c of [...this.connections]) c.destroy();
  }

  private accept(socket: Socket): void {
    socket.on('error', () => socket.destroy());
    if (this.draining || this.connections.size >= (this.options.maxConnections ?? 10_000)) {
      socket.destroy();
      return;
    }
    const connection = new BoltDownstream(socket, this.front, this.options, () => this.connections.delete(connection));
    this.connections.add(connection);
  }
}

/** One client connection. */
class BoltDownstream implements BoltDownstreamSink {
  private readonly calls = new Map<number, BoltCall | undefined>();
  private readonly decoder: BoltDecoder;
  private readonly maxInFlight: number;
  private closeIdle = false;

  constructor(
    private readonly socket: Socket,
    private readonly front: BoltFront,
    private readonly options: BoltListenerOptions,
    onGone: () => void,
  ) {
    this.maxInFlight = options.maxInFlight ?? 10_000;
    this.decoder = new BoltDecoder((frame) => this.onFrame(frame), () => this.destroy(), options.maxFrameSize === undefined ? {} : { maxFrameSize: options.maxFrameSize });
    socket.on('data', (chunk: Buffer) => this.decoder.push(chunk));
    socket.setTimeout(options.idleTimeoutMs ?? 300_000, () => {
      if (this.calls.size === 0) socket.destroy();
    });
    socket.once('close', () => {
      onGone();
      const calls = [...this.calls.values()];
      this.calls.clear();
      for (const call of calls) {
        call?.cancel('the client closed the connection');
        this.options.onClose?.();
      }
    });
  }

  write(frame: Buffer): void {
    const socket = this.socket;
    if (socket.destroyed) return;
    socket.write(frame);
    // A client that does not read its answers gets no more requests read until it does.
    if (socket.writableLength > (this.options.maxBuffered ?? 16 * 1024 * 1024) && !socket.isPaused()) {
      socket.pause();
      socket.once('drain', () => socket.resume());
    }
  }

  ended(id: number): void {
    if (!this.calls.delete(id)) return;
    this.options.onClose?.();
    if (this.closeIdle && this.calls.size === 0) this.socket.end();
  }

  dropped(error: MeshError): void {
    this.options.onDropped?.(error);
  }

  closeWhenIdle(): void {
    this.closeIdle = true;
    if (this.calls.size === 0) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onFrame(frame: BoltFrame): void {
    switch (frame.kind) {
      case 'heartbeat':
        this.write(encodeBoltHeartbeatAck(frame.id, frame.codec));
        return;
      case 'heartbeat_ack':
        return;
      case 'response':
        // A client does not answer: the stream is not what it claims to be.
        this.destroy();
        return;
      case 'request':
        break;
    }
    this.options.onOpen?.();
    if (this.calls.has(frame.id) || this.calls.size >= this.maxInFlight) {
      const reason = this.calls.has(frame.id) ? `request id ${frame.id} is already in flight on this connection` : `${this.maxInFlight} calls in flight on this connection`;
      this.front.answerError(frame, this, new MeshError('XMESH_CIRCUIT_OPEN', reason));
      this.options.onClose?.();
      return;
    }
    this.calls.set(frame.id, undefined);
    const call = this.front.dispatch(frame, this);
    if (call === undefined || call.ended) {
      this.ended(frame.id);
      return;
    }
    if (this.calls.has(frame.id)) this.calls.set(frame.id, call);
  }
}
