/**
 * One proxied request travelling down the client's pipeline. Layers route, police and pick as they
 * do for embedded calls; the terminal (`proxyTransport`) forwards bytes to the picked endpoint.
 * Mesh errors become local replies on the downstream.
 */
import { MeshError, parseGrpcStatus, type CallOutcome, type Endpoint } from '@xmesh/core';
import type { OutgoingHttpHeaders } from 'node:http2';
import type { Transform } from 'node:stream';
import { copyHeaders, isRouterReply, PipelineCall, type MeshState, type MirrorRequest } from '@xmesh/client';
import { BodyRelay } from './body-relay.js';
import { RecordHeaders } from '@xmesh/router';
import type { RouteRequest } from '@xmesh/router';
import type { ClientTls } from '@xmesh/tls';
import type { BufferedBody, ResponseCompression } from '@xmesh/client';
import { H1Downstream, type Downstream, type DownstreamAbortHandler } from './downstream.js';
import type { UpstreamSession } from './upstream-session.js';

/** What every attempt of one sidecar shares. */
export interface ProxyContext {
  /** Key of the per-endpoint upstream session in the client's transport entries. */
  readonly sessionKey: object;
  /** Creates the upstream HTTP/2 session for an endpoint, over TLS when `tls` is given (kept under `sessionKey`). */
  readonly newSession: (endpoint: Endpoint, tls: ClientTls | undefined) => UpstreamSession;
  /** Largest gRPC message relayed either way (`SidecarLimits.maxGrpcMessageBytes`). */
  readonly maxGrpcMessageBytes: number;
}

/** What an attempt's end is reported to the retry layer as. */
export type AttemptResult = Parameters<NonNullable<PipelineCall['retry']>['onAttemptEnd']>[1];
export type AttemptFailure = AttemptResult['failure'];

export class ProxyAttempt extends PipelineCall implements DownstreamAbortHandler {
  /**
   * Set by the forwarder while an upstream attempt runs: ends it for a timeout. `raceable`: the
   * forwarder can keep running beside a retry until the retry layer picks one response (hedging).
   */
  upstreamAbort: { abortAttempt(error: MeshError): void; readonly raceable?: boolean } | undefined = undefined;

  constructor(
    readonly downstream: Downstream,
    readonly proxy: ProxyContext,
    state: MeshState,
    request: RouteRequest,
    deadline: number,
  ) {
    super(state, request, deadline);
  }

  /** The compressor filters' response compression, kept by the downstream (every attempt's response goes there). */
  get compression(): ResponseCompression | undefined {
    return this.downstream.compression;
  }

  set compression(compression: ResponseCompression | undefined) {
    this.downstream.compression = compression;
  }

  /** A decompressor filter: the request body goes upstream decoded. */
  decodeRequestBody(decoder: Transform): void {
    this.downstream.decodeBody(decoder);
  }

  /** The gRPC HTTP/1.1 bridge: only an HTTP/1.x client's response can be held (see FilterCall.bridgeGrpcResponse). */
  get bridgeGrpcResponse(): ((this: ProxyAttempt, limit: number) => void) | undefined {
    return this.downstream instanceof H1Downstream ? bridgeHttp1Response : undefined;
  }

  /**
   * A retry may race this attempt (`hedge_on_per_try_timeout`): its forwarder runs and can be raced,
   * no response went to the client, and the client's whole body arrived and is kept for the retry. A
   * request still streaming its body is not raced (Envoy hedges only a complete request).
   */
  override get hedgeable(): boolean {
    const ds = this.downstream;
    return this.upstreamAbort?.raceable === true && !ds.closed && !ds.headersSent && (!ds.hasBody || ds.relay?.whole === true);
  }

  /** The sidecar relays bytes: the retry layer enforces the deadline (`grpc-timeout`) itself. */
  override get transportEnforcesDeadline(): boolean {
    return false;
  }

  /** The downstream stream has its own idle timer (the HCM's stream_idle_timeout, or the route's idle_timeout). */
  override get enforcesStreamIdleTimeout(): boolean {
    return true;
  }

  /** The pipeline refused the call: reply locally with the error. */
  fail(error: MeshError): void {
    this.retry?.end();
    this.finish({ kind: 'local_error', httpStatus: error.httpStatus, grpcStatus: this.request.grpc ? error.grpcStatus : undefined, latencyMs: this.elapsed() });
    this.downstream.reject(error, localReplyHeaders(this, error));
  }

  /** Reports this attempt's end to the retry layer; true when a retry replaces it (the end is then dropped). */
  retried(result: AttemptResult, committed: boolean): boolean {
    const retry = this.retry;
    return retry !== undefined && retry.onAttemptEnd(this, result, committed);
  }

  /** A retry of this request: same downstream, request and deadline; undefined once the body cannot be replayed. */
  override nextAttempt(): ProxyAttempt | undefined {
    const ds = this.downstream;
    if (ds.closed || ds.headersSent || (ds.relay !== undefined && !ds.relay.replayable)) return undefined;
    const next = new ProxyAttempt(ds, this.proxy, this.state, this.request, this.deadline);
    ds.onAbort(next);
    return next;
  }

