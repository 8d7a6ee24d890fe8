/**
 * Unary and streaming methods of `Mesh.grpcClient` clients on the fast path. A stock grpc-js generated client
 * runs every call through its `Client` layer (interceptor chain, call stream, Metadata objects);
 * here its unary methods (and `makeUnaryRequest`) are replaced, on that client instance only, by
 * one that keeps grpc-js's API — the argument overloads, the callback (so `util.promisify`), the
 * returned call (an EventEmitter with `metadata` then `status`, `cancel()`, `getPeer()`), errors
 * as grpc-js `ServiceError`s — and sends the serialized request through the mesh's fast unary call
 * (`FastUnaryCall`, the lean transport), every mesh policy applied.
 *
 * What the fast path does not do, the call leaves to grpc-js's own `makeUnaryRequest` over the
 * mesh channel, as before: calls with interceptors (client options or call options), per-call
 * `credentials`, `host`, `parent` / `propagate_flags`, and every call while the mesh-wide gRPC
 * transport is grpc-js or a cluster of the current snapshot names grpc-js (`xmesh.transport`).
 * A client built with its own `callInvocationTransformer` keeps grpc-js's path for all calls.
 *
 * Streaming methods (and `make{ServerStream,BidiStream,ClientStream}Request`) are replaced the same
 * way and with the same exceptions, except the transport: their calls are the mesh channel's, on
 * whichever transport the pipeline picks (grpc-client-streams.ts).
 */
import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { ErrorCode, GrpcStatus, MeshError } from '@xmesh/core';
import { grpcJs } from './lazy-deps.js';
import { decodeGrpcMessage, LeanCallError, toGrpcMetadata, type LeanMetadata, type RawMetadata } from '@xmesh/grpc-lean';
import type { MeshSnapshot } from '@xmesh/xds';
import type { FastCallOptions, FastUnaryAttempt, FastUnaryCall, FastUnaryReceiver } from './fast-unary-call.js';
import type { GrpcTransportKind } from './grpc-transport-kind.js';
import { statusFromMeshError } from './grpc-status.js';
import { localReplyOf } from './local-reply.js';
import type { MeshState } from './mesh-state.js';
import { overrideHeaders, type CallOverrides } from './retry/call-overrides.js';
import type { MeshUnaryClient } from './unary-client.js';
import { embeddedRewrite, MetadataHeaders } from './upstream-rewrite.js';
import { bidiStreamCall, clientStreamCall, serverStreamCall, serviceError, type StreamMethod } from './grpc-client-streams.js';

type UnaryCallback = grpc.requestCallback<unknown>;
type Serialize = (value: unknown) => Buffer;
type Deserialize = (bytes: Buffer) => unknown;

/** What a client's fast unary methods need: the fast client of its target, and the state its channel reads. */
export interface FastStubHost {
  /** The state new calls of this client read (the channel's: an error once it or the mesh closed). */
  state(): MeshState | MeshError;
  readonly unary: MeshUnaryClient;
  /** The client's mesh channel: streaming calls are its calls, without grpc-js's `Client` layer. */
  readonly channel: grpc.ChannelInterface;
}

/**
 * The mesh's side of the fast unary methods: which snapshots let them run (every cluster on the lean
 * transport), kept per snapshot. One per mesh.
 */
export class FastStubs {
  private readonly leanOnly = new WeakMap<MeshSnapshot, boolean>();

  /** @param defaultTransport the mesh-wide gRPC transport (clusters that name none use it) */
  constructor(private readonly defaultTransport: GrpcTransportKind) {}

