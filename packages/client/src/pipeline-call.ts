/**
 * One attempt travelling down the pipeline. Layers fill in `decision`, `cluster` and `endpoint`;
 * the protocol front end (gRPC call, HTTP dispatch) supplies `fail` and reports the end through `finish`.
 */
import type { CallOutcome, Endpoint, MeshError } from '@xmesh/core';
import type { ClusterGuard, FailFastPermit } from '@xmesh/breaker';
import type { RouteDecision, RouteRequest } from '@xmesh/router';
import type { HeaderValueOption } from '@xmesh/xds';
import type { MeshState } from './mesh-state.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import type { EndpointTransports, TransportPool } from './transport-pool.js';
import type { MeshMode } from './mode.js';
import type { AttemptRetry } from './retry/attempt-retry.js';
import type { CallOverrides } from './retry/call-overrides.js';
import type { DownstreamCaller } from './retry/caller-trust.js';
import type { UpstreamHeaderEdits } from './retry/router-headers.js';
import type { MirrorRequest } from './mirror/shadow-call.js';
import type { DownstreamConnection } from '@xmesh/filters';

export abstract class PipelineCall {
  decision: RouteDecision | undefined = undefined;
  cluster: ClusterRuntime | undefined = undefined;
  endpoint: Endpoint | undefined = undefined;
  /** Leased transports of the picked endpoint; released by `finish`. */
  transports: EndpointTransports | undefined = undefined;
  /** How the app sent this call: through the embedded pipeline, or handed to the sidecar. Stats and events label by it. */
  mode: MeshMode = 'embedded';
  /** Mesh-clock time the attempt started, for the outcome's latency. */
  readonly startedAt: number;
  /** Set by the retry layer: the front end reports each end of this attempt to it before the caller sees it. */
  retry: AttemptRetry | undefined = undefined;
  /**
   * Endpoint ids earlier attempts of this call used, set on a retry when the route's
   * `retry_host_predicate` is previous_hosts: the pick then selects again when it lands on one.
   */
  tried: ReadonlySet<string> | undefined = undefined;
  /** Timeout and retry overrides a front end granted this call (a trusted caller's x-envoy-* headers); read by the retry layer. */
  overrides: CallOverrides | undefined = undefined;
  /** Set by a proxy front end: who sent the request, for the listener's caller trust. Undefined: the app itself. */
  caller: DownstreamCaller | undefined = undefined;
  /** Set by the retry layer: whether the listener deems the caller internal (Envoy's internal request). */
  internalCaller = true;
  /**
   * What this attempt's request loses and gains before it goes upstream (x-envoy-* headers, set by
   * the retry layer per attempt); front ends apply it after `requestHeadersToAdd`.
   */
  upstreamEdits: UpstreamHeaderEdits | undefined = undefined;
  /** Headers the filters add to the upstream request; front ends apply them. */
  requestHeadersToAdd: readonly HeaderValueOption[] | undefined = undefined;
  /** Request headers the filters remove (ext_authz); front ends remove them after adding the ones above. */
  requestHeadersToRemove: readonly string[] | undefined = undefined;
  /** Set by a proxy front end: the downstream connection the request came on (the filters' principals and peers). */
  downstreamConnection: DownstreamConnection | undefined = undefined;
  /** Headers the filters add to the response the caller sees (`x-ratelimit-*`); front ends apply them. */
  responseHeadersToAdd: Readonly<Record<string, string>> | undefined = undefined;
  private pickDone: ((outcome: CallOutcome) => void) | undefined = undefined;
  /** The cluster guard that admitted this attempt and its permit; released by `finish`. */
  private guard: ClusterGuard | undefined = undefined;
  private permit: FailFastPermit | undefined = undefined;
  private cancelHook: (() => void) | undefined = undefined;
  private cancelReason: MeshError | undefined = undefined;
  private finished = false;

  /** The mesh state this call reads (once: see `restate`). */
  private currentState: MeshState;

  /**
   * @param state the mesh state read once for this call
   * @param deadline absolute deadline on the mesh clock (ms), or Infinity
   */
  protected constructor(
    state: MeshState,
    readonly request: RouteRequest,
    readonly deadline: number,
  ) {
    this.currentState = state;
    this.startedAt = state.clock.now();
  }

  get state(): MeshState {
    return this.currentState;
  }

  /**
   * Replaces the state before the call is routed: a call held for the listener its target names
   * (listener-wait.ts) reads the state that brought the listener. Never after routing.
   */
  restate(state: MeshState): void {
    this.currentState = state;
  }

  /** Ends the call with a mesh-originated error, before any transport took it. Called at most once. */
  abstract fail(error: MeshError): void;

  /**
   * True when the transport ends the call at `deadline` itself (the embedded transports send it as
   * the call's own deadline), so the retry layer schedules only an earlier overall deadline. A front
   * end whose transport does not (the sidecar relays bytes) returns false: the retry layer then
   * enforces the overall deadline, the caller's included.
   */
  get transportEnforcesDeadline(): boolean {
    return true;
  }

