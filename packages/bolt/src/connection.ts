/**
 * One Bolt connection to an upstream: many calls in flight at once, told apart by request id;
 * heartbeats while idle; the provider's own heartbeats answered.
 *
 * Contract: every call sent ends exactly once through its receiver — with the response frame, or
 * with a typed MeshError when the connection fails (XMESH_CONNECT_FAILED before it was up,
 * XMESH_UPSTREAM_RESET after, XMESH_UPSTREAM_PROTOCOL when the provider sent bytes that are not
 * Bolt) — unless the caller cancelled it first. A connection that failed is closed for good: the
 * owner replaces it on next use.
 */
import { connect, type Socket } from 'node:net';
import { MeshError } from '@xmesh/core';
import { BoltDecoder, BoltCodec, encodeBoltHeartbeat, encodeBoltHeartbeatAck, DEFAULT_MAX_BOLT_FRAME_SIZE, type BoltFrame } from '@xmesh/codec';

/** Where a call's end goes. */
export interface BoltReceiver {
  onBoltResponse(frame: BoltFrame): void;
  /** `failure` says how the retry layer should read it: no connection, or the connection lost. */
  onBoltFailure(error: MeshError, failure: 'connect' | 'reset'): void;
}

export interface BoltConnectionOptions {
  /** Connect timeout, ms; default 5 000 (Envoy's cluster default). */
  readonly connectTimeoutMs?: number;
  /** A heartbeat is sent after this long without traffic from the peer, ms; default 15 000 (SOFABolt's). */
  readonly heartbeatIntervalMs?: number;
  /** Heartbeats in a row left unanswered before the connection is closed; default 3. */
  readonly heartbeatMisses?: number;
  /** Largest frame accepted from the peer; default 16 MiB. */
  readonly maxFrameSize?: number;
  /** Calls in flight at once on one connection; default 10 000. Past it, sends fail at once (XMESH_CIRCUIT_OPEN). */
  readonly maxInFlight?: number;
  /** Bytes written but not yet taken by the socket; default 64 MiB. Past it (a provider not reading), sends fail at once (XMESH_CIRCUIT_OPEN). */
  readonly maxBuffered?: number;
}

/** SOFA stacks keep request ids below 2^30 (Hessian writes smaller ints more compactly). */
const MAX_ID = 2 ** 30;

export class BoltConnection {
  private readonly socket: Socket;
  private readonly pending = new Map<number, BoltReceiver>();
  private readonly decoder: BoltDecoder;
  private readonly maxInFlight: number;
  private readonly maxBuffered: number;
  private readonly heartbeatMisses: number;
  private nextId = 1;
  private connected = false;
  private closedWith: MeshError | undefined = undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined = undefined;
  /** Set by any frame from the peer; the heartbeat tick clears it. */
  private heardFrom = false;
  private unanswered = 0;

  constructor(
    readonly address: string,
    host: string,
    port: number,
    options: BoltConnectionOptions = {},
    private readonly onClose: (connection: BoltConnection) => void = () => undefined,
  ) {
    this.maxInFlight = options.maxInFlight ?? 10_000;
    this.maxBuffered = options.maxBuffered ?? 64 * 1024 * 1024;
    this.heartbeatMisses = options.heartbeatMisses ?? 3;
    this.decoder = new BoltDecoder(
      (frame) => this.onFrame(frame),
      (error) => this.fail(new MeshError('XMESH_UPSTREAM_PROTOCOL', `Bolt provider ${address} sent a malformed frame: ${error.message}`, { cause: error, endpoint: address }), 'reset'),
      { maxFrameSize: options.maxFrameSize ?? DEFAULT_MAX_BOLT_FRAME_SIZE },
    );
    const socket = connect({ host, port, noDelay: true });
    this.socket = socket;
    const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    this.connectTimer = setTimeout(() => {
      this.fail(new MeshError('XMESH_CONNECT_FAILED', `connecting to Bolt provider ${address} timed out after ${connectTimeoutMs} ms`, { endpoint: address }), 'connect');
    }, connectTimeoutMs);
    this.connectTimer.unref();
    socket.once('connect', () => {
      clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
      this.connected = true;
      this.startHeartbeats(options.heartbeatIntervalMs ?? 15_000);
    });
    socket.on('data', (chunk: Buffer) => this.decoder.push(chunk));
    socket.on('error', (error) => {
      const code = this.connected ? 'XMESH_UPSTREAM_RESET' : 'XMESH_CONNECT_FAILED';
      this.fail(new MeshError(code, `Bolt connection to ${address}: ${error.message}`, { cause: error, endpoint: address }), this.connected ? 'reset' : 'connect');
    });
    socket.once('close', () => {
      this.fail(new MeshError(this.connected ? 'XMESH_UPSTREAM_RESET' : 'XMESH_CONNECT_FAILED', `Bolt connection to ${address} closed`, { endpoint: address }), this.connected ? 'reset' : 'connect');
    });
  }

  /** False once the connection failed or was closed. */
  get usable(): boolean {
    return this.closedWith === undefined;
  }