  /**
   * Installs the fast unary methods on `client` (a grpc-js client built by `grpcClient` over the mesh
   * channel); leaves it as it is when the fast path cannot serve it (see the module comment).
   */
  install(client: grpc.Client, host: FastStubHost, options: Partial<grpc.ClientOptions>): void {
    if (!(client instanceof grpcJs().Client)) return;
    if (options.callInvocationTransformer !== undefined || hasEntries(options.interceptors) || hasEntries(options.interceptor_providers)) return;
    const service = (client.constructor as { service?: unknown }).service;
    if (typeof service !== 'object' || service === null) return;
    const stub = new FastStub(this, client, host);
    // Unary calls run on the fast unary API, which is the lean transport's; streams run on any transport.
    const unary = this.defaultTransport === 'lean';
    if (unary) {
      define(client, 'makeUnaryRequest', function makeUnaryRequest(path: string, serialize: Serialize, deserialize: Deserialize, argument: unknown, a?: unknown, b?: unknown, c?: unknown) {
        return stub.call(path, serialize, deserialize, argument, a, b, c);
      });
    }
    installStreamRequests(client, stub);
    for (const [name, value] of Object.entries(service as Record<string, unknown>)) {
      const definition = value as Partial<grpc.MethodDefinition<unknown, unknown>> | null;
      if (definition === null || typeof definition !== 'object') continue;
      const { path, requestSerialize, responseDeserialize } = definition;
      if (typeof path !== 'string' || typeof requestSerialize !== 'function' || typeof responseDeserialize !== 'function') continue;
      const method = unary && definition.requestStream === false && definition.responseStream === false
        ? function (argument: unknown, a?: unknown, b?: unknown, c?: unknown): grpc.ClientUnaryCall {
          return stub.call(path, requestSerialize as Serialize, responseDeserialize as Deserialize, argument, a, b, c);
        }
        : streamMethod(stub, definition, { path, serialize: requestSerialize as Serialize, deserialize: responseDeserialize as Deserialize });
      if (method === undefined) continue;
      // grpc-js hangs the method's definition on its methods; keep that.
      Object.assign(method, definition);
      if (!UNSAFE_NAMES.has(name)) define(client, name, method);
      const original = definition.originalName;
      if (typeof original === 'string' && !UNSAFE_NAMES.has(original)) define(client, original, method);
    }
  }

  /** True when every cluster of `snapshot` uses the lean transport, so the fast path is the one its calls would take. */
  servesSnapshot(snapshot: MeshSnapshot): boolean {
    let lean = this.leanOnly.get(snapshot);
    if (lean === undefined) {
      lean = true;
      for (const name in snapshot.clusters) {
        const transport = snapshot.clusters[name]!.xmesh.transport;
        if (transport !== undefined && transport !== 'lean') lean = false;
      }
      this.leanOnly.set(snapshot, lean);
    }
    return lean;
  }
}

/** Names grpc-js itself refuses as method names. */
const UNSAFE_NAMES: ReadonlySet<string> = new Set(['__proto__', 'prototype', 'constructor']);

function hasEntries(list: readonly unknown[] | undefined): boolean {
  return list !== undefined && list.length > 0;
}

/** The replacement of a generated streaming method; undefined for a unary one (left to grpc-js). */
function streamMethod(stub: FastStub, definition: Partial<grpc.MethodDefinition<unknown, unknown>>, method: StreamMethod): ((...args: unknown[]) => unknown) | undefined {
  if (definition.requestStream === false && definition.responseStream === true) {
    return (argument: unknown, a?: unknown, b?: unknown) => stub.serverStream(method, argument, a, b);
  }
  if (definition.requestStream === true && definition.responseStream === true) {
    return (a?: unknown, b?: unknown) => stub.bidiStream(method, a, b);
  }
  if (definition.requestStream === true && definition.responseStream === false) {
    return (a?: unknown, b?: unknown, c?: unknown) => stub.clientStream(method, a, b, c);
  }
  return undefined;
}

/** Replaces the client's `make*StreamRequest` methods with the stub's. */
function installStreamRequests(client: grpc.Client, stub: FastStub): void {
  define(client, 'makeServerStreamRequest', function makeServerStreamRequest(path: string, serialize: Serialize, deserialize: Deserialize, argument: unknown, a?: unknown, b?: unknown) {
    return stub.serverStream({ path, serialize, deserialize }, argument, a, b);
  });
  define(client, 'makeBidiStreamRequest', function makeBidiStreamRequest(path: string, serialize: Serialize, deserialize: Deserialize, a?: unknown, b?: unknown) {
    return stub.bidiStream({ path, serialize, deserialize }, a, b);
  });
  define(client, 'makeClientStreamRequest', function makeClientStreamRequest(path: string, serialize: Serialize, deserialize: Deserialize, a?: unknown, b?: unknown, c?: unknown) {
    return stub.clientStream({ path, serialize, deserialize }, a, b, c);
  });
}

