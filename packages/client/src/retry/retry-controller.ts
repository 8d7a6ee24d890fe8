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
 *   scheduler entry of the call is re-armed when it fires early, so there is still no timer per call;
 * - with `hedge_on_per_try_timeout` (Envoy's router, onSoftPerTryTimeout) and a front end that can race
 *   attempts (`PipelineCall.hedgeable`), a per-try timeout does not end the attempt: while no response
 *   reached the caller, a retry starts beside it when retries are left (whatever `retry_on` names, as
 *   Envoy's shouldHedgeRetryPerTryTimeout), and the first attempt whose response is taken wins: every
 *   other one is reset. An attempt that was raced is never retried itself; a failure of one attempt
 *   while another is still running (or waiting its back-off) is dropped, the call goes on with the other.
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
  /** Hedging: the attempts still running beside `current`, each raced by a retry after its per-try timeout. */
  private raced: Set<PipelineCall> | undefined = undefined;
  /** Hedging: `current` was itself raced (it became current when the attempt after it failed): never retried again. */
  private currentRaced = false;
  /** Hedging: attempts this controller reset or discarded; their ends are dropped. */
  private dropped: Set<PipelineCall> | undefined = undefined;
  /** Hedging: a retry started after a per-try timeout (`x-envoy-is-timeout-retry` of later attempts). */
  private softTimedOut = false;
  /** A response was taken for the caller: no per-try timeout races another attempt from then on. */
  private responseTaken = false;
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
    if (this.dropped?.delete(attempt) === true) return true;
    if (this.ended) return false;
    const raced = this.raced;
    if (raced !== undefined && raced.size > 0 && !committed && (attempt === this.current || raced.has(attempt))) return this.racedEnd(attempt, result);
    if (attempt !== this.current) return false;
    const effective = this.perTryExpired === attempt ? PER_TRY_TIMEOUT : result;
    if (!committed && !this.currentRaced && this.tryRetry(attempt, effective)) return true;
    if (this.retries > 0 && effective.failure === 'none' && (effective.grpcStatus ?? 0) === 0 && effective.httpStatus < 400) this.stats.rqRetrySuccess.inc();
    this.end();
    return false;
  }

  retryOnResponse(attempt: PipelineCall, result: AttemptResult): boolean {
    if (this.dropped?.has(attempt) === true) return true;
    if (this.ended) return false;
    const raced = this.raced;
    if (raced === undefined || raced.size === 0) {
      if (attempt !== this.current) return false;
      if (!this.currentRaced && this.tryRetry(attempt, result)) return true;
      this.responseTaken = true;
      return false;
    }
    if (attempt !== this.current && !raced.has(attempt)) return false;
    // Several attempts race (Envoy's onUpstreamHeaders): one not raced yet may be retried; a response
    // retry_on would retry but cannot be is dropped while another attempt may still answer.
    const isRaced = attempt !== this.current || this.currentRaced;
    if (!isRaced && this.tryRetry(attempt, result)) return true;
    if (this.policy.retryOn?.(result) === true) {
      (this.dropped ??= new Set()).add(attempt);
      if (attempt === this.current) this.promoteRaced();
      else raced.delete(attempt);
      return true;
    }
    this.takeResponse(attempt);
    return false;
  }

  /**
   * Hedging: one of several racing attempts ended before any response was taken (Envoy's
   * onUpstreamHeaders with end of stream, onUpstreamReset). A response `retry_on` does not retry wins;
   * the caller's cancel ends the call; otherwise the attempt is retried when it was not raced itself and
   * retries are left, else its end is dropped and the call goes on with the attempts still running.
   */
  private racedEnd(attempt: PipelineCall, result: AttemptResult): boolean {
    if (attempt.cancelled !== undefined) {
      this.end();
      return false;
    }
    const retriable = this.policy.retryOn?.(result) === true;
    if (result.failure === 'none' && !retriable) {
      this.takeResponse(attempt);
      if (this.retries > 0 && (result.grpcStatus ?? 0) === 0 && result.httpStatus < 400) this.stats.rqRetrySuccess.inc();
      this.end();
      return false;
    }
    if (attempt === this.current && !this.currentRaced && this.tryRetry(attempt, result)) return true;
    if (!this.raced!.delete(attempt)) this.promoteRaced();
    return true;
  }

  responseStarts(attempt: PipelineCall): boolean {
    if (this.dropped?.has(attempt) === true) return false;
    if (this.ended) return true;
    const raced = this.raced;
    if (raced !== undefined && raced.size > 0 && (attempt === this.current || raced.has(attempt))) this.takeResponse(attempt);
    else if (attempt !== this.current) return false;
    else this.responseTaken = true;
    return true;
  }

  /**
   * Hedging: `attempt`'s response goes to the caller; every other attempt is reset (its end dropped),
   * a retry waiting its back-off never starts.
   */
  private takeResponse(attempt: PipelineCall): void {
    this.responseTaken = true;
    const losers = this.raced!;
    this.raced = undefined;
    losers.delete(attempt);
    const current = this.current;
    if (current !== attempt) {
      if (this.backoffTimer !== undefined) {
        this.services.clock.clearTimeout(this.backoffTimer);
        this.backoffTimer = undefined;
        current.onCancel(undefined);
      } else losers.add(current);
      // The retry slot was taken for `current`, which will not answer.
      this.clearPerTry();
      this.releaseSlot();
      this.current = attempt;
      this.currentRaced = true;
    }
    this.resetAll(losers, new MeshError('XMESH_CANCELLED', 'another attempt of the call answered first (hedge_on_per_try_timeout)', { cluster: attempt.decision?.cluster }));
  }

  /** Resets `attempts` with `error`; their ends are dropped. */
  private resetAll(attempts: Iterable<PipelineCall>, error: MeshError): void {
    const dropped = (this.dropped ??= new Set());
    for (const loser of attempts) dropped.add(loser);
    for (const loser of attempts) loser.abortAttempt(error);
  }

  /** `current` failed while raced attempts run: the oldest of them becomes current. False when none runs. */
  private promoteRaced(): boolean {
    const raced = this.raced;
    if (raced === undefined || raced.size === 0) return false;
    const next = raced.values().next().value as PipelineCall;
    raced.delete(next);
    this.clearPerTry();
    this.releaseSlot();
    this.current = next;
    this.currentRaced = true;
    return true;
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
    const raced = this.raced;
    if (raced !== undefined && raced.size > 0) {
      // The call ended (a local failure, the caller's cancel): attempts still racing are reset.
      this.raced = undefined;
      this.resetAll(raced, new MeshError('XMESH_CANCELLED', 'the call ended', { cluster: this.current.decision?.cluster }));
    }
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
    this.currentRaced = false;
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
    attempt.upstreamEdits = this.retries === 0 ? this.firstAttemptEdits() : attemptHeaderEdits(this, this.retries + 1, this.expectedMs(now), this.perTryExpired !== undefined || this.softTimedOut);
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
    if (this.policy.hedgeOnPerTryTimeout === true && attempt.hedgeable) {
      this.onSoftPerTryTimeout(attempt);
      return;
    }
    this.perTryExpired = attempt;
    this.stats.rqPerTryTimeout.inc();
    attempt.abortAttempt(new MeshError('XMESH_TIMEOUT', `per-try timeout (${this.policy.retry?.perTryTimeoutMs} ms) expired`, { cluster: attempt.decision?.cluster, httpStatus: 504 }));
  }

  /**
   * Hedging (Envoy's onSoftPerTryTimeout): the attempt keeps running; while no response was taken, a
   * retry starts beside it when retries are left and the cluster admits one. Envoy counts no
   * `upstream_rq_per_try_timeout` here (the attempt was not ended).
   */
  private onSoftPerTryTimeout(attempt: PipelineCall): void {
    const retry = this.policy.retry;
    if (this.responseTaken || this.currentRaced || retry === undefined || this.policy.retryOn === undefined) return;
    if (this.retries >= retry.numRetries || this.timeoutError !== undefined || attempt.cancelled) return;
    // The route timeout is due and its timer has not run yet: it ends the call, nothing races.
    if (this.services.clock.now() >= this.overall) return;
    const raced = (this.raced ??= new Set());
    raced.add(attempt);
    this.releaseSlot();
    this.softTimedOut = true;
    if (!this.retryFrom(attempt, retry)) {
      raced.delete(attempt);
      this.softTimedOut = false;
    }
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

  /** Ends the call with `error`: the attempt in flight is aborted, or (between attempts) the next one never starts; raced attempts are reset. */
  private cut(attempt: PipelineCall, error: MeshError): void {
    this.timeoutError = error;
    const raced = this.raced;
    if (raced !== undefined && raced.size > 0) {
      this.raced = undefined;
      this.resetAll(raced, error);
    }
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
