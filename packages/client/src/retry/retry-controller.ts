/**
 * One call's retries and timeouts, Envoy's router semantics:
 * - the overall deadline (route timeout, caller deadline, grpc_timeout_header_max,
 *   max_stream_duration) covers every attempt and the back-off between them; when it passes the
 *   attempt in flight is ended with XMESH_TIMEOUT (`upstream_rq_timeout`) and nothing is retried;
 * - `per_try_timeout` ends one attempt (`upstream_rq_per_try_timeout`), which then counts as a
 *   504 for `retry_on`;
 * - an uncommitted end that `retry_on` accepts is retried after a full-jitter back-off, up to
 *   `num_retries`, when the cluster admits a retry; with `retry_host_predicate` previous_hosts the
 *   retry's pick avoids endpoints already tried (up to `host_selection_retry_max_attempts` selections).
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
import type { RetryPolicy } from '@xmesh/xds';

const PER_TRY_TIMEOUT: AttemptResult = Object.freeze({ httpStatus: 504, grpcStatus: undefined, failure: 'per_try_timeout', headers: undefined });

export class RetryController implements AttemptRetry, DeadlineEntry {
  private current: PipelineCall;
  private readonly overall: number;
  private retries = 0;
  /** The overall deadline's place in the mesh's DeadlineScheduler (no timer per call). */
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

  constructor(
    call: PipelineCall,
    private readonly next: Invoke<PipelineCall>,
    private readonly policy: RoutePolicy,
    private readonly services: MeshServices,
  ) {
    this.current = call;
    this.stats = services.cluster(call.decision!.cluster);
    const now = services.clock.now();
    this.overall = overallDeadline(policy.action, now, call.deadline, call.request.grpc);
  }

  /** Schedules the overall deadline and runs the first attempt. */
  start(): void {
    const call = this.current;
    call.retry = this;
    const now = this.services.clock.now();
    // The caller's own deadline is enforced by the transport when it can; schedule ours only when it is shorter.
    if (this.overall < call.deadline || (!call.transportEnforcesDeadline && this.overall !== Infinity)) {
      if (this.overall <= now) {
        this.onOverallTimeout();
        return;
      }
      this.services.deadlines.schedule(this, this.overall);
    }
    this.runAttempt(call);
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
    if (!this.ended && this.deadlineSlot < 0 && this.overall !== Infinity) this.services.deadlines.schedule(this, this.overall);
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
    if (admission !== undefined && !admission.tryAcquireRetry()) {
      this.stats.rqRetryOverflow.inc();
      return false;
    }
    const next = attempt.nextAttempt();
    if (next === undefined) {
      admission?.releaseRetry();
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
    const deadline = attemptDeadline(retry?.perTryTimeoutMs, now, this.overall);
    if (deadline < this.overall && deadline < attempt.deadline) {
      this.perTryTimer = this.services.clock.setTimeout(() => this.onPerTryTimeout(attempt), deadline - now);
      this.perTryTimer.unref?.();
    }
    this.next(attempt);
  }

  private onPerTryTimeout(attempt: PipelineCall): void {
    this.perTryTimer = undefined;
    if (this.ended || attempt !== this.current) return;
    this.perTryExpired = attempt;
    this.stats.rqPerTryTimeout.inc();
    attempt.abortAttempt(new MeshError('XMESH_TIMEOUT', `per-try timeout (${this.policy.retry?.perTryTimeoutMs} ms) expired`, { cluster: attempt.decision?.cluster, httpStatus: 504 }));
  }

  /** @internal The overall deadline passed (DeadlineScheduler). */
  onDeadline(): void {
    this.onOverallTimeout();
  }

  private onOverallTimeout(): void {
    if (this.ended) return;
    const attempt = this.current;
    // The caller's deadline (not a route limit) passed: the caller gives up, as its transport would report it.
    const callerDeadline = this.overall >= attempt.deadline;
    if (!callerDeadline) this.stats.rqTimeout.inc();
    const message = callerDeadline ? "the caller's deadline passed" : `upstream request timeout (route timeout ${this.policy.action.timeoutMs} ms)`;
    const error = new MeshError('XMESH_TIMEOUT', message, { cluster: attempt.decision?.cluster, httpStatus: 504 });
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
    this.heldSlot?.releaseRetry();
    this.heldSlot = undefined;
  }
}