  /** Calls waiting for their response. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Reserves a request id for a call whose end goes to `receiver`; returns the id (frame the
   * request with it and `write` it), or the error the call ends with at once (closed connection,
   * too many calls in flight).
   */
  reserve(receiver: BoltReceiver): number | MeshError {
    if (this.closedWith !== undefined) return this.closedWith;
    if (this.pending.size >= this.maxInFlight) {
      return new MeshError('XMESH_CIRCUIT_OPEN', `Bolt connection to ${this.address} has ${this.maxInFlight} calls in flight`, { endpoint: this.address });
    }
    if (this.socket.writableLength > this.maxBuffered) {
      return new MeshError('XMESH_CIRCUIT_OPEN', `Bolt connection to ${this.address} has ${this.socket.writableLength} bytes waiting to be sent`, { endpoint: this.address });
    }
    const id = this.takeId();
    this.pending.set(id, receiver);
    return id;
  }

  /** Writes a frame (a request framed with a reserved id, or a oneway request). */
  write(frame: Uint8Array): void {
    if (this.closedWith === undefined) this.socket.write(frame);
  }

  /** A fresh id for a oneway request (no response is awaited). */
  onewayId(): number {
    return this.takeId();
  }

  /** Forgets call `id`: a response arriving later is dropped. */
  cancel(id: number): void {
    this.pending.delete(id);
  }

  /** Closes the connection: calls in flight end with XMESH_UPSTREAM_RESET (`graceful` waits for them first, up to `graceMs`). */
  close(graceful = false, graceMs = 10_000): Promise<void> {
    if (this.closedWith !== undefined) return Promise.resolve();
    if (!graceful || this.pending.size === 0) {
      this.fail(new MeshError('XMESH_UPSTREAM_RESET', `Bolt connection to ${this.address} closed locally`, { endpoint: this.address }), 'reset');
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const deadline = setTimeout(() => this.close(false).then(resolve), graceMs);
      deadline.unref();
      const poll = setInterval(() => {
        if (this.pending.size > 0 && this.closedWith === undefined) return;
        clearInterval(poll);
        clearTimeout(deadline);
        this.close(false).then(resolve);
      }, 20);
      poll.unref();
    });
  }

  private takeId(): number {
    const id = this.nextId;
    this.nextId = id + 1 >= MAX_ID ? 1 : id + 1;
    return id;
  }

  private onFrame(frame: BoltFrame): void {
    this.heardFrom = true;
    switch (frame.kind) {
      case 'response': {
        const receiver = this.pending.get(frame.id);
        if (receiver === undefined) return;
        this.pending.delete(frame.id);
        receiver.onBoltResponse(frame);
        return;
      }
      case 'heartbeat_ack':
        this.unanswered = 0;
        return;
      case 'heartbeat':
        this.socket.write(encodeBoltHeartbeatAck(frame.id, frame.codec));
        return;
      case 'request':
        this.fail(new MeshError('XMESH_UPSTREAM_PROTOCOL', `Bolt provider ${this.address} sent a request on a client connection`, { endpoint: this.address }), 'reset');
        return;
    }
  }

  /** One unref'd interval per connection: a heartbeat when the peer was silent a whole interval. */
  private startHeartbeats(intervalMs: number): void {
    if (!(intervalMs > 0) || this.closedWith !== undefined) return;
    this.heartbeatTimer = setInterval(() => {
      if (this.heardFrom) {
        this.heardFrom = false;
        this.unanswered = 0;
        return;
      }
      if (this.unanswered >= this.heartbeatMisses) {
        this.fail(new MeshError('XMESH_UPSTREAM_RESET', `Bolt provider ${this.address} left ${this.unanswered} heartbeats unanswered`, { endpoint: this.address }), 'reset');
        return;
      }
      this.unanswered++;
      this.socket.write(encodeBoltHeartbeat(this.takeId(), BoltCodec.HESSIAN2));
    }, intervalMs);
    this.heartbeatTimer.unref();
  }

  private fail(error: MeshError, failure: 'connect' | 'reset'): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = error;
    clearTimeout(this.connectTimer);
    clearInterval(this.heartbeatTimer);
    this.socket.destroy();
    const waiting = [...this.pending.values()];
    this.pending.clear();
    this.onClose(this);
    for (const receiver of waiting) receiver.onBoltFailure(error, failure);
  }
}

/**
 * The connections to one endpoint (an `EndpointAttachment` of the mesh's transport pool): up to
 * `size` multiplexed connections, used in turn; a failed one is replaced on next use.
 */
export class BoltEndpointConnections {
  private readonly connections: (BoltConnection | undefined)[];
  private turn = 0;

  constructor(
    private readonly address: string,
    private readonly host: string,
    private readonly port: number,
    private readonly options: BoltConnectionOptions & { readonly size?: number } = {},
  ) {
    this.connections = new Array<BoltConnection | undefined>(Math.max(1, options.size ?? 1)).fill(undefined);
  }

  /** A usable connection, connecting when its slot is empty or failed. */
  get(): BoltConnection {
    const slot = this.turn;
    this.turn = slot + 1 === this.connections.length ? 0 : slot + 1;
    const found = this.connections[slot];
    if (found !== undefined && found.usable) return found;
    const created = new BoltConnection(this.address, this.host, this.port, this.options, (closed) => {
      if (this.connections[slot] === closed) this.connections[slot] = undefined;
    });
    this.connections[slot] = created;
    return created;
  }

  /** Open connections (for tests and admin output). */
  get open(): number {
    return this.connections.filter((c) => c !== undefined && c.usable).length;
  }

  close(graceful: boolean): Promise<void> {
    const closing = this.connections.map((c) => c?.close(graceful) ?? Promise.resolve());
    this.connections.fill(undefined);
    return Promise.all(closing).then(() => undefined);
  }
}
