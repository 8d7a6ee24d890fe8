/**
 * A copy of a request sent to a mirror cluster (Envoy's shadow request): admitted and picked on the
 * mirror cluster like any attempt (its circuit breakers, balancer and stats), then sent with the
 * undici transport of the picked endpoint; its answer is read and dropped. Nothing about it reaches
 * the caller: it has no retries, ends by its own timer (the route's timeout, else
 * `UNTIMED_MIRROR_MS`), and its failures are only counted.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { parseGrpcStatus, type HeaderMap, type MeshError } from '@xmesh/core';
import type { RouteDecision } from '@xmesh/router';
import { PipelineCall } from '../pipeline-call.js';
import type { Invoke } from '../pipeline.js';
import type { MeshState } from '../mesh-state.js';

/** A request as a front end can copy it for mirroring. */
export interface MirrorRequest {
  readonly method: string;
  readonly path: string;
  /** The request's authority (before the `-shadow` suffix). */
  readonly authority: string;
  readonly grpc: boolean;
  /** Request headers to copy (lower-case names; no pseudo-headers, no `host`, no hop-by-hop ones). */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  /**
   * The whole body (gRPC messages framed): bytes, null for none, or bytes still to come; undefined
   * (now, or once read) when it cannot be copied (larger than the route's buffer limit, or gone).
   */
  readonly body: Buffer | null | undefined | Promise<Buffer | null | undefined>;
  /** The route's rewrite (header mutations, Host, path) is already applied; else the mirror layer applies it. */
  readonly routed?: boolean;
}

/** How long a copy of a route without a timeout may take: a copy never runs for ever. */
export const UNTIMED_MIRROR_MS = 60_000;

export class ShadowCall extends PipelineCall {
  constructor(
    state: MeshState,
    readonly copy: MirrorRequest & { readonly body: Buffer | null },
    /** The copy's Host / `:authority`. */
    readonly shadowAuthority: string,
    decision: RouteDecision,
    /** Milliseconds the copy may take, from now (always > 0). */
    readonly timeoutMs: number,
    private readonly onEnd: (failed: boolean) => void,
  ) {
    super(state, routeRequest(copy, shadowAuthority), state.clock.now() + timeoutMs);
    this.decision = decision;
  }

  private done = false;

  /** The mesh refused the copy (circuit open, no healthy endpoint): counted, never retried. */
  fail(_error: MeshError): void {
    this.finish({ kind: 'local_error', httpStatus: 0, grpcStatus: undefined, latencyMs: this.elapsed() });
    this.ended(true);
  }

  /** The copy ended (its outcome already charged to the mirror cluster); reported once. */
  ended(failed: boolean): void {
    if (this.done) return;
    this.done = true;
    this.onEnd(failed);
  }
}

/**
 * The terminal: the copy goes out on the picked endpoint's undici dispatcher; the answer is drained.
 * A mesh runs copies through admission and pick on the mirror cluster, then this (no filters, no
 * retries, no mirroring of the copy): `composePipeline(shadowTransport, [admissionLayer, pickLayer])`.
 */
export const shadowTransport: Invoke<ShadowCall> = (call) => {
  const h2 = call.cluster?.config.http2 === true || call.copy.grpc;
  const dispatcher = call.transports!.http(h2);
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(call.copy.headers)) headers[name] = typeof value === 'string' ? value : [...value];
  headers.host = call.shadowAuthority;
  if (call.copy.body !== null) headers['content-length'] = String(call.copy.body.length);
  const handler = new DrainingHandler(call);
  // `idempotent`: undici otherwise sends a POST over HTTP/2 only when no other request runs on the
  // connection, and one hanging copy would hold every later one.
  try {
    dispatcher.dispatch(
      { method: call.copy.method as Dispatcher.HttpMethod, path: call.copy.path, headers, body: call.copy.body, idempotent: true, headersTimeout: call.timeoutMs, bodyTimeout: call.timeoutMs },
      handler,
    );
  } catch {
    handler.onResponseError();
  }
};

/** Reads the mirror cluster's answer and drops it; reports how the copy ended; aborts it at its timeout. */
class DrainingHandler implements Dispatcher.DispatchHandler {
  private status = 0;
  private grpcStatus: number | undefined = undefined;
  private done = false;
  private controller: Dispatcher.DispatchController | undefined = undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly call: ShadowCall) {
    this.timer = setTimeout(() => this.timedOut(), call.timeoutMs);
    this.timer.unref();
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
  }

  private timedOut(): void {
    const controller = this.controller;
    this.end('local_error', this.status, true);
    controller?.abort(new Error('the mirror copy timed out'));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.status = statusCode;
    const grpc = headers['grpc-status'];
    if (grpc !== undefined) this.grpcStatus = parseGrpcStatus(grpc);
  }

  onResponseData(): void {}

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    const grpc = trailers['grpc-status'];
    if (grpc !== undefined) this.grpcStatus = parseGrpcStatus(grpc);
    const failed = this.grpcStatus !== undefined ? this.grpcStatus !== 0 : this.status >= 500;
    this.end(failed ? 'upstream_error' : 'success', this.status, failed);
  }

  onResponseError(): void {
    this.end('local_error', this.status, true);
  }

  private end(kind: 'success' | 'upstream_error' | 'local_error', httpStatus: number, failed: boolean): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.call.finish({ kind, httpStatus, grpcStatus: this.grpcStatus, latencyMs: this.call.elapsed() });
    this.call.ended(failed);
  }
}

function routeRequest(copy: MirrorRequest, authority: string): { authority: string; path: string; method: string; headers: HeaderMap; grpc: boolean } {
  const headers = new Map<string, string>([[':authority', authority], [':path', copy.path], [':method', copy.method]]);
  for (const [name, value] of Object.entries(copy.headers)) headers.set(name, typeof value === 'string' ? value : value.join(','));
  return { authority, path: copy.path, method: copy.method, headers, grpc: copy.grpc };
}
