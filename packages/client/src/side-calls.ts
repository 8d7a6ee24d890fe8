/**
 * The filters' own calls (ext_authz's authorization server) through the mesh's clusters, as Envoy's
 * async client makes them: straight to the named cluster (no route matching, no HTTP filters), admitted
 * by its circuit breakers, balanced by its picker, bounded by the call's timeout (a route timeout, so a
 * slow server ends with XMESH_TIMEOUT). Always embedded: a filter runs in the process that calls.
 */
import { GrpcStatus, MeshError, type HeaderMap } from '@xmesh/core';
import type { Dispatcher } from 'undici';
import type { GrpcSideCall, HttpSideCall, HttpSideResponse, SideCallHandle, SideCalls } from '@xmesh/filters';
import type { LeanMetadata } from '@xmesh/grpc-lean';
import type { RouteDecision } from '@xmesh/router';
import type { Dict, FilterOverride, Route, RouteAction, RouteConfig, VirtualHost, WeightedClusterEntry } from '@xmesh/xds';
import { composePipeline } from './pipeline.js';
import { FastUnaryCall, fastUnaryTransport } from './fast-unary-call.js';
import { HttpAttempt, HttpExchange, httpTransport } from './http-dispatcher.js';
import type { MeshState } from './mesh-state.js';

const NO_OVERRIDES: Dict<FilterOverride> = Object.freeze(Object.create(null));
/** Decisions kept per cluster and timeout (a bound for configs that vary them). */
const MAX_DECISIONS = 256;

export class MeshSideCalls implements SideCalls {
  private readonly fastInvoke = composePipeline(fastUnaryTransport);
  private readonly httpInvoke = composePipeline(httpTransport);
  private readonly decisions = new Map<string, RouteDecision>();

  constructor(private readonly state: () => MeshState | MeshError) {}

  grpcUnary(call: GrpcSideCall, done: (error: MeshError | undefined, reply: Buffer | undefined) => void): SideCallHandle {
    const metadata: Record<string, string> = {};
    for (const [key, value] of call.metadata) metadata[key] = value;
    const host = { state: this.state, invoke: this.fastInvoke };
    let cancelled = false;
    const fast = new FastUnaryCall(host, call.authority, call.path, call.message, { metadata: metadata as LeanMetadata, deadline: Date.now() + call.timeoutMs }, (error, reply) => {
      if (cancelled) return;
      if (error !== null) done(error, undefined);
      else done(undefined, reply ?? Buffer.alloc(0));
    });
    const headers = new Map<string, string>([[':authority', call.authority], [':path', call.path], [':method', 'POST'], ['content-type', 'application/grpc'], ...call.metadata]);
    fast.start(Object.freeze({ authority: call.authority, path: call.path, method: 'POST', headers: headers as HeaderMap, grpc: true }), this.decision(call.cluster, call.timeoutMs));
    return {
      cancel: () => {
        if (cancelled) return;
        cancelled = true;
        fast.cancel('the call that asked for it ended');
      },
    };
  }

  http(call: HttpSideCall, done: (error: MeshError | undefined, response: HttpSideResponse | undefined) => void): SideCallHandle {
    const collector = new ResponseCollector(call.maxResponseBytes, done);
    const state = this.state();
    if (state instanceof MeshError) {
      process.nextTick(() => collector.fail(state));
      return collector;
    }
    const flat: string[] = [];
    for (const [name, value] of call.headers) flat.push(name, value);
    const host = call.headers.find(([name]) => name === 'host')?.[1] ?? call.cluster;
    const options: Dispatcher.DispatchOptions = { origin: `http://${call.cluster}`, path: call.path, method: call.method as Dispatcher.HttpMethod, headers: flat, body: call.body === undefined ? null : Buffer.from(call.body) };
    const exchange = new HttpExchange(options, collector);
    const headers = new Map<string, string>([[':authority', host], [':path', call.path], [':method', call.method], ...call.headers]);
    const attempt = new HttpAttempt(exchange, state, { authority: host, path: call.path, method: call.method, headers, grpc: false });
    attempt.decision = this.decision(call.cluster, call.timeoutMs);
    exchange.attempt = attempt;
    this.httpInvoke(attempt);
    return collector;
  }

  /** A route to `cluster` alone, with `timeoutMs` as its timeout and no retries. */
  private decision(cluster: string, timeoutMs: number): RouteDecision {
    const key = `${cluster}\u0000${timeoutMs}`;
    let decision = this.decisions.get(key);
    if (decision === undefined) {
      decision = sideCallDecision(cluster, timeoutMs);
      if (this.decisions.size < MAX_DECISIONS) this.decisions.set(key, decision);
    }
    return decision;
  }
}

function sideCallDecision(cluster: string, timeoutMs: number): RouteDecision {
  const weightedEntry: WeightedClusterEntry = { name: cluster, weight: 1, typedPerFilterConfig: NO_OVERRIDES };
  const action: RouteAction = {
    clusters: [weightedEntry], totalWeight: 1, timeoutMs, idleTimeoutMs: undefined, retryPolicy: undefined, hashPolicy: [], rateLimits: [],
    prefixRewrite: undefined, hostRewriteLiteral: undefined, maxStreamDurationMs: undefined, grpcTimeoutHeaderMaxMs: undefined, grpcTimeoutHeaderOffsetMs: undefined,
  };
  const route: Route = {
    name: `side-call:${cluster}`,
    match: { path: { kind: 'prefix', value: '' }, caseSensitive: true, headers: [], queryParameters: [], runtimeFraction: undefined, grpcOnly: false },
    action,
    typedPerFilterConfig: NO_OVERRIDES,
  };
  const virtualHost: VirtualHost = { name: 'side-call', domains: ['*'], routes: [route], retryPolicy: undefined, rateLimits: [], typedPerFilterConfig: NO_OVERRIDES };
  const routeConfig: RouteConfig = { name: 'side-call', virtualHosts: [virtualHost], ignorePortInHostMatching: false };
  return Object.freeze({ listener: undefined, routeConfig, virtualHost, route, cluster, weightedEntry, rewrite: undefined });
}

/** An undici handler that keeps one response, its body bounded. */
class ResponseCollector implements Dispatcher.DispatchHandler, SideCallHandle {
  private controller: Dispatcher.DispatchController | undefined = undefined;
  private status = 0;
  private headers: [string, string][] = [];
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  private ended = false;

  constructor(
    private readonly maxBytes: number,
    private readonly done: (error: MeshError | undefined, response: HttpSideResponse | undefined) => void,
  ) {}

  cancel(): void {
    if (this.ended) return;
    this.ended = true;
    this.controller?.abort(new Error('the call that asked for it ended'));
  }

  fail(error: MeshError): void {
    if (this.ended) return;
    this.ended = true;
    this.done(error, undefined);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return;
    this.status = statusCode;
    const out: [string, string][] = [];
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) out.push([name.toLowerCase(), v]);
    }
    this.headers = out;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.ended) return;
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      this.fail(new MeshError('XMESH_MESSAGE_TOO_LARGE', `the response body is larger than ${this.maxBytes} bytes`, { grpcStatus: GrpcStatus.RESOURCE_EXHAUSTED }));
      controller.abort(new Error('response body too large'));
      return;
    }
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.ended) return;
    this.ended = true;
    this.done(undefined, { status: this.status, headers: this.headers, body: Buffer.concat(this.chunks) });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error instanceof MeshError ? error : new MeshError('XMESH_UPSTREAM_RESET', error.message, { cause: error }));
  }
}
