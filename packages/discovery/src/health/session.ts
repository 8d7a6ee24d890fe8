/**
 * One host's active health checking, Envoy's ActiveHealthCheckSession
 * (source/extensions/health_checkers/common/health_checker_base_impl.cc):
 *
 * - a host starts failed (`/failed_active_hc`); the first check result decides at once, whatever
 *   the thresholds, later ones need `healthy_threshold` successes in a row to pass and
 *   `unhealthy_threshold` network failures (timeouts, resets, refused connections) or retriable
 *   failures in a row to fail; an active, non-retriable failure (an unexpected HTTP status, a gRPC
 *   status other than SERVING) fails the host at once;
 * - the next check waits `interval` while healthy, `unhealthy_interval` while failed, the edge
 *   intervals while a change is pending (thresholds not reached yet), or the no-traffic intervals
 *   while the cluster never had traffic, plus the configured jitter; the first waits `initial_jitter`;
 * - each check must end within `timeout`, else it is a network failure (`/active_hc_timeout` while failed).
 *
 * Timers are the injected clock's, unref'd; none runs after `stop`.
 */
import type { Clock, TimerHandle } from '@xmesh/core';
import type { HealthCheckConfig } from '@xmesh/xds';
import type { Probe, ProbeOutcome } from './probe.js';

/** Envoy's HealthTransition. */
export type HealthTransition = 'unchanged' | 'changed' | 'pending';

/** What a session needs from its cluster's checker. */
export interface SessionParent {
  readonly clock: Clock;
  readonly random: () => number;
  config(): HealthCheckConfig;
  /** True once the cluster had traffic (Envoy: `upstream_cx_total` used). */
  hadTraffic(): boolean;
  readonly stats: HealthCheckCounters;
  /** Told after every check result. */
  onResult(session: HealthCheckSession, transition: HealthTransition, healthy: boolean): void;
}

/** Envoy's `cluster.<name>.health_check.*` (counters, and the `healthy` / `degraded` gauges). */
export interface HealthCheckCounters {
  attempt: number;
  success: number;
  failure: number;
  network_failure: number;
  passive_failure: number;
  verify_cluster: number;
  healthy: number;
  degraded: number;
}

export class HealthCheckSession {
  /** `/failed_active_hc`. */
  failed = true;
  /** `/pending_active_hc`: not checked yet, and left out of balancing until it is. */
  pending: boolean;
  /** `/active_hc_timeout`. */
  timedOut = false;
  /** `/degraded_active_hc`. */
  degraded = false;
  /** `/excluded_via_immediate_hc_fail`. */
  excludedImmediately = false;
  /** True until the first check result. */
  firstCheck = true;
  private numHealthy = 0;
  private numUnhealthy = 0;
  private intervalTimer: TimerHandle | undefined = undefined;
  private timeoutTimer: TimerHandle | undefined = undefined;
  /** Each started check gets a number; a late result of an older one is dropped. */
  private checkNumber = 0;
  private stopped = false;

  constructor(
    readonly id: string,
    private readonly parent: SessionParent,
    private probe: Probe,
    pending: boolean,
    /** Carried over from an earlier session of the same host (a changed health check config): its flags stand until the first new result. */
    previous?: HealthCheckSession,
  ) {
    this.pending = pending;
    if (previous !== undefined) {
      this.failed = previous.failed;
      this.pending = previous.pending;
      this.timedOut = previous.timedOut;
      this.degraded = previous.degraded;
      this.excludedImmediately = previous.excludedImmediately;
    }
    if (!this.failed) parent.stats.healthy++;
    if (this.degraded) parent.stats.degraded++;
  }

  /** Runs the first check now, or after `initial_jitter`. */
  start(): void {
    const jitter = this.parent.config().initialJitterMs;
    if (jitter <= 0) this.check();
    else this.schedule(Math.max(1, Math.floor(this.parent.random() * jitter)));
  }

