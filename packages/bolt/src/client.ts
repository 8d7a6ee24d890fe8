/**
 * Bolt calls through a mesh: the pooled, multiplexed connections per endpoint (kept in the mesh's
 * transport pool, so they live while a cluster lists the endpoint and drain when it goes), the
 * connections to the sidecar's Bolt listener in sidecar mode, and the fast bytes API.
 */
import { MeshError, type Endpoint } from '@xmesh/core';
import { endpointOfAddress, type Invoke, type Mesh } from '@xmesh/client';
import { encodeBoltHeaders, SOFA_REQUEST_CLASS, type BoltFrame } from '@xmesh/codec';
import type { RouteRequest } from '@xmesh/router';
import { BoltCall, BoltAttempt, boltTransport, type BoltCallHost, type BoltCallback, type BoltRequest } from './bolt-call.js';
import { BoltEndpointConnections, type BoltConnectionOptions } from './connection.js';
import { boltRouteRequest } from './route-request.js';

/** Where the xmesh sidecar's Bolt listener is by default (docs/config.md). */
export const DEFAULT_BOLT_SIDECAR_ADDRESS = '127.0.0.1:12220';

export interface BoltClientOptions {
  /** `host:port` of the sidecar's Bolt listener, for the calls the mode switch sends to the sidecar; default `127.0.0.1:12220`. */
  readonly sidecarAddress?: string;
  /** Connection settings; `size` connections per endpoint (default 1: one multiplexed connection). The cluster's `connect_timeout` applies. */
  readonly connection?: BoltConnectionOptions & { readonly size?: number };
}

/** One call of the bytes API. */
export interface BoltBytesCall {
  /** SOFA's target service name, `interface:version[:uniqueId]`; sent as the `service` header and routed on. */
  readonly service: string;
  /** Routed on (`/<interface>/<method>`); for protobuf also sent as `sofa_head_method_name`. */
  readonly method: string;
  /** The codec byte (`BoltCodec.HESSIAN2`, `BoltCodec.PROTOBUF`). */
  readonly codec: number;
  /** The serialized content. */
  readonly content: Uint8Array;
  /** Header-map entries to send; default `{ service }`. Every entry also feeds route header matches. */
  readonly headers?: ReadonlyMap<string, string>;
  /** Default `com.alipay.sofa.rpc.core.request.SofaRequest`. */
  readonly className?: string;
  /** The caller's timeout, ms (sent in the frame, and the call's deadline); 0 or absent: the route timeout alone. */
  readonly timeoutMs?: number;
  /** The consumer's group (routes may match `x-sofa-group`); not sent. */
  readonly group?: string;
  /** Send as a oneway request: nothing is answered; `call` resolves with null once it is written. */
  readonly oneway?: boolean;
}

const SOFA_REQUEST_CLASS_BYTES = Buffer.from(SOFA_REQUEST_CLASS, 'latin1');
/** Route requests of calls without extra headers, kept per service and method (bounded). */
const MAX_SHARED_ROUTES = 1024;

export class MeshBoltClient implements BoltCallHost {
  readonly invoke: Invoke<BoltAttempt>;
  private readonly key = {};
  private readonly sidecar: Endpoint;
  private sidecarConnections: BoltEndpointConnections | undefined = undefined;
  private readonly shared = new Map<string, { readonly route: RouteRequest; readonly headers: ReadonlyMap<string, string>; readonly header: Buffer }>();
  private closed = false;

  constructor(
    private readonly mesh: Mesh,
    private readonly options: BoltClientOptions = {},
  ) {
    this.invoke = mesh.pipelineFor(boltTransport);
    this.sidecar = endpointOf(options.sidecarAddress ?? DEFAULT_BOLT_SIDECAR_ADDRESS);
  }

  state() {
    return this.closed ? new MeshError('XMESH_CLOSED', 'the Bolt client is closed') : this.mesh.state();
  }

  /** @internal The connections for an attempt: the picked endpoint's, or the sidecar's Bolt listener's. */
  connectionsOf(attempt: BoltAttempt): BoltEndpointConnections {
    if (attempt.mode === 'sidecar') {
      this.sidecarConnections ??= new BoltEndpointConnections(this.sidecar.id, this.sidecar.host, this.sidecar.port, this.options.connection);
      return this.sidecarConnections;
    }
    const connectTimeoutMs = attempt.cluster?.config.connectTimeoutMs;
    return attempt.transports!.attachment(this.key, (endpoint) => new BoltEndpointConnections(endpoint.id, endpoint.host, endpoint.port, {
      ...this.options.connection,
      ...(connectTimeoutMs === undefined ? {} : { connectTimeoutMs }),
    }));
  }

  /**
   * The bytes API, callback form (the leanest): the content goes out as given, the response frame
   * (any status: read `frame.status`) or a MeshError comes back once, on a later tick.
   */
  callback(call: BoltBytesCall, callback: BoltCallback): BoltCall {
    const { route, headers, header } = this.routeOf(call);
    const request: BoltRequest = {
      codec: call.codec,
      className: call.className === undefined ? SOFA_REQUEST_CLASS_BYTES : Buffer.from(call.className, 'latin1'),
      headers,
      header,
      content: call.content,
      ...(call.oneway === true ? { oneway: true } : {}),
    };
    return new BoltCall(this, request, call.timeoutMs ?? 0, callback).start(route);
  }

  /** The bytes API: resolves with the response frame (any status; null for a oneway call), rejects with a MeshError. */
  call(call: BoltBytesCall & { readonly oneway: true }): Promise<null>;
  call(call: BoltBytesCall): Promise<BoltFrame>;
  call(call: BoltBytesCall): Promise<BoltFrame | null> {
    return new Promise((resolve, reject) => {
      this.callback(call, (error, frame) => (error === null ? resolve(frame) : reject(error)));
    });
  }

  /** Open connections to the sidecar's Bolt listener (for tests). */
  get sidecarOpen(): number {
    return this.sidecarConnections?.open ?? 0;
  }

  /** Closes the connections to the sidecar; endpoint connections close with the mesh's pool. New calls fail with XMESH_CLOSED. */
  async close(): Promise<void> {
    this.closed = true;
    await this.sidecarConnections?.close(false);
  }

  private routeOf(call: BoltBytesCall): { route: RouteRequest; headers: ReadonlyMap<string, string>; header: Buffer } {
    if (call.headers === undefined) {
      const key = `${call.service}\n${call.method}\n${call.codec}\n${call.group ?? ''}`;
      let found = this.shared.get(key);
      if (found === undefined) {
        const headers = new Map([['service', call.service]]);
        found = { headers, header: encodeBoltHeaders(headers), route: boltRouteRequest({ service: call.service, method: call.method, codec: call.codec, headers, group: call.group }) };
        if (this.shared.size < MAX_SHARED_ROUTES) this.shared.set(key, found);
      }
      return found;
    }
    return {
      headers: call.headers,
      header: encodeBoltHeaders(call.headers),
      route: boltRouteRequest({ service: call.service, method: call.method, codec: call.codec, headers: call.headers, group: call.group }),
    };
  }
}

function endpointOf(address: string): Endpoint {
  const endpoint = endpointOfAddress(address);
  if (endpoint === undefined) throw new MeshError('XMESH_CONFIG_INVALID', `sidecarAddress must be host:port, got ${JSON.stringify(address)}`, { errors: [{ path: 'sidecarAddress', message: 'must be host:port' }] });
  return endpoint;
}
