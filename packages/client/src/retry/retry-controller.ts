/**
 * One call's retries and timeouts, Envoy's router semantics:
 * - the overall deadline (route timeout, caller deadline, grpc_timeout_header_max,
 *   max_stream_duration) covers every attempt and the back-off between them; when it passes the
 *   attempt in flight is ended with XMESH_TIMEOUT (`upstream_rq_timeout`) and nothing is retried;
 * - `per_try_timeout` ends one attempt (`upstream_rq_per_try_timeout`), which then counts as a
 *   504 for `retry_on`;
 * - an uncommitted end that `retry_on` accepts is retried after a full-jitter back-off, up to
 *   `num_retries`, when the cluster admits a retry; with `retry_host_predicate` previous_hosts the
 *   retry's pick avoids endpoints already tried (up to `host_selection_retry_max_attempts` selections);
 * - the stream idle timeout (the route's `idle_timeout`, else the listener's HCM
 *   `stream_idle_timeout`, 5 min by default) ends a call on which nothing moved either way for that
 *   long (XMESH_TIMEOUT, "stream timeout", as Envoy's connection manager answers 408), when the
 *   front end does not enforce it itself. Traffic only moves a time stamp (`streamActive`); the one
 *   scheduler entry of the call is re-armed when it fires early, so there is still no timer per call.
 */
import { MeshError, type TimerHandle } from '@xmesh/core';
import { attemptDeadline, overallDeadline, retryBackoffMs, type AttemptResult } from '@xmesh/filters';
import { retryChannel, type UpstreamStats } from '@xmesh/stats';
import type { MeshServices } from '../mesh-services.js';
import type { PipelineCall } from '../pipeline-call.js';
import type { Invoke } from '../pipeline.js';
import type { AttemptRetry } from './attempt-retry.js';
import type { DeadlineEntry } from './deadline-scheduler.js';
import type { RetryAdmission } from './retry-admission.js';
import type { RoutePolicy } from './route-policy.js';
import type { RetryPolicy, RouterFilterConfig } from '@xmesh/xds';
import { ATTEMPT_COUNT_HEADER, attemptHeaderEdits, type AttemptHeaderPolicy, type UpstreamHeaderEdits } from './router-headers.js';

const NO_HEADERS: readonly string[] = Object.freeze([]);

/** Envoy's HCM `stream_idle_timeout` when the call's route has no listener to take it from. */
const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 300_000;

const PER_TRY_TIMEOUT: AttemptResult = Object.freeze({ httpStatus: 504, grpcStatus: undefined, failure: 'per_try_timeout', headers: undefined });

export class RetryController implements AttemptRetry, DeadlineEntry, AttemptHeaderPolicy {
  private current: PipelineCall;
  private readonly overall: number;
  /** True when this controller ends the call at `overall` (else the transport does, at the caller's deadline). */
  private overallArmed = false;
  /** The stream idle timeout, ms; 0 = none. */
  private readonly idleMs: number;
  /** Mesh-clock time of the last traffic either way (the idle timeout counts from it). */
  private lastActivity: number;
  private retries = 0;
  /** The earlier of the overall deadline and the idle deadline, in the mesh's DeadlineScheduler (no timer per call). */
  deadlineDue = Infinity;
  deadlineSlot = -1;
  private perTryTimer: TimerHandle | undefined = undefined;
  private backoffTimer: TimerHandle | undefined = undefined;
  private perTryExpired: PipelineCall | undefined = undefined;
  /** Set once the overall deadline cut the call. */
  timeoutError: MeshError | undefined = undefined;

  get canRetry(): boolean {
    return this.policy.retryOn !== undefined;
  }
  private ended = false;
  /** The retry slot held by the attempt in flight (a retry holds one until it ends). */
  private heldSlot: RetryAdmission | undefined = undefined;
  private tried: Set<string> | undefined = undefined;
  private readonly stats: UpstreamStats;
  /** AttemptHeaderPolicy: what every attempt's request headers lose and gain (router-headers.ts). */
  readonly expectedTimeout: boolean;
  readonly attemptCount: boolean;
  readonly timeoutRetry: boolean;
  /** The deadline the route sets (the caller's own deadline counts only when the route takes it from `grpc-timeout`): `x-envoy-expected-rq-timeout-ms`. */
  private readonly routeBound: number;
  /** True when `routeBound` comes from the caller's `grpc-timeout` (`grpc_timeout_header_max`). */
  private readonly boundByCaller: boolean;
  /** The virtual host's `include_attempt_count_in_response`. */
  private readonly countInResponse: boolean;
  private readonly startedAt: number;