  /** Ends the session: timers, the check in flight and connections go. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.clearTimers();
    this.probe.close();
    if (!this.failed) this.parent.stats.healthy--;
    if (this.degraded) this.parent.stats.degraded--;
  }

  private check(): void {
    if (this.stopped) return;
    const number = ++this.checkNumber;
    const { clock, stats } = this.parent;
    stats.attempt++;
    this.timeoutTimer = clock.setTimeout(() => this.onTimeout(number), this.parent.config().timeoutMs);
    this.timeoutTimer.unref?.();
    this.probe.start((outcome) => this.onOutcome(number, outcome));
  }

  private onTimeout(number: number): void {
    this.timeoutTimer = undefined;
    if (this.stopped || number !== this.checkNumber) return;
    this.checkNumber++;
    this.probe.abort();
    this.handleFailure('network_timeout', false);
  }

  private onOutcome(number: number, outcome: ProbeOutcome): void {
    if (this.stopped || number !== this.checkNumber) return;
    this.checkNumber++;
    if (outcome.kind === 'success') this.handleSuccess(outcome.degraded);
    else {
      if (outcome.immediateFail === true) this.excludedImmediately = true;
      this.handleFailure(outcome.type, outcome.retriable);
    }
  }

  private handleSuccess(degraded: boolean): void {
    const { stats, config } = this.parent;
    this.numUnhealthy = 0;
    let transition: HealthTransition = 'unchanged';
    if (this.failed) {
      if (this.firstCheck || ++this.numHealthy === config().healthyThreshold) {
        this.timedOut = false;
        this.excludedImmediately = false;
        this.failed = false;
        stats.healthy++;
        transition = 'changed';
      } else {
        transition = 'pending';
      }
    }
    transition = this.clearPending(transition);
    if (degraded !== this.degraded) {
      this.degraded = degraded;
      stats.degraded += degraded ? 1 : -1;
      if (transition === 'unchanged') transition = 'changed';
    }
    stats.success++;
    this.firstCheck = false;
    this.parent.onResult(this, transition, true);
    this.next('healthy', transition);
  }

  private handleFailure(type: 'active' | 'network' | 'network_timeout', retriable: boolean): void {
    const { stats, config } = this.parent;
    this.numHealthy = 0;
    const network = type !== 'active';
    let transition: HealthTransition = 'unchanged';
    if (!this.failed) {
      if ((!network && !retriable) || ++this.numUnhealthy === config().unhealthyThreshold) {
        this.failed = true;
        stats.healthy--;
        transition = 'changed';
      } else {
        transition = 'pending';
      }
    }
    this.timedOut = type === 'network_timeout' && this.failed;
    transition = this.clearPending(transition);
    stats.failure++;
    if (network) stats.network_failure++;
    this.firstCheck = false;
    this.parent.onResult(this, transition, false);
    this.next('unhealthy', transition);
  }

  /** A host checked for the first time leaves `/pending_active_hc`: its cluster recomputes even if its health did not change. */
  private clearPending(transition: HealthTransition): HealthTransition {
    if (!this.pending) return transition;
    this.pending = false;
    return 'changed';
  }

  private next(state: 'healthy' | 'unhealthy', transition: HealthTransition): void {
    if (this.stopped) return;
    if (this.timeoutTimer !== undefined) this.parent.clock.clearTimeout(this.timeoutTimer);
    this.timeoutTimer = undefined;
    this.schedule(this.interval(state, transition));
  }

  /** Envoy's HealthCheckerImplBase::interval and intervalWithJitter. */
  private interval(state: 'healthy' | 'unhealthy', transition: HealthTransition): number {
    const c = this.parent.config();
    let base: number;
    if (this.parent.hadTraffic()) {
      if (state === 'unhealthy') base = transition === 'pending' ? c.unhealthyEdgeIntervalMs : c.unhealthyIntervalMs;
      else base = transition === 'pending' ? c.healthyEdgeIntervalMs : c.intervalMs;
    } else {
      base = state === 'healthy' && transition !== 'pending' ? c.noTrafficHealthyIntervalMs : c.noTrafficIntervalMs;
    }
    const random = this.parent.random;
    const percentJitter = Math.floor((c.intervalJitterPercent * base) / 100);
    if (percentJitter > 0) base += Math.floor(random() * percentJitter);
    if (c.intervalJitterMs > 0) base += Math.floor(random() * c.intervalJitterMs);
    return Math.max(1, base);
  }

  private schedule(ms: number): void {
    this.intervalTimer = this.parent.clock.setTimeout(() => {
      this.intervalTimer = undefined;
      this.check();
    }, ms);
    this.intervalTimer.unref?.();
  }

  private clearTimers(): void {
    const clock = this.parent.clock;
    if (this.intervalTimer !== undefined) clock.clearTimeout(this.intervalTimer);
    if (this.timeoutTimer !== undefined) clock.clearTimeout(this.timeoutTimer);
    this.intervalTimer = undefined;
    this.timeoutTimer = undefined;
  }
}
