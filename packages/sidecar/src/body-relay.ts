/**
 * Relays a request body from the client to the current upstream attempt, with backpressure.
 * While retries remain possible it keeps the chunks it relayed (up to `limit` bytes, Envoy's
 * buffer-limit rule), so a retry's upstream stream gets the body again from the start and then
 * the rest as it arrives. Past the limit, or without a retry policy, nothing is kept.
 *
 * A mirror's copy (`copy`) gets the whole body once the attempts relayed it, from the kept chunks.
 *
 * A gRPC request body goes through a `GrpcFrameMeter`: a message whose length prefix is over the
 * limit stops the relay and terminates the request (RESOURCE_EXHAUSTED) before any of it is sent.
 */
import type { Readable, Writable } from 'node:stream';
import { MeshError } from '@xmesh/core';
import { GrpcFrameMeter } from './grpc-frame-meter.js';

/** Envoy's default `per_connection_buffer_limit_bytes`. */
export const DEFAULT_REPLAY_LIMIT = 1024 * 1024;

/** The relay a request body belongs to: its events reach it through shared listeners, no closures per request. */
const RELAY = Symbol('xmesh.relay');
type RelayedSource = Readable & { [RELAY]: BodyRelay };

function onSourceData(this: RelayedSource, chunk: Buffer): void {
  this[RELAY].relay(chunk);
}

function onSourceEnd(this: RelayedSource): void {
  this[RELAY].sourceEnded();
}

/** Who a relay reports an oversized gRPC request message to (the downstream). */
export interface RelayOwner {
  terminate(error: MeshError): void;
}

export class BodyRelay {
  private kept: Buffer[] | undefined;
  private readonly meter: GrpcFrameMeter | undefined;
  private stopped = false;
  private keptBytes = 0;
  private ended = false;
  private started = false;
  private sink: Writable | undefined = undefined;
  /** Mirror copies waiting for the whole body. */
  private copies: ((body: Buffer | undefined) => void)[] = [];
  private readonly resume = (): void => {
    this.source.resume();
  };

  /**
   * @param keep keep chunks for a replay (the route has a retry policy)
   * @param limit bytes kept at most; beyond it the body can no longer be replayed
   * @param grpc the owner and message size limit of a gRPC request body, whose framing is metered
   */
  constructor(
    private readonly source: Readable,
    keep: boolean,
    private readonly limit: number = DEFAULT_REPLAY_LIMIT,
    private readonly grpc: { readonly owner: RelayOwner; readonly maxMessageBytes: number } | undefined = undefined,
  ) {
    this.kept = keep ? [] : undefined;
    this.meter = grpc === undefined ? undefined : new GrpcFrameMeter(grpc.maxMessageBytes);
  }

  /** True while a new attempt can still be sent the whole body. */
  get replayable(): boolean {
    return !this.started || this.kept !== undefined;
  }

  /** True once the client's whole body arrived and is kept: a new attempt gets all of it at once (hedging). */
  get whole(): boolean {
    return this.ended && this.kept !== undefined && !this.stopped;
  }

  /**
   * Sends the body to `sink` from the start: kept chunks first, then live ones; ends it when the
   * body ended. Returns false (and sends nothing) when the body can no longer be replayed.
   */
  attach(sink: Writable): boolean {
    if (!this.replayable || this.stopped) return false;
    const previous = this.sink;
    if (previous !== undefined) previous.off('drain', this.resume);
    this.sink = sink;
    if (this.kept !== undefined) for (const chunk of this.kept) sink.write(chunk);
    if (this.ended) {
      sink.end();
      return true;
    }
    if (!this.started) {
      this.started = true;
      (this.source as RelayedSource)[RELAY] = this;
      this.source.on('data', onSourceData);
      this.source.once('end', onSourceEnd);
    }
    this.source.resume();
    return true;
  }

  /**
   * The whole body for a mirror's copy, once the attempts relayed it (a copy never reads the body
   * itself); undefined when it is not kept (not keeping, past the limit, stopped, the client went away).
   */
  copy(): Promise<Buffer | undefined> {
    if (this.kept === undefined || this.stopped) return Promise.resolve(undefined);
    if (this.ended) return Promise.resolve(Buffer.concat(this.kept));
    if (this.copies.length === 0) this.source.once('close', this.settleCopies);
    return new Promise((resolve) => this.copies.push(resolve));
  }

  /** Hands the waiting copies the whole body, or undefined when it is not whole or not kept. */
  private readonly settleCopies = (): void => {
    if (this.copies.length === 0) return;
    const copies = this.copies;
    this.copies = [];
    this.source.off('close', this.settleCopies);
    const body = this.ended && this.kept !== undefined && !this.stopped ? Buffer.concat(this.kept) : undefined;
    for (const resolve of copies) resolve(body);
  };

  /**
   * `sink` (an attempt being cancelled) gets nothing more, its end included: a cancelled upstream request that
   * could not be reset must never receive the rest of the body, or see it end, after its caller was answered.
   */
  detach(sink: Writable): void {
    if (this.sink !== sink) return;
    sink.off('drain', this.resume);
    this.sink = undefined;
    this.source.resume();
  }

  /** The body ended: the current sink ends too. */
  sourceEnded(): void {
    this.ended = true;
    this.sink?.end();
    this.settleCopies();
  }

  relay(chunk: Buffer): void {
    if (this.stopped) return;
    if (this.meter !== undefined && this.meter.scan(chunk) >= 0) {
      this.stopped = true;
      this.kept = undefined;
      this.sink = undefined;
      this.settleCopies();
      this.grpc!.owner.terminate(new MeshError('XMESH_MESSAGE_TOO_LARGE', `request message larger than ${this.meter.limit} bytes`));
      return;
    }
    const kept = this.kept;
    if (kept !== undefined) {
      this.keptBytes += chunk.length;
      if (this.keptBytes > this.limit) {
        this.kept = undefined;
        this.settleCopies();
      } else kept.push(chunk);
    }
    const sink = this.sink;
    if (sink === undefined || sink.destroyed || sink.writableEnded) return;
    if (!sink.write(chunk)) {
      this.source.pause();
      sink.once('drain', this.resume);
    }
  }
}