function define(target: object, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable: false });
}

type GrpcJsUnary = (
  this: grpc.Client, path: string, serialize: Serialize, deserialize: Deserialize, argument: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, callback: UnaryCallback,
) => grpc.ClientUnaryCall;
/** grpc-js's own `makeUnaryRequest` (its full overload), for the calls the fast path leaves to it. */
const grpcJsUnary = (): GrpcJsUnary => grpcJs().Client.prototype.makeUnaryRequest as GrpcJsUnary;
/** grpc-js's own streaming requests (their full overloads), for the calls the fast path leaves to them. */
type GrpcJsStreams = {
  makeServerStreamRequest(this: grpc.Client, path: string, serialize: Serialize, deserialize: Deserialize, argument: unknown, metadata: grpc.Metadata, options: grpc.CallOptions): grpc.ClientReadableStream<unknown>;
  makeBidiStreamRequest(this: grpc.Client, path: string, serialize: Serialize, deserialize: Deserialize, metadata: grpc.Metadata, options: grpc.CallOptions): grpc.ClientDuplexStream<unknown, unknown>;
  makeClientStreamRequest(
    this: grpc.Client, path: string, serialize: Serialize, deserialize: Deserialize, metadata: grpc.Metadata, options: grpc.CallOptions, callback: UnaryCallback,
  ): grpc.ClientWritableStream<unknown>;
};
const grpcJsStreams = (): GrpcJsStreams => grpcJs().Client.prototype as unknown as GrpcJsStreams;

/** The fast methods of one client: unary, and the three streaming kinds. */
class FastStub {
  constructor(
    private readonly stubs: FastStubs,
    private readonly client: grpc.Client,
    private readonly host: FastStubHost,
  ) {}

  /** grpc-js's `makeUnaryRequest`, on the fast path when it can serve the call. */
  call(path: string, serialize: Serialize, deserialize: Deserialize, argument: unknown, a: unknown, b: unknown, c: unknown): grpc.ClientUnaryCall {
    const { metadata, options, callback } = unaryResponseArguments(a, b, c);
    if (!this.serves(options)) {
      return grpcJsUnary().call(this.client, path, serialize, deserialize, argument, metadata ?? new (grpcJs().Metadata)(), options ?? {}, callback);
    }
    const call = new MeshUnaryCall(deserialize, callback);
    let request: Buffer;
    try {
      request = serialize(argument);
    } catch (error) {
      const status = { code: GrpcStatus.INTERNAL, details: `Request message serialization failure: ${messageOf(error)}`, metadata: new (grpcJs().Metadata)() };
      process.nextTick(() => call.fail(status));
      return call;
    }
    call.start(this.host.unary.unaryCallback(path, request, fastOptions(metadata, options), call));
    return call;
  }

  /** grpc-js's `makeServerStreamRequest`: (argument, metadata?, options?). */
  serverStream(method: StreamMethod, argument: unknown, a: unknown, b: unknown): grpc.ClientReadableStream<unknown> {
    const metadata = a instanceof grpcJs().Metadata ? a : undefined;
    const options = ((metadata === undefined ? a : b) ?? {}) as grpc.CallOptions;
    if (!servesOptions(options)) {
      return grpcJsStreams().makeServerStreamRequest.call(this.client, method.path, method.serialize, method.deserialize, argument, metadata ?? new (grpcJs().Metadata)(), options);
    }
    return serverStreamCall(this.host.channel, method, argument, metadata, options);
  }