  /**
   * The downstream's body relay (created by the first attempt, or a mirror's copy): it keeps the body
   * for a replay when the route retries or mirrors the request.
   */
  bodyRelay(): BodyRelay {
    const ds = this.downstream;
    const keep = this.retry !== undefined || this.decision?.route.action.requestMirrorPolicies !== undefined;
    ds.relay ??= new BodyRelay(ds.relaySource ?? ds.body, keep, undefined, ds.grpc ? { owner: ds, maxMessageBytes: this.proxy.maxGrpcMessageBytes } : undefined);
    return ds.relay;
  }

  /**
   * A mirror's copy: the request headers and, once relayed, the whole body. Once the request was
   * forwarded (see proxyTransport), its headers, path and Host are copied as forwarded (`routed`: trace
   * and filters' headers, the route's rewrite); before, as the client sent them with the filters' headers.
   */
  override mirrorRequest(_bodyLimit: number): MirrorRequest {
    const ds = this.downstream;
    const request = this.request;
    const routed = ds.decorated;
    return {
      method: request.method,
      path: routed ? ds.upstreamPath ?? request.path : request.path,
      authority: routed ? ds.upstreamAuthority ?? request.authority : request.authority,
      grpc: ds.grpc,
      headers: copyHeaders(ds.requestHeaders, routed ? undefined : this.requestHeadersToAdd, ds.grpc),
      body: ds.hasBody ? this.bodyRelay().copy() : null,
      routed,
    };
  }

  /** Ends this attempt for a timeout: stops the upstream stream when one runs, else fails the call. */
  override abortAttempt(error: MeshError): void {
    const abort = this.upstreamAbort;
    if (abort !== undefined) abort.abortAttempt(error);
    else super.abortAttempt(error);
  }

  /** Reads the client's request body for a filter (buffer, ext_authz); the forwarders then send what was read. */
  bufferBody(limit: number, partial: boolean, done: (body: BufferedBody) => void): void {
    this.downstream.bufferBody(limit, partial, done);
  }

  /** The client went away before a forwarder took the call: cancels a waiting layer and records the end. */
  downstreamAborted(): void {
    this.cancel(new MeshError('XMESH_CANCELLED', 'the client went away'));
    this.retry?.end();
    this.finish(cancelledOutcome(this.downstream.grpc, this.elapsed()));
  }
}

/** The outcome of an upstream response: gRPC by `grpc-status`, HTTP by status class. */
export function responseOutcome(httpStatus: number, grpcStatus: number | undefined, latencyMs: number): CallOutcome {
  const failed = grpcStatus !== undefined ? grpcStatus !== 0 : httpStatus >= 500;
  return { kind: failed ? 'upstream_error' : 'success', httpStatus, grpcStatus, latencyMs };
}

/** A final response status a proxy can relay (1xx are interim; 0, 600+ and non-numbers are protocol errors). */
export function isFinalStatus(status: number): boolean {
  return Number.isInteger(status) && status >= 200 && status <= 599;
}

/**
 * A response's `grpc-status`, as the retry layer and the stats read it (the bytes are forwarded as they came):
 * absent is undefined; anything but 0–16 is UNKNOWN (`@xmesh/core`'s parser, the one every transport uses).
 */
export function grpcStatusHeader(value: string | string[] | undefined): number | undefined {
  return value === undefined ? undefined : parseGrpcStatus(value);
}

/** The client went away mid-call: CANCELLED for gRPC (as the grpc-js front end reports it), else a 499 local end. */
export function cancelledOutcome(grpc: boolean, latencyMs: number): CallOutcome {
  return grpc
    ? { kind: 'upstream_error', httpStatus: 200, grpcStatus: 1, latencyMs }
    : { kind: 'local_error', httpStatus: 499, grpcStatus: undefined, latencyMs };
}

/** `headers` plus the filters' response headers (`x-ratelimit-*`) of `attempt`, then its route's response header mutations. */
export function withResponseHeaders<H extends object>(headers: H, attempt: ProxyAttempt): H {
  const added = attempt.responseHeadersToAdd;
  let out = added === undefined ? headers : { ...headers, ...added };
  const rewrite = attempt.decision?.rewrite;
  if (rewrite?.mutatesResponseHeaders === true) {
    if (out === headers) out = { ...headers };
    rewrite.responseHeaders(new RecordHeaders(out as Record<string, string | string[] | undefined>), attempt.request);
  }
  return out;
}

/**
 * Decorates the local reply for `error` as Envoy's encoder filters would: the response headers the filters that
 * ran added (a local reply passes back through them: CORS, rate limit, health check headers), then the route's
 * response header mutations when Envoy's router would apply them (see isRouterReply).
 */
export function localReplyHeaders(attempt: ProxyAttempt, error: MeshError): ((headers: OutgoingHttpHeaders) => void) | undefined {
  const added = attempt.responseHeadersToAdd;
  const rewrite = attempt.decision?.rewrite;
  const mutate = rewrite?.mutatesResponseHeaders === true && isRouterReply(error);
  if (added === undefined && !mutate) return undefined;
  return (headers) => {
    if (added !== undefined) Object.assign(headers, added);
    if (mutate) rewrite!.responseHeaders(new RecordHeaders(headers as Record<string, string | string[] | undefined>), attempt.request);
  };
}

function bridgeHttp1Response(this: ProxyAttempt, limit: number): void {
  (this.downstream as H1Downstream).bridgeGrpcResponse(limit);
}