  /**
   * @param remove request headers no attempt sends (the x-envoy-* the router consumed or an external caller may not send)
   * @param router the listener's router filter settings
   */
  constructor(
    call: PipelineCall,
    private readonly next: Invoke<PipelineCall>,
    private readonly policy: RoutePolicy,
    private readonly services: MeshServices,
    readonly remove: readonly string[] = NO_HEADERS,
    router: RouterFilterConfig | undefined = undefined,
  ) {
    this.current = call;
    const decision = call.decision!;
    this.stats = services.cluster(decision.cluster);
    const now = services.clock.now();
    const action = policy.action;
    const grpc = call.request.grpc;
    this.overall = overallDeadline(action, now, call.deadline, grpc);
    this.idleMs = call.enforcesStreamIdleTimeout ? 0 : streamIdleTimeoutMs(call);
    this.lastActivity = now;
    this.startedAt = now;
    this.expectedTimeout = router?.suppressEnvoyHeaders !== true;
    this.attemptCount = decision.virtualHost.attemptCountInRequest === true;
    this.timeoutRetry = decision.virtualHost.timeoutRetryHeader === true;
    this.countInResponse = decision.virtualHost.attemptCountInResponse === true;
    this.boundByCaller = grpc && action.grpcTimeoutHeaderMaxMs !== undefined;
    this.routeBound = this.boundByCaller ? this.overall : overallDeadline(action, now, Infinity, grpc);
  }

  /** Schedules the overall and idle deadlines and runs the first attempt. */
  start(): void {
    const call = this.current;
    call.retry = this;
    // The caller's own deadline is enforced by the transport when it can; ours only when it is shorter.
    this.overallArmed = this.overall < call.deadline || (!call.transportEnforcesDeadline && this.overall !== Infinity);
    if (this.overallArmed && this.overall <= this.lastActivity) {
      this.onOverallTimeout();
      return;
    }
    this.arm();
    this.runAttempt(call);
  }

  streamActive(): void {
    if (this.idleMs > 0) this.lastActivity = this.services.clock.now();
  }

  onAttemptEnd(attempt: PipelineCall, result: AttemptResult, committed: boolean): boolean {
    if (this.ended || attempt !== this.current) return false;
    const effective = this.perTryExpired === attempt ? PER_TRY_TIMEOUT : result;
    if (!committed && this.tryRetry(attempt, effective)) return true;
    if (this.retries > 0 && effective.failure === 'none' && (effective.grpcStatus ?? 0) === 0 && effective.httpStatus < 400) this.stats.rqRetrySuccess.inc();
    this.end();
    return false;
  }

  retryOnResponse(attempt: PipelineCall, result: AttemptResult): boolean {
    if (this.ended || attempt !== this.current) return false;
    return this.tryRetry(attempt, result);
  }

  private tryRetry(attempt: PipelineCall, result: AttemptResult): boolean {
    if (this.timeoutError !== undefined || attempt.cancelled) return false;
    const retry = this.policy.retry;
    const classify = this.policy.retryOn;
    if (retry === undefined || classify === undefined || this.retries >= retry.numRetries || !classify(result)) return false;
    // This attempt is over: its per-try timer and retry slot go before a new slot is taken.
    this.clearPerTry();
    this.releaseSlot();
    return this.retryFrom(attempt, retry);
  }

  enforceDeadline(): void {
    if (this.ended || this.overallArmed || this.overall === Infinity) return;
    this.overallArmed = true;
    if (this.overall < this.deadlineDue) this.arm();
  }

  /** (Re)schedules this call's entry at the earlier of its armed deadlines. */
  private arm(): void {
    const due = Math.min(this.overallArmed ? this.overall : Infinity, this.idleMs > 0 ? this.lastActivity + this.idleMs : Infinity);
    const deadlines = this.services.deadlines;
    if (this.deadlineSlot >= 0) {
      if (due === this.deadlineDue) return;
      deadlines.cancel(this);
    }
    if (due !== Infinity) deadlines.schedule(this, due);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.services.deadlines.cancel(this);
    if (this.backoffTimer !== undefined) this.services.clock.clearTimeout(this.backoffTimer);
    this.backoffTimer = undefined;
    this.clearPerTry();
    this.releaseSlot();
  }

