/**
 * The sidecar's Bolt front end: each request frame from a downstream connection becomes a Bolt
 * call through the same pipeline as every other protocol (routed by the Bolt listener's routes,
 * then filters, retries, admission, pick), forwarded on the picked provider's multiplexed
 * connection with its own request id; the response goes back under the caller's id with its
 * content bytes untouched. Mesh-originated failures are answered as a SOFA server would answer a
 * failure: a response with the Bolt status of `boltStatusOfError` and the reason in its content.
 */
import { MeshError, isMeshError } from '@xmesh/core';
import {
  BoltCodec,
  BoltHeader,
  BoltType,
  SOFA_RESPONSE_CLASS,
  boltStatusOfError,
  decodeBoltHeaders,
  decodeHessianRequestHead,
  encodeBoltHeaders,
  encodeBoltResponse,
  encodeHessianServerException,
  withBoltId,
  type BoltFrame,
} from '@xmesh/codec';
import { composePipeline, type Mesh, type MeshState } from '@xmesh/client';
import { BoltCall, BoltEndpointConnections, boltRouteRequest, boltTransport, type BoltAttempt, type BoltCallHost, type BoltConnectionOptions } from '@xmesh/bolt';
import { Router, type RouteDecision } from '@xmesh/router';
import type { MeshSnapshot } from '@xmesh/xds';

/** Where the front end sends answers for one downstream connection. */
export interface BoltDownstreamSink {
  /** Writes a response frame (already carrying the caller's request id). */
  write(frame: Buffer): void;
  /** The call for the caller's request `id` ended; the sink forgets it. */
  ended(id: number): void;
  /** A oneway request could not be delivered (it has no answer to carry the error). */
  dropped(error: MeshError): void;
}

export interface BoltFrontOptions {
  /** The listener whose routes Bolt calls use. */
  readonly listener: string;
  /** Upstream connection settings (one multiplexed connection per provider by default). */
  readonly connection?: BoltConnectionOptions & { readonly size?: number };
}

export class BoltFront implements BoltCallHost {
  readonly invoke = composePipeline(boltTransport);
  private readonly key = {};
  private readonly routers = new WeakMap<MeshSnapshot, Router>();

  constructor(
    private readonly mesh: Mesh,
    private readonly options: BoltFrontOptions,
  ) {}

  state(): MeshState | MeshError {
    return this.mesh.state();
  }

  connectionsOf(attempt: BoltAttempt): BoltEndpointConnections {
    const connectTimeoutMs = attempt.cluster?.config.connectTimeoutMs;
    return attempt.transports!.attachment(this.key, (endpoint) => new BoltEndpointConnections(endpoint.id, endpoint.host, endpoint.port, {
      ...this.options.connection,
      ...(connectTimeoutMs === undefined ? {} : { connectTimeoutMs }),
    }));
  }

  /**
   * Handles one request frame; the answer goes to `sink` under `frame.id`. Returns the call (to
   * cancel when the downstream goes away), or undefined when the frame was answered at once. A
   * oneway request is routed and policed as any other and forwarded as oneway; it is never
   * answered, so a failure to deliver it is only counted (`sink.dropped`).
   */
  dispatch(frame: BoltFrame, sink: BoltDownstreamSink): BoltCall | undefined {
    const oneway = frame.type === BoltType.REQUEST_ONEWAY;
    const state = this.mesh.state();
    if (state instanceof MeshError) {
      this.answerError(frame, sink, state);
      return undefined;
    }
    let target: { service: string; method: string; headers: Map<string, string> };
    try {
      target = targetOf(frame);
    } catch (error) {
      this.answerError(frame, sink, isMeshError(error) ? error : new MeshError('XMESH_PROTOCOL', String(error)));
      return undefined;
    }
    const route = boltRouteRequest({ service: target.service, method: target.method, codec: frame.codec, headers: target.headers });
    const decision = this.routerOf(state.snapshot).route(route);
    if (decision instanceof MeshError) {
      this.answerError(frame, sink, decision);
      return undefined;
    }
    const id = frame.id;
    const call = new BoltCall(this, {
      codec: frame.codec,
      className: frame.className,
      headers: target.headers,
      header: frame.header,
      content: frame.content,
      ...(oneway ? { oneway: true } : {}),
    }, frame.timeout, (error, response) => {
      sink.ended(id);
      if (error !== null) this.answerError(frame, sink, error);
      else if (response !== null) sink.write(withBoltId(response.raw, id));
    });
    return call.start(route, decision as RouteDecision);
  }

  /** Answers `frame` with the Bolt status and reason of `error` (a oneway request is not answered: counted as dropped). */
  answerError(frame: BoltFrame, sink: BoltDownstreamSink, error: MeshError): void {
    if (frame.type === BoltType.REQUEST_ONEWAY) {
      sink.dropped(error);
      return;
    }
    const protobuf = frame.codec === BoltCodec.PROTOBUF;
    const reason = `${error.code}: ${error.message}`;
    const header = encodeBoltHeaders(protobuf ? [[BoltHeader.RESPONSE_ERROR, 'true'], ['xmesh_error_code', error.code]] : [['xmesh_error_code', error.code]]);
    const content = protobuf ? Buffer.from(reason, 'utf8') : encodeHessianServerException(reason);
    sink.write(encodeBoltResponse({ id: frame.id, codec: frame.codec, status: boltStatusOfError(error), className: SOFA_RESPONSE_CLASS, header, content }));
  }

  private routerOf(snapshot: MeshSnapshot): Router {
    let router = this.routers.get(snapshot);
    if (router === undefined) {
      router = new Router(snapshot, { listener: this.options.listener });
      this.routers.set(snapshot, router);
    }
    return router;
  }
}

/** The service and method a request is for: from its header map, else (Hessian2) from its SofaRequest. Throws XMESH_PROTOCOL. */
function targetOf(frame: BoltFrame): { service: string; method: string; headers: Map<string, string> } {
  const headers = decodeBoltHeaders(frame.header);
  let service = headers.get(BoltHeader.SERVICE) ?? headers.get(BoltHeader.TARGET_SERVICE);
  let method = headers.get(BoltHeader.METHOD);
  if ((service === undefined || method === undefined) && frame.codec === BoltCodec.HESSIAN2 && frame.content.length > 0) {
    const head = decodeHessianRequestHead(frame.content);
    service ??= head.service;
    method ??= head.method;
  }
  if (service === undefined || service === '' || method === undefined || method === '') {
    throw new MeshError('XMESH_PROTOCOL', 'a Bolt request must name its service (header `service`) and method (`sofa_head_method_name`, or the SofaRequest)');
  }
  return { service, method, headers };
}
