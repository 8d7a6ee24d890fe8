/**
 * Envoy's outlier detection for one cluster (`outlier_detection_impl.cc`): consecutive 5xx /
 * gateway-failure / local-origin runs eject at once; success-rate (mean − stdev × factor) and
 * failure-percentage ejections are decided each `interval`.
 *
 * A detection counts `ejections_detected_*`; then `max_ejection_percent` is checked ((ejected + 1)
 * / hosts must stay within it, unless `always_eject_one_host` and none is ejected; else
 * `ejections_overflow`), then the `enforcing_*` roll. A consecutive detection restarts its own run
 * whether or not it ejected; a host's runs all restart when it returns, so a host still failing
 * after its ejection is ejected again. An ejection lasts min(`base_ejection_time` × multiplier,
 * `max_ejection_time`) + a jitter of whole ms in [0, `max_ejection_time_jitter`]; the multiplier
 * grows by one per ejection while base × multiplier < max + base, and falls by one at each
 * interval tick at least an interval after the host returned. Hosts return at the first tick after
 * their time.
 *
 * One timer per cluster (the interval tick, unref'd, on the injected clock); none per endpoint.
 * `record` is synchronous and allocation-free unless it ejects.
 */
import type { CallOutcome, Clock, TimerHandle } from '@xmesh/core';
import type { OutlierDetectionConfig } from '@xmesh/xds';
import type { EventEmitter } from 'eventemitter3';
import type { EjectionReason, ResilienceEvents } from '../events.js';
import type { ClusterCounter, CounterSet } from '../stats/cluster-stats.js';
import { effectiveHttpStatus, is5xx, isCallerCancel, isGatewayFailure } from './classify.js';
import { HostMonitor } from './host-monitor.js';
import { failurePercentageOutliers, successRateOutliers } from './interval-detectors.js';

export interface OutlierDetectorOptions {
  readonly cluster: string;
  readonly clock: Clock;
  readonly random: () => number;
  readonly stats: CounterSet<ClusterCounter>;
  readonly events: EventEmitter<ResilienceEvents>;
  /** Called with the ejected ids whenever the set changes (the balancer excludes them). */
  readonly onEjectedChange: (ejected: ReadonlySet<string>) => void;
}

export class OutlierDetector {
  private monitors = new Map<string, HostMonitor>();
  private readonly ejected = new Set<string>();
  private timer: TimerHandle | undefined;
  private closed = false;

  constructor(
    private config: OutlierDetectionConfig,
    private readonly options: OutlierDetectorOptions,
  ) {
    this.schedule();
  }

  /** Ejected endpoint ids (a live view; copy to keep). */
  get ejectedIds(): ReadonlySet<string> {
    return this.ejected;
  }

  monitor(id: string): HostMonitor | undefined {
    return this.monitors.get(id);
  }

  update(config: OutlierDetectionConfig): void {
    const intervalChanged = config.intervalMs !== this.config.intervalMs;
    this.config = config;
    if (intervalChanged) this.schedule();
  }

  /** The cluster's endpoints now: keeps monitors (and ejections) of staying ids, drops the rest. */
  setEndpoints(ids: Iterable<string>): void {
    const next = new Map<string, HostMonitor>();
    for (const id of ids) next.set(id, this.monitors.get(id) ?? new HostMonitor(id));
    this.monitors = next;
    let changed = false;
    for (const id of this.ejected) {
      if (!next.has(id)) {
        this.ejected.delete(id);
        changed = true;
      }
    }
    if (changed) this.options.onEjectedChange(this.ejected);
  }

  /** Feeds one attempt's outcome for endpoint `id`. */
  record(id: string, outcome: CallOutcome): void {
    const host = this.monitors.get(id);
    if (host === undefined || isCallerCancel(outcome)) return;
    const c = this.config;
    if (outcome.kind === 'local_error' && c.splitExternalLocalOriginErrors) {
      host.localFailure++;
      if (++host.consecutiveLocalOriginFailure === c.consecutiveLocalOriginFailure && !host.ejected) {
        this.eject(host, 'consecutive_local_origin_failure', c.enforcingConsecutiveLocalOriginFailure);
        host.consecutiveLocalOriginFailure = 0;
      }
      return;
    }
    if (c.splitExternalLocalOriginErrors) {
      host.localSuccess++;
      host.consecutiveLocalOriginFailure = 0;
    }
    // Unsplit, a local-origin failure counts as the 503 Envoy maps it to.
    const status = outcome.kind === 'local_error' ? 503 : effectiveHttpStatus(outcome);
    if (!is5xx(status)) {
      host.externalSuccess++;
      host.consecutive5xx = 0;
      host.consecutiveGatewayFailure = 0;
      return;
    }
    host.externalFailure++;
    if (isGatewayFailure(status)) {
      if (++host.consecutiveGatewayFailure === c.consecutiveGatewayFailure && !host.ejected) {
        this.eject(host, 'consecutive_gateway_failure', c.enforcingConsecutiveGatewayFailure);
        host.consecutiveGatewayFailure = 0;
      }
    } else {
      host.consecutiveGatewayFailure = 0;
    }
    if (++host.consecutive5xx === c.consecutive5xx && !host.ejected) {
      this.eject(host, 'consecutive_5xx', c.enforcingConsecutive5xx);
      host.consecutive5xx = 0;
    }
  }