  /** grpc-js's `makeBidiStreamRequest`: (metadata?, options?). */
  bidiStream(method: StreamMethod, a: unknown, b: unknown): grpc.ClientDuplexStream<unknown, unknown> {
    const metadata = a instanceof grpcJs().Metadata ? a : undefined;
    const options = ((metadata === undefined ? a : b) ?? {}) as grpc.CallOptions;
    if (!servesOptions(options)) {
      return grpcJsStreams().makeBidiStreamRequest.call(this.client, method.path, method.serialize, method.deserialize, metadata ?? new (grpcJs().Metadata)(), options);
    }
    return bidiStreamCall(this.host.channel, method, metadata, options);
  }

  /** grpc-js's `makeClientStreamRequest`: (metadata?, options?, callback), as the unary overloads. */
  clientStream(method: StreamMethod, a: unknown, b: unknown, c: unknown): grpc.ClientWritableStream<unknown> {
    const { metadata, options, callback } = unaryResponseArguments(a, b, c);
    if (options !== undefined && !servesOptions(options)) {
      return grpcJsStreams().makeClientStreamRequest.call(this.client, method.path, method.serialize, method.deserialize, metadata ?? new (grpcJs().Metadata)(), options, callback);
    }
    return clientStreamCall(this.host.channel, method, metadata, options ?? {}, callback);
  }

  /** Whether the fast path can make this call exactly as grpc-js's path over the mesh channel would. */
  private serves(options: grpc.CallOptions | undefined): boolean {
    if (options !== undefined && !servesOptions(options)) return false;
    const state = this.host.state();
    // A closed channel or mesh: the fast call fails as grpc-js's path would.
    return state instanceof MeshError || this.stubs.servesSnapshot(state.snapshot);
  }
}

/** Call options the fast path honours: none of interceptors, per-call credentials, `host`, a parent call. */
function servesOptions(options: grpc.CallOptions): boolean {
  if (hasEntries(options.interceptors) || hasEntries(options.interceptor_providers)) return false;
  if (options.credentials !== undefined || options.host !== undefined) return false;
  return (options.parent === undefined || options.parent === null) && options.propagate_flags === undefined;
}

/** grpc-js's overloads of a unary-response call: (callback), (metadata, callback), (options, callback), (metadata, options, callback). */
function unaryResponseArguments(a: unknown, b: unknown, c: unknown): { metadata: grpc.Metadata | undefined; options: (grpc.CallOptions & CallOverrides) | undefined; callback: UnaryCallback } {
  if (typeof a === 'function') return { metadata: undefined, options: undefined, callback: a as UnaryCallback };
  if (typeof b === 'function') {
    return a instanceof grpcJs().Metadata
      ? { metadata: a, options: undefined, callback: b as UnaryCallback }
      : { metadata: undefined, options: a as grpc.CallOptions, callback: b as UnaryCallback };
  }
  if (!(a instanceof grpcJs().Metadata && b instanceof Object && typeof c === 'function')) throw new Error('Incorrect arguments passed');
  return { metadata: a, options: b as grpc.CallOptions, callback: c as UnaryCallback };
}

/** The fast call's metadata (with the call's timeout and retry overrides) and deadline; undefined when it has neither. */
function fastOptions(metadata: grpc.Metadata | undefined, options: (grpc.CallOptions & CallOverrides) | undefined): FastCallOptions | undefined {
  let lean = metadata === undefined ? undefined : leanMetadataOf(metadata);
  if (options === undefined) return lean === undefined ? undefined : { metadata: lean };
  if (options.timeoutMs !== undefined || options.maxRetries !== undefined || options.retryOn !== undefined) {
    const pairs = overrideHeaders(options);
    if (pairs.length > 0) lean = { ...lean, ...Object.fromEntries(pairs) };
  }
  const deadline = options.deadline;
  if (lean === undefined && deadline === undefined) return undefined;
  if (deadline === undefined) return { metadata: lean };
  return lean === undefined ? { deadline } : { metadata: lean, deadline };
}

