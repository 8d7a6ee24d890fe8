/**
 * The fast unary API for one logical target: serialized messages in and out on the lean
 * transport's callback path, every mesh policy applied (route, filters, rate limits, retries and
 * timeouts, circuit breakers, balancing, outlier detection). It skips grpc-js's `Client` layer, so
 * it is the cheapest way through the mesh; generated grpc-js stubs use `Mesh.grpcClient` instead.
 */
import type { HeaderMap } from '@xmesh/core';
import type { LeanMetadata } from '@xmesh/grpc-lean';
import type { RouteRequest } from '@xmesh/router';
import { FastUnaryCall, type FastCallHost, type FastCallOptions, type FastUnaryCallback, type FastUnaryReceiver } from './fast-unary-call.js';
import { authorityOf, type Target } from './targets.js';

/** Paths whose route requests (calls without metadata) are kept per client. */
const MAX_SHARED_REQUESTS = 256;

/** A unary method's codecs; `loadProtoCodecs(files).method('/pkg.Svc/Method')` of `@xmesh/codec` fits. */
export interface UnaryMethod<Req, Res> {
  readonly path: string;
  readonly request: { encode(message: Req): Uint8Array };
  readonly response: { decode(bytes: Uint8Array): Res };
}

export class MeshUnaryClient {
  /** The `:authority` routes match and upstreams see (the target without a `dns:` scheme; an `xds:///` target's name). */
  readonly authority: string;
  /** The Listener an `xds:///` target names; undefined for authority routing. */
  readonly listener: string | undefined;
  private readonly sharedRequests = new Map<string, RouteRequest>();

  /** @param resolved what `target` names (see targets.ts); default: its authority, routed by the router's rules */
  constructor(
    private readonly host: FastCallHost,
    readonly target: string,
    resolved: Target = { authority: authorityOf(target), listener: undefined },
  ) {
    this.authority = resolved.authority;
    this.listener = resolved.listener;
  }

  /**
   * Unary call, callback form (the leanest: no promise). `path` is `/pkg.Service/Method`,
   * `request` the serialized request message. The callback gets the serialized reply or a
   * MeshError, once, on a later tick. The returned call's `cancel()` ends it with CANCELLED.
   */
  unaryCallback(path: string, request: Uint8Array, options: FastCallOptions | undefined, callback: FastUnaryCallback | FastUnaryReceiver): FastUnaryCall {
    return new FastUnaryCall(this.host, this.authority, path, request, options, callback).start(this.routeRequest(path, options?.metadata));
  }

  /** Unary call: resolves with the serialized reply, rejects with a MeshError (`grpcStatus` set). */
  unary(path: string, request: Uint8Array, options?: FastCallOptions): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.unaryCallback(path, request, options, (error, reply) => (error === null ? resolve(reply!) : reject(error)));
    });
  }

  /** Unary call with message objects: `method` encodes the request and decodes the reply. */
  async call<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, options?: FastCallOptions): Promise<Res> {
    const reply = await this.unary(method.path, method.request.encode(request), options);
    return method.response.decode(reply);
  }

  /** What the router sees: shared per path for calls without metadata, built per call otherwise. */
  private routeRequest(path: string, metadata: LeanMetadata | undefined): RouteRequest {
    if (metadata === undefined) {
      let shared = this.sharedRequests.get(path);
      if (shared === undefined) {
        shared = buildRouteRequest(this.authority, this.listener, path, undefined);
        if (this.sharedRequests.size < MAX_SHARED_REQUESTS) this.sharedRequests.set(path, shared);
      }
      return shared;
    }
    return buildRouteRequest(this.authority, this.listener, path, metadata);
  }
}

/** Pseudo-headers, content-type, and the first text value of every metadata entry. */
function buildRouteRequest(authority: string, listener: string | undefined, path: string, metadata: LeanMetadata | undefined): RouteRequest {
  const headers = new Map<string, string>([
    [':authority', authority],
    [':path', path],
    [':method', 'POST'],
    ['content-type', 'application/grpc'],
  ]);
  if (metadata !== undefined) {
    for (const key in metadata) {
      if (key.endsWith('-bin')) continue;
      const value = metadata[key];
      const first = Array.isArray(value) ? (value as readonly unknown[])[0] : value;
      if (typeof first === 'string') headers.set(key, first);
    }
  }
  return Object.freeze({ authority, path, method: 'POST', headers: headers as HeaderMap, grpc: true, listener });
}
