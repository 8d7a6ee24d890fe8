/**
 * Connections per endpoint, keyed by `Endpoint.id` (plaintext) or by endpoint and TLS context (see
 * `transportKey`), shared by every cluster that lists the endpoint with the same transport security
 * and kept across config swaps. An entry lives while a cluster lists it (membership) or a call holds
 * it (lease); when both reach zero its connections are closed, so a removed endpoint drains first.
 * A TLS entry whose certificates rotated drains its connections as it hands out the next transport:
 * in-flight calls finish on them, new calls open connections that present the new certificates.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Client, Dispatcher, H2CClient, Pool } from 'undici';
import type { Endpoint } from '@xmesh/core';
import { LeanChannel, type LeanChannelOptions } from '@xmesh/grpc-lean';
import type { ClientTls } from '@xmesh/tls';
import type { GrpcTransportKind } from './grpc-transport-kind.js';
import { grpcJs, undici } from './lazy-deps.js';
import { leanConnector, meshTlsCredentials, undiciConnect } from './tls-transport.js';

export interface TransportPoolOptions {
  /** Credentials for the per-endpoint grpc-js channels; default insecure. */
  readonly grpcCredentials?: grpc.ChannelCredentials;
  /** Extra grpc-js channel options (a local subchannel pool is always used); the lean transport reads the names it knows. */
  readonly grpcOptions?: grpc.ChannelOptions;
  /**
   * The gRPC transport of clusters whose `xmesh.transport` says nothing: `lean` (node:http2, plaintext)
   * or `grpc-js`. `createMesh` resolves it (see `resolveGrpcTransport`); a bare pool uses grpc-js.
   */
  readonly grpc?: GrpcTransportKind;
  /** Extra undici Pool options. */
  readonly httpOptions?: Pool.Options;
}

/** A per-endpoint resource owned by an `EndpointTransports` entry. */
export interface EndpointAttachment {
  close(graceful: boolean): void | Promise<void>;
  /** The entry's TLS certificates rotated: drain connections opened before (optional). */
  drainConnections?(): void;
}

/** The pool key of `endpoint`'s connections secured by `tls` (undefined = plaintext, keyed by the endpoint id alone). */
export function transportKey(endpoint: Pick<Endpoint, 'id'>, tls: ClientTls | undefined): string {
  return tls === undefined ? endpoint.id : `${endpoint.id}#tls${tlsIds.get(tls) ?? assignTlsId(tls)}`;
}

const tlsIds = new WeakMap<ClientTls, number>();
let nextTlsId = 0;

function assignTlsId(tls: ClientTls): number {
  const id = ++nextTlsId;
  tlsIds.set(tls, id);
  return id;
}

export class EndpointTransports {
  /** Clusters listing this endpoint. */
  members = 0;
  /** Calls holding a lease. */
  leases = 0;
  private grpcChannel: grpc.Channel | undefined = undefined;
  private leanChannel: LeanChannel | undefined = undefined;
  private http1: Pool | undefined = undefined;
  private http2: H2CClient | Client | undefined = undefined;
  /** Resources other front ends keep per endpoint (e.g. a proxy's upstream session), closed with the entry. */
  private attachments: Map<object, EndpointAttachment> | undefined = undefined;
  /** The `tls.generation` the open connections were made with. */
  private tlsGeneration: number;

  constructor(
    readonly pool: TransportPool,
    readonly endpoint: Endpoint,
    private readonly options: TransportPoolOptions,
    /** Transport security of every connection of this entry; undefined = plaintext. */
    readonly tls: ClientTls | undefined = undefined,
  ) {
    this.tlsGeneration = tls?.generation ?? 0;
  }

  /** The pool key (`transportKey`). */
  get id(): string {
    return transportKey(this.endpoint, this.tls);
  }

  /** The grpc-js channel to this endpoint, created on first use. */
  grpc(): grpc.Channel {
    // grpc-js cannot drain one connection without failing calls queued on its channel: after a rotation its
    // connections stay until they close (as Envoy keeps its own), and each new one uses the new certificates.
    this.grpcChannel ??= new (grpcJs().Channel)(this.endpoint.id, this.grpcCredentials(), {
      ...this.options.grpcOptions,
      'grpc.use_local_subchannel_pool': 1,
    });
    return this.grpcChannel;
  }