/** grpc-js Metadata as the lean transport's: every value of every key (`-bin` values as bytes); undefined when empty. */
function leanMetadataOf(metadata: grpc.Metadata): LeanMetadata | undefined {
  const entries = metadata.toJSON();
  let out: Record<string, LeanMetadata[string]> | undefined = undefined;
  for (const key in entries) {
    const values = entries[key]!;
    if (values.length === 0) continue;
    (out ??= {})[key] = values.length === 1 ? values[0]! : values;
  }
  return out;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The call object a fast unary method returns, as grpc-js's `ClientUnaryCall`: `metadata` (response
 * headers) and then `status` events, the callback before `status`, `cancel()` ending the call with
 * CANCELLED, `getPeer()` the endpoint the call went to.
 */
class MeshUnaryCall extends EventEmitter implements FastUnaryReceiver {
  private fast: FastUnaryCall | undefined = undefined;
  private cancelled = false;
  private ended = false;

  constructor(
    private readonly deserialize: Deserialize,
    private readonly callback: UnaryCallback,
  ) {
    super();
  }

  /** @internal */
  start(fast: FastUnaryCall): void {
    this.fast = fast;
  }

  cancel(): void {
    if (this.ended || this.cancelled) return;
    this.cancelled = true;
    this.fast?.cancel(CANCELLED_DETAILS);
  }

  getPeer(): string {
    return this.fast?.peer ?? 'unknown';
  }

  getAuthContext(): null {
    return null;
  }

  onFastHeaders(headers: RawMetadata, attempt: FastUnaryAttempt): void {
    if (this.listenerCount('metadata') === 0) return;
    const metadata = toGrpcMetadata(headers);
    const added = attempt.responseHeadersToAdd;
    if (added !== undefined) for (const name in added) metadata.set(name, added[name]!);
    const rewrite = embeddedRewrite(attempt);
    if (rewrite?.mutatesResponseHeaders === true) rewrite.responseHeaders(new MetadataHeaders(metadata), attempt.request);
    this.emit('metadata', metadata);
  }

  onFastEnd(error: MeshError | null, reply: Buffer | null, trailers: RawMetadata | null): void {
    if (error !== null) {
      this.fail(this.cancelled ? cancelledStatus() : statusOf(error));
      return;
    }
    let message: unknown;
    try {
      message = this.deserialize(reply!);
    } catch (failure) {
      this.fail({ code: GrpcStatus.INTERNAL, details: `Response message parsing error: ${messageOf(failure)}`, metadata: new (grpcJs().Metadata)() });
      return;
    }
    this.ended = true;
    this.callback(null, message);
    if (this.listenerCount('status') > 0) {
      const metadata = trailers === null ? new (grpcJs().Metadata)() : toGrpcMetadata(trailers);
      this.emit('status', { code: GrpcStatus.OK, details: decodeGrpcMessage(trailers?.['grpc-message']), metadata });
    }
  }

  /** @internal Ends the call with `status` (not OK): the callback gets it as a ServiceError, then the `status` event. */
  fail(status: grpc.StatusObject): void {
    if (this.ended) return;
    this.ended = true;
    this.callback(serviceError(status));
    this.emit('status', status);
  }
}

const CANCELLED_DETAILS = 'Cancelled on client';

function cancelledStatus(): grpc.StatusObject {
  return { code: GrpcStatus.CANCELLED, details: CANCELLED_DETAILS, metadata: new (grpcJs().Metadata)() };
}

/**
 * The status grpc-js's path over the mesh channel reports for `error`: the upstream's own status (its
 * code, details and trailers) when it answered; a mesh-originated failure (a TLS handshake that failed
 * included) as `statusFromMeshError` words it.
 */
function statusOf(error: MeshError): grpc.StatusObject {
  const cause = error.cause;
  if (cause instanceof LeanCallError && error.code !== ErrorCode.TLS_HANDSHAKE_FAILED) {
    return { code: cause.code, details: cause.details, metadata: cause.metadata === null ? new (grpcJs().Metadata)() : toGrpcMetadata(cause.metadata) };
  }
  // A local reply the listener's local_reply_config rewrote: worded as grpc-js's path words it.
  const local = localReplyOf(error);
  return local === undefined ? statusFromMeshError(error) : statusFromMeshError(local.original, local.rewrite);
}
