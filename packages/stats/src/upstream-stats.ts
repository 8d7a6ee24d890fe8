/**
 * Envoy's upstream request stats for one scope (a cluster, or a route): `upstream_rq_total`,
 * `upstream_rq_<code>`, `upstream_rq_<class>xx`, `upstream_rq_time` and the retry/timeout/overflow
 * counters. Per-code counters are created on first use and then cached by status.
 */
import type { StatScope } from './stat-store.js';
import type { Counter, Gauge, Histogram } from './stats.js';

export class UpstreamStats {
  readonly rqTotal: Counter;
  readonly rqActive: Gauge;
  readonly rqTime: Histogram;
  readonly rqRetry: Counter;
  readonly rqRetrySuccess: Counter;
  readonly rqRetryOverflow: Counter;
  readonly rqTimeout: Counter;
  readonly rqPerTryTimeout: Counter;
  readonly rqPendingOverflow: Counter;
  readonly cxActive: Gauge;
  readonly ejectionsActive: Gauge;
  private readonly byClass: Counter[] = [];
  private readonly byCode = new Map<number, Counter>();

  constructor(private readonly scope: StatScope) {
    this.rqTotal = scope.counter('upstream_rq_total');
    this.rqActive = scope.gauge('upstream_rq_active');
    this.rqTime = scope.histogram('upstream_rq_time');
    this.rqRetry = scope.counter('upstream_rq_retry');
    this.rqRetrySuccess = scope.counter('upstream_rq_retry_success');
    this.rqRetryOverflow = scope.counter('upstream_rq_retry_overflow');
    this.rqTimeout = scope.counter('upstream_rq_timeout');
    this.rqPerTryTimeout = scope.counter('upstream_rq_per_try_timeout');
    this.rqPendingOverflow = scope.counter('upstream_rq_pending_overflow');
    this.cxActive = scope.gauge('upstream_cx_active');
    this.ejectionsActive = scope.gauge('outlier_detection.ejections_active');
  }

  /** Charges one finished attempt: its response code (and class) and its time. */
  chargeResponse(httpStatus: number, latencyMs: number): void {
    this.rqTotal.inc();
    this.code(httpStatus).inc();
    this.codeClass(Math.floor(httpStatus / 100)).inc();
    this.rqTime.record(latencyMs);
  }

  private code(status: number): Counter {
    let counter = this.byCode.get(status);
    if (counter === undefined) {
      counter = this.scope.counter(`upstream_rq_${status}`, 'upstream_rq', { envoy_response_code: String(status) });
      this.byCode.set(status, counter);
    }
    return counter;
  }

  private codeClass(digit: number): Counter {
    let counter = this.byClass[digit];
    if (counter === undefined) {
      counter = this.scope.counter(`upstream_rq_${digit}xx`, 'upstream_rq_xx', { envoy_response_code_class: String(digit) });
      this.byClass[digit] = counter;
    }
    return counter;
  }
}
