/**
 * Connections per endpoint, keyed by `Endpoint.id`, shared by every cluster that lists the endpoint
 * and kept across config swaps. An entry lives while a cluster lists it (membership) or a call holds
 * it (lease); when both reach zero its connections are closed, so a removed endpoint drains first.
 */
import * as grpc from '@grpc/grpc-js';
import { H2CClient, Pool, type Dispatcher } from 'undici';
import type { Endpoint } from '@xmesh/core';
import { LeanChannel, type LeanChannelOptions } from '@xmesh/grpc-lean';
import type { GrpcTransportKind } from './grpc-transport-kind.js';

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
}

export class EndpointTransports {
  /** Clusters listing this endpoint. */
  members = 0;
  /** Calls holding a lease. */
  leases = 0;
  private grpcChannel: grpc.Channel | undefined = undefined;
  private leanChannel: LeanChannel | undefined = undefined;
  private http1: Pool | undefined = undefined;
  private http2: H2CClient | undefined = undefined;
  /** Resources other front ends keep per endpoint (e.g. a proxy's upstream session), closed with the entry. */
  private attachments: Map<object, EndpointAttachment> | undefined = undefined;

  constructor(
    readonly pool: TransportPool,
    readonly endpoint: Endpoint,
    private readonly options: TransportPoolOptions,
  ) {}

  get id(): string {
    return this.endpoint.id;
  }

  /** The grpc-js channel to this endpoint, created on first use. */
  grpc(): grpc.Channel {
    this.grpcChannel ??= new grpc.Channel(this.endpoint.id, this.options.grpcCredentials ?? grpc.credentials.createInsecure(), {
      ...this.options.grpcOptions,
      'grpc.use_local_subchannel_pool': 1,
    });
    return this.grpcChannel;
  }

  /** The lean (node:http2) gRPC channel to this endpoint, created on first use. */
  lean(): LeanChannel {
    this.leanChannel ??= LeanChannel.forEndpoint(this.endpoint, leanOptionsOf(this.options.grpcOptions));
    return this.leanChannel;
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
    if (h2) {
      this.http2 ??= new H2CClient(`http://${this.endpoint.id}`, {});
      return this.http2;
    }
    this.http1 ??= new Pool(`http://${this.endpoint.id}`, { ...this.options.httpOptions });
    return this.http1;
  }

  /**
   * The resource kept under `key` for this endpoint, created by `create` on first use. It lives as
   * long as the entry and is closed with it (after the endpoint drained, or at pool close).
   */
  attachment<T extends EndpointAttachment>(key: object, create: (endpoint: Endpoint) => T): T {
    this.attachments ??= new Map();
    let found = this.attachments.get(key);
    if (found === undefined) {
      found = create(this.endpoint);
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

  /** A cluster lists `endpoint`. */
  join(endpoint: Endpoint): void {
    this.entry(endpoint).members++;
  }

  /** A cluster no longer lists the endpoint; its connections close once no call holds them. */
  leave(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.members = Math.max(0, entry.members - 1);
    this.retireIfUnused(entry);
  }

  /** Leases the endpoint's transports for one call; pair with `release`. */
  acquire(endpoint: Endpoint): EndpointTransports {
    const entry = this.entry(endpoint);
    entry.leases++;
    return entry;
  }

  release(entry: EndpointTransports): void {
    entry.leases--;
    this.retireIfUnused(entry);
  }

  /** The live entry for an endpoint id, if any. */
  get(id: string): EndpointTransports | undefined {
    return this.entries.get(id);
  }

  /** Closes every connection at once and waits for graceful closes in progress. */
  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all([...all.map((e) => e.close(false)), ...this.closing]);
  }

  private entry(endpoint: Endpoint): EndpointTransports {
    let entry = this.entries.get(endpoint.id);
    if (!entry) {
      entry = new EndpointTransports(this, endpoint, this.options);
      this.entries.set(endpoint.id, entry);
    }
    return entry;
  }

  private retireIfUnused(entry: EndpointTransports): void {
    if (entry.members > 0 || entry.leases > 0) return;
    if (this.entries.get(entry.id) !== entry) return;
    this.entries.delete(entry.id);
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