  private retryFrom(attempt: PipelineCall, retry: RetryPolicy): boolean {
    const now = this.services.clock.now();
    if (now >= this.overall) {
      // The overall deadline is due but its timer has not run yet (a late event loop): the call
      // times out now, as it would have had the timer run first.
      this.timeoutError = this.lateDeadline(attempt);
      return false;
    }
    const admission = this.services.retryAdmission(attempt);
    const priority = this.policy.action.priority;
    if (admission !== undefined && !admission.tryAcquireRetry(priority)) {
      this.stats.rqRetryOverflow.inc();
      return false;
    }
    const next = attempt.nextAttempt();
    if (next === undefined) {
      admission?.releaseRetry(priority);
      return false;
    }
    this.retries++;
    this.stats.rqRetry.inc();
    this.services.route(attempt)?.rqRetry.inc();
    this.heldSlot = admission;
    if (retry.avoidPreviousHosts && attempt.endpoint !== undefined) (this.tried ??= new Set()).add(attempt.endpoint.id);
    next.decision = attempt.decision;
    next.requestHeadersToAdd = attempt.requestHeadersToAdd;
    next.requestHeadersToRemove = attempt.requestHeadersToRemove;
    next.responseHeadersToAdd = attempt.responseHeadersToAdd;
    next.downstreamConnection = attempt.downstreamConnection;
    next.retry = this;
    // Only retry_host_predicate previous_hosts makes the pick avoid hosts already tried; without it Envoy's
    // host selection is the balancer's own (a ring hash retries the same host).
    next.tried = retry.avoidPreviousHosts ? this.tried : undefined;
    this.current = next;
    const backoffMs = retryBackoffMs(this.retries, retry.backOff.baseIntervalMs, retry.backOff.maxIntervalMs, this.services.random);
    if (retryChannel.hasSubscribers) {
      retryChannel.publish({ authority: attempt.request.authority, path: attempt.request.path, cluster: attempt.decision?.cluster, retry: this.retries, backoffMs });
    }
    // The caller's own deadline is left to the transport while an attempt is in flight; between
    // attempts nothing else would end the call by it.
    this.enforceDeadline();
    const clock = this.services.clock;
    this.backoffTimer = clock.setTimeout(() => {
      this.backoffTimer = undefined;
      next.onCancel(undefined);
      if (!next.cancelled && !this.ended) this.runAttempt(next);
    }, backoffMs);
    next.onCancel(() => this.end());
    return true;
  }

  private runAttempt(attempt: PipelineCall): void {
    const retry = this.policy.retry;
    const now = this.services.clock.now();
    attempt.upstreamEdits = this.retries === 0 ? this.firstAttemptEdits() : attemptHeaderEdits(this, this.retries + 1, this.expectedMs(now), this.perTryExpired !== undefined);
    if (this.countInResponse) attempt.addResponseHeaders({ [ATTEMPT_COUNT_HEADER]: String(this.retries + 1) });
    const deadline = attemptDeadline(retry?.perTryTimeoutMs, now, this.overall);
    if (deadline < this.overall && deadline < attempt.deadline) {
      this.perTryTimer = this.services.clock.setTimeout(() => this.onPerTryTimeout(attempt), deadline - now);
      this.perTryTimer.unref?.();
    }
    this.next(attempt);
  }

  /**
   * The first attempt's edits: shared by every call of the route that adds no headers of its own
   * (they depend only on the route then), computed once per compiled policy.
   */
  private firstAttemptEdits(): UpstreamHeaderEdits | undefined {
    const cache = this.policy.firstAttemptEdits;
    if (cache === undefined || this.remove.length > 0 || this.boundByCaller) return attemptHeaderEdits(this, 1, this.expectedMs(this.startedAt), false);
    const slot = this.expectedTimeout ? 1 : 0;
    let edits = cache[slot];
    if (edits === null) cache[slot] = edits = attemptHeaderEdits(this, 1, this.expectedMs(this.startedAt), false);
    return edits;
  }