  /** The lean (node:http2) gRPC channel to this endpoint, created on first use. */
  lean(): LeanChannel {
    if (this.tls !== undefined && this.tls.generation !== this.tlsGeneration) this.drainRotated();
    this.leanChannel ??= LeanChannel.forEndpoint(this.endpoint, leanOptionsOf(this.options.grpcOptions), this.tls && leanConnector(this.tls));
    return this.leanChannel;
  }

  private grpcCredentials(): grpc.ChannelCredentials {
    if (this.tls !== undefined) return meshTlsCredentials(this.tls, this.endpoint.host, this.endpoint.port);
    return this.options.grpcCredentials ?? grpcJs().credentials.createInsecure();
  }

  /**
   * The certificates changed since the connections were opened: existing connections drain (their in-flight
   * requests finish) and later requests open new ones.
   */
  private drainRotated(): void {
    this.tlsGeneration = this.tls!.generation;
    this.leanChannel?.drainConnections();
    for (const dispatcher of [this.http1, this.http2]) void dispatcher?.close().catch(() => undefined);
    this.http1 = undefined;
    this.http2 = undefined;
    if (this.attachments) for (const attachment of this.attachments.values()) attachment.drainConnections?.();
  }

  /** The gRPC channel of `kind`, or of the pool's default transport when a cluster names none. */
  grpcFor(kind: GrpcTransportKind | undefined): grpc.ChannelInterface {
    return (kind ?? this.options.grpc) === 'lean' ? this.lean() : this.grpc();
  }

  /**
   * The undici dispatcher to this endpoint, created on first use: a Pool for HTTP/1.1, or one
   * multiplexed HTTP/2 prior-knowledge (h2c) connection when `h2`.
   */
  http(h2: boolean): Dispatcher {
    const tls = this.tls;
    if (tls !== undefined && tls.generation !== this.tlsGeneration) this.drainRotated();
    const { host, port } = this.endpoint;
    if (h2) {
      this.http2 ??= tls === undefined
        ? new (undici().H2CClient)(`http://${this.endpoint.id}`, {})
        : new (undici().Client)(`https://${this.endpoint.id}`, { allowH2: true, connect: undiciConnect(tls, host, port, true) });
      return this.http2;
    }
    this.http1 ??= tls === undefined
      ? new (undici().Pool)(`http://${this.endpoint.id}`, { ...this.options.httpOptions })
      : new (undici().Pool)(`https://${this.endpoint.id}`, { ...this.options.httpOptions, connect: undiciConnect(tls, host, port, false) });
    return this.http1;
  }

  /**
   * The resource kept under `key` for this endpoint, created by `create` on first use. It lives as
   * long as the entry and is closed with it (after the endpoint drained, or at pool close).
   */
  attachment<T extends EndpointAttachment>(key: object, create: (endpoint: Endpoint, tls: ClientTls | undefined) => T): T {
    if (this.tls !== undefined && this.tls.generation !== this.tlsGeneration) this.drainRotated();
    this.attachments ??= new Map();
    let found = this.attachments.get(key);
    if (found === undefined) {
      found = create(this.endpoint, this.tls);
      this.attachments.set(key, found);
    }
    return found as T;
  }

  /** The resource kept under `key`, if one was created. */
  existingAttachment(key: object): EndpointAttachment | undefined {
    return this.attachments?.get(key);
  }

  /** True while a gRPC channel (grpc-js or lean) exists (for tests and stats). */
  get hasGrpcChannel(): boolean {
    return this.grpcChannel !== undefined || this.leanChannel !== undefined;
  }

  /** True while nothing was opened for this entry (no channel, dispatcher or attachment): closing it has nothing to wait for. */
  get idle(): boolean {
    return this.grpcChannel === undefined && this.leanChannel === undefined && this.http1 === undefined && this.http2 === undefined && this.attachments === undefined;
  }