  /**
   * The interval tick: returns hosts whose time is up, runs the statistical detectors over this
   * interval's counts, lowers the multiplier of hosts in for an interval since they returned, and
   * starts a new interval.
   */
  tick(): void {
    const now = this.options.clock.now();
    const c = this.config;
    let returned = false;
    for (const host of this.monitors.values()) {
      if (host.ejectedAt !== undefined && now - host.ejectedAt >= this.ejectionTimeMs(host)) {
        host.ejectedAt = undefined;
        host.returnedAt = now;
        host.resetRuns();
        this.ejected.delete(host.id);
        returned = true;
        this.options.events.emit('endpoint.returned', { cluster: this.options.cluster, endpoint: host.id });
      }
    }
    if (returned) this.options.onEjectedChange(this.ejected);
    this.runIntervalDetectors();
    for (const host of this.monitors.values()) {
      if (!host.ejected && host.ejections > 0 && host.returnedAt !== undefined && now - host.returnedAt >= c.intervalMs) host.ejections--;
      host.resetInterval();
    }
  }

  /**
   * Returns an ejected host now: an active health check passed it and the config has
   * `successful_active_health_check_uneject_host` (Envoy's DetectorImpl::unejectHost).
   */
  uneject(id: string): void {
    const host = this.monitors.get(id);
    if (host === undefined || host.ejectedAt === undefined) return;
    host.ejectedAt = undefined;
    host.returnedAt = this.options.clock.now();
    host.resetRuns();
    this.ejected.delete(id);
    this.options.events.emit('endpoint.returned', { cluster: this.options.cluster, endpoint: id });
    this.options.onEjectedChange(this.ejected);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer);
    if (this.closed) return;
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = undefined;
      this.tick();
      this.schedule();
    }, this.config.intervalMs);
    this.timer.unref?.();
  }

  private runIntervalDetectors(): void {
    const c = this.config;
    const candidates = [...this.monitors.values()].filter((h) => !h.ejected);
    const external = (h: HostMonitor) => [h.externalSuccess, h.externalFailure] as const;
    const local = (h: HostMonitor) => [h.localSuccess, h.localFailure] as const;
    const eject = (h: HostMonitor, reason: EjectionReason, enforcingPercent: number) => {
      if (!h.ejected) this.eject(h, reason, enforcingPercent);
    };
    for (const h of successRateOutliers(candidates, external, c)) eject(h, 'success_rate', c.enforcingSuccessRate);
    for (const h of failurePercentageOutliers(candidates, external, c)) eject(h, 'failure_percentage', c.enforcingFailurePercentage);
    if (c.splitExternalLocalOriginErrors) {
      for (const h of successRateOutliers(candidates, local, c)) eject(h, 'local_origin_success_rate', c.enforcingLocalOriginSuccessRate);
      for (const h of failurePercentageOutliers(candidates, local, c)) eject(h, 'local_origin_failure_percentage', c.enforcingFailurePercentageLocalOrigin);
    }
  }

  /** A detection of `reason` on a host not ejected: counted, then ejected if within the percent and the roll passes. */
  private eject(host: HostMonitor, reason: EjectionReason, enforcingPercent: number): void {
    const { stats, random, clock, events, cluster } = this.options;
    stats[`outlier_detection.ejections_detected_${reason}`]++;
    const c = this.config;
    const active = this.ejected.size;
    const withinPercent = ((active + 1) * 100) / this.monitors.size <= c.maxEjectionPercent;
    if (!withinPercent && !(c.alwaysEjectOneHost && active === 0)) {
      stats['outlier_detection.ejections_overflow']++;
      return;
    }
    if (enforcingPercent <= 0 || random() * 100 >= enforcingPercent) return;
    host.jitterMs = c.maxEjectionTimeJitterMs > 0 ? Math.floor(random() * (c.maxEjectionTimeJitterMs + 1)) : 0;
    if (host.ejections * c.baseEjectionTimeMs < c.maxEjectionTimeMs + c.baseEjectionTimeMs) host.ejections++;
    host.ejectedAt = clock.now();
    this.ejected.add(host.id);
    stats['outlier_detection.ejections_enforced_total']++;
    stats[`outlier_detection.ejections_enforced_${reason}`]++;
    events.emit('endpoint.ejected', { cluster, endpoint: host.id, reason, durationMs: this.ejectionTimeMs(host), ejections: host.ejections });
    this.options.onEjectedChange(this.ejected);
  }

  /** How long `host`'s current ejection lasts under the current config. */
  private ejectionTimeMs(host: HostMonitor): number {
    const c = this.config;
    return Math.min(c.baseEjectionTimeMs * host.ejections, Math.max(c.baseEjectionTimeMs, c.maxEjectionTimeMs)) + host.jitterMs;
  }
}