  /** `x-envoy-expected-rq-timeout-ms` for an attempt starting at `now`: the per-try timeout, capped by what the route leaves (Envoy's setTimeoutHeaders). */
  private expectedMs(now: number): number | undefined {
    const perTry = this.policy.retry?.perTryTimeoutMs;
    const left = this.routeBound - now;
    const expected = Math.min(perTry !== undefined && perTry > 0 ? perTry : Infinity, left);
    // Whole ms, rounded up (a clock's fractions must not turn 15000 into 15001).
    return expected === Infinity ? undefined : Math.max(1, Math.ceil(expected - 0.001));
  }

  private onPerTryTimeout(attempt: PipelineCall): void {
    this.perTryTimer = undefined;
    if (this.ended || attempt !== this.current) return;
    this.perTryExpired = attempt;
    this.stats.rqPerTryTimeout.inc();
    attempt.abortAttempt(new MeshError('XMESH_TIMEOUT', `per-try timeout (${this.policy.retry?.perTryTimeoutMs} ms) expired`, { cluster: attempt.decision?.cluster, httpStatus: 504 }));
  }

  /** @internal The entry's due time passed (DeadlineScheduler): the overall deadline, the idle one, or traffic moved the idle one on. */
  onDeadline(): void {
    if (this.ended) return;
    const now = this.services.clock.now();
    if (this.overallArmed && now >= this.overall) this.onOverallTimeout();
    else if (this.idleMs > 0 && now >= this.lastActivity + this.idleMs) this.onIdleTimeout();
    else this.arm();
  }

  /**
   * Nothing moved on the call for the stream idle timeout: it ends as Envoy's connection manager
   * ends it (408 "stream timeout"; a response under way is cut), never retried.
   */
  private onIdleTimeout(): void {
    const attempt = this.current;
    const error = new MeshError('XMESH_TIMEOUT', `stream timeout (no traffic for the stream idle timeout, ${this.idleMs} ms)`, { cluster: attempt.decision?.cluster, httpStatus: 408 });
    this.cut(attempt, error);
  }

  private onOverallTimeout(): void {
    if (this.ended) return;
    const attempt = this.current;
    // The caller's deadline (not a route limit) passed: the caller gives up, as its transport would report it.
    const callerDeadline = this.overall >= attempt.deadline;
    if (!callerDeadline) this.stats.rqTimeout.inc();
    const message = callerDeadline ? "the caller's deadline passed" : `upstream request timeout (route timeout ${this.policy.action.timeoutMs} ms)`;
    this.cut(attempt, new MeshError('XMESH_TIMEOUT', message, { cluster: attempt.decision?.cluster, httpStatus: 504 }));
  }

  /** Ends the call with `error`: the attempt in flight is aborted, or (between attempts) the next one never starts. */
  private cut(attempt: PipelineCall, error: MeshError): void {
    this.timeoutError = error;
    if (this.backoffTimer !== undefined) {
      // Between attempts: the next one never started.
      this.services.clock.clearTimeout(this.backoffTimer);
      this.backoffTimer = undefined;
      attempt.onCancel(undefined);
      this.end();
      attempt.fail(error);
      return;
    }
    attempt.abortAttempt(error);
  }

  /**
   * The error of an overall deadline found passed before its timer ran, counted as the timer would
   * count it: a route limit is `upstream_rq_timeout`; the caller's own deadline is not.
   */
  private lateDeadline(attempt: PipelineCall): MeshError {
    const callerDeadline = this.overall >= attempt.deadline;
    if (!callerDeadline) this.stats.rqTimeout.inc();
    const message = callerDeadline ? "the caller's deadline passed" : `upstream request timeout (route timeout ${this.policy.action.timeoutMs} ms)`;
    return new MeshError('XMESH_TIMEOUT', message, { cluster: attempt.decision?.cluster, httpStatus: 504 });
  }

  private clearPerTry(): void {
    if (this.perTryTimer !== undefined) this.services.clock.clearTimeout(this.perTryTimer);
    this.perTryTimer = undefined;
  }

  private releaseSlot(): void {
    this.heldSlot?.releaseRetry(this.policy.action.priority);
    this.heldSlot = undefined;
  }
}

/**
 * The stream idle timeout of a call: its route's `idle_timeout` (0 disables it), else the HCM
 * `stream_idle_timeout` of the listener it was routed by, else Envoy's default.
 */
function streamIdleTimeoutMs(call: PipelineCall): number {
  const decision = call.decision!;
  return decision.route.action.idleTimeoutMs ?? decision.listener?.protection.streamIdleTimeoutMs ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS;
}