  /**
   * True when the front end ends the call on the stream idle timeout itself (the sidecar's
   * downstream stream does). Otherwise the retry layer enforces it, and the front end reports
   * traffic through `retry.streamActive()`.
   */
  get enforcesStreamIdleTimeout(): boolean {
    return false;
  }

  /** Set once the caller gave up; a layer that waits checks it before resuming. */
  get cancelled(): MeshError | undefined {
    return this.cancelReason;
  }

  /** Registers the hook run if the caller cancels while a layer holds the call (one at a time; undefined clears). */
  onCancel(hook: (() => void) | undefined): void {
    this.cancelHook = hook;
  }

  /** The caller gave up: runs the waiting layer's hook. The front end reports the end itself. */
  cancel(reason: MeshError): void {
    if (this.cancelReason) return;
    this.cancelReason = reason;
    const hook = this.cancelHook;
    this.cancelHook = undefined;
    hook?.();
  }

  /** Sidecar mode: the call goes to the sidecar's listener (no cluster, no picker); leases its transports until `finish`. */
  bindSidecar(sidecar: Endpoint, pool: TransportPool): void {
    this.mode = 'sidecar';
    this.endpoint = sidecar;
    this.transports = pool.acquire(sidecar);
    this.state.services?.attemptBound(this);
  }

  /** Records the admission (thresholds, fail-fast) that `finish` releases with the attempt's outcome. */
  admit(guard: ClusterGuard, permit: FailFastPermit): void {
    this.guard = guard;
    this.permit = permit;
  }

  /** Records the picked endpoint and leases its transports until `finish`. */
  bind(cluster: ClusterRuntime, endpoint: Endpoint, done: ((outcome: CallOutcome) => void) | undefined): void {
    this.cluster = cluster;
    this.endpoint = endpoint;
    this.pickDone = done;
    this.transports = cluster.pool.acquire(endpoint, cluster.tlsFor(endpoint));
    this.state.services?.attemptBound(this);
  }

  /** Feeds the outcome back to the picker and releases the transport lease. Idempotent. */
  finish(outcome: CallOutcome): void {
    if (this.finished) return;
    this.finished = true;
    const done = this.pickDone;
    this.pickDone = undefined;
    if (this.transports) {
      const leased = this.transports;
      this.transports = undefined;
      leased.pool.release(leased);
    }
    done?.(outcome);
    if (this.cluster !== undefined || this.mode === 'sidecar') this.state.services?.attemptFinished(this, outcome);
    const guard = this.guard;
    if (guard !== undefined) {
      this.guard = undefined;
      // Failed before an endpoint was picked: free the slot without counting an upstream outcome.
      const priority = this.decision?.route.action.priority;
      if (this.endpoint === undefined) guard.abandon(this.permit!, priority);
      else guard.finish(this.permit!, this.endpoint.id, outcome, priority);
    }
  }

  addRequestHeaders(headers: readonly HeaderValueOption[]): void {
    this.requestHeadersToAdd = this.requestHeadersToAdd === undefined ? headers : [...this.requestHeadersToAdd, ...headers];
  }

  removeRequestHeaders(names: readonly string[]): void {
    this.requestHeadersToRemove = this.requestHeadersToRemove === undefined ? names : [...this.requestHeadersToRemove, ...names];
  }

  addResponseHeaders(headers: Readonly<Record<string, string>>): void {
    this.responseHeadersToAdd = this.responseHeadersToAdd === undefined ? headers : { ...this.responseHeadersToAdd, ...headers };
  }

  /**
   * A fresh attempt of the same call for a retry (same request and deadline), which the front end
   * now treats as current; undefined when the front end cannot replay the request.
   */
  nextAttempt(): PipelineCall | undefined {
    return undefined;
  }

  /**
   * True when the front end can race a retry with this attempt (`hedge_on_per_try_timeout`): the
   * request went out whole, the attempt keeps running after its per-try timeout, and the front end
   * reports its response headers through `retry.retryOnResponse` and drops an attempt whose end the
   * retry layer drops. False (the default): a per-try timeout ends the attempt before the retry, as
   * Envoy does for a request not yet complete.
   */
  get hedgeable(): boolean {
    return false;
  }

  /**
   * Ends this attempt with `error` (a per-try or route timeout). Before a transport took it, the
   * attempt fails with `error`; front ends override this to stop their transport call and report
   * that end as usual.
   */
  abortAttempt(error: MeshError): void {
    this.cancel(error);
    this.fail(error);
  }

  /**
   * A copy of this call's request for a mirror cluster (`request_mirror_policies`), its body whole
   * (within `bodyLimit` bytes); undefined when this front end cannot copy it. Called once per policy
   * that mirrors the call, after the call went on.
   */
  mirrorRequest(_bodyLimit: number): MirrorRequest | undefined {
    return undefined;
  }

  /** Milliseconds since the attempt started. */
  elapsed(): number {
    return this.state.clock.now() - this.startedAt;
  }
}