  /** Closes every connection: gracefully when `graceful`, else at once. */
  close(graceful: boolean): Promise<void> {
    const pending: Promise<unknown>[] = [];
    this.grpcChannel?.close();
    this.grpcChannel = undefined;
    this.leanChannel?.close();
    this.leanChannel = undefined;
    for (const dispatcher of [this.http1, this.http2]) {
      if (dispatcher) pending.push((graceful ? dispatcher.close() : dispatcher.destroy()).catch(() => undefined));
    }
    this.http1 = undefined;
    this.http2 = undefined;
    if (this.attachments) {
      for (const attachment of this.attachments.values()) pending.push(Promise.resolve(attachment.close(graceful)).catch(() => undefined));
      this.attachments = undefined;
    }
    return Promise.all(pending).then(() => undefined);
  }
}

export class TransportPool {
  private readonly entries = new Map<string, EndpointTransports>();
  private readonly closing = new Set<Promise<void>>();
  /** Called with an endpoint id after its connections were closed (drained and gone). */
  onRetired: ((id: string) => void) | undefined = undefined;

  constructor(private readonly options: TransportPoolOptions = {}) {}

  /** A cluster lists `endpoint`, reached with `tls` (undefined = plaintext). */
  join(endpoint: Endpoint, tls?: ClientTls): void {
    this.entry(endpoint, tls).members++;
  }

  /** A cluster no longer lists the entry `key` (`transportKey`); its connections close once no call holds them. */
  leave(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    entry.members = Math.max(0, entry.members - 1);
    this.retireIfUnused(entry);
  }

  /** Leases the transports to `endpoint` secured by `tls` for one call; pair with `release`. */
  acquire(endpoint: Endpoint, tls?: ClientTls): EndpointTransports {
    const entry = this.entry(endpoint, tls);
    entry.leases++;
    return entry;
  }

  release(entry: EndpointTransports): void {
    entry.leases--;
    this.retireIfUnused(entry);
  }

  /**
   * Closes the connections of entry `key` at once (calls on them end with an error); the entry stays and
   * opens new connections for later calls. A cluster's `close_connections_on_host_health_failure`.
   */
  closeConnections(key: string): void {
    void this.entries.get(key)?.close(false);
  }

  /** The live entry for a pool key (an endpoint id for plaintext, see `transportKey`), if any. */
  get(key: string): EndpointTransports | undefined {
    return this.entries.get(key);
  }

  /** Closes every connection at once and waits for graceful closes in progress. */
  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all([...all.map((e) => e.close(false)), ...this.closing]);
  }

  private entry(endpoint: Endpoint, tls: ClientTls | undefined): EndpointTransports {
    const key = tls === undefined ? endpoint.id : transportKey(endpoint, tls);
    let entry = this.entries.get(key);
    if (!entry) {
      entry = new EndpointTransports(this, endpoint, this.options, tls);
      this.entries.set(key, entry);
    }
    return entry;
  }

  private retireIfUnused(entry: EndpointTransports): void {
    if (entry.members > 0 || entry.leases > 0) return;
    if (this.entries.get(entry.id) !== entry) return;
    this.entries.delete(entry.id);
    if (entry.idle) {
      // Nothing to drain (an endpoint listed and removed before any call used it): no promise per entry.
      const onRetired = this.onRetired;
      if (onRetired !== undefined) queueMicrotask(() => onRetired(entry.id));
      return;
    }
    const closing = entry.close(true).finally(() => {
      this.closing.delete(closing);
      this.onRetired?.(entry.id);
    });
    this.closing.add(closing);
  }
}

/** The grpc-js channel options the lean transport can read (string and number values). */
function leanOptionsOf(options: grpc.ChannelOptions | undefined): LeanChannelOptions | undefined {
  if (options === undefined) return undefined;
  const out: Record<string, string | number> = {};
  for (const key in options) {
    const value: unknown = options[key];
    if (typeof value === 'string' || typeof value === 'number') out[key] = value;
  }
  return out;
}
