/**
 * The sidecar's downstream stats, kept in its mesh's stat store beside the upstream stats the
 * pipeline records (`cluster.<name>.upstream_rq_*`, retries, rate limits), so `/stats` and
 * `/stats/prometheus` show one set of Envoy-named stats: `http.<stat_prefix>.downstream_rq_*` and
 * `downstream_cx_*` (the connection manager's), plus the listener's overflow and detection timeouts
 * (in Envoy `listener.<address>.downstream_cx_overflow` / `downstream_pre_cx_timeout` / `no_filter_chain_match`, kept here
 * under the same `http.<stat_prefix>.` scope: the sidecar has one listener).
 */
import type { Counter, Gauge, StatStore } from '@xmesh/stats';
import type { ListenerEvents } from './listener.js';

export const SIDECAR_STAT_PREFIX = 'sidecar';

export class SidecarStats implements ListenerEvents {
  private readonly total: Counter;
  private readonly active: Gauge;
  private readonly cxTotal: Counter;
  private readonly cxActive: Gauge;
  private readonly cxOverflow: Counter;
  private readonly preCxTimeout: Counter;
  private readonly noChain: Counter;
  private readonly cxIdleTimeout: Counter;
  private readonly cxMaxDuration: Counter;
  private readonly cxMaxRequests: Counter;
  private readonly prematureResets: Counter;
  private readonly dropped: Counter;

  constructor(store: StatStore, statPrefix: string = SIDECAR_STAT_PREFIX) {
    const scope = store.http(statPrefix);
    this.total = scope.counter('downstream_rq_total');
    this.active = scope.gauge('downstream_rq_active');
    this.cxTotal = scope.counter('downstream_cx_total');
    this.cxActive = scope.gauge('downstream_cx_active');
    this.cxOverflow = scope.counter('downstream_cx_overflow');
    this.preCxTimeout = scope.counter('downstream_pre_cx_timeout');
    this.noChain = scope.counter('no_filter_chain_match');
    this.cxIdleTimeout = scope.counter('downstream_cx_idle_timeout');
    this.cxMaxDuration = scope.counter('downstream_cx_max_duration_reached');
    this.cxMaxRequests = scope.counter('downstream_cx_max_requests_reached');
    this.prematureResets = scope.counter('downstream_rq_too_many_premature_resets');
    this.dropped = scope.counter('bolt_oneway_dropped');
  }

  /** Bolt oneway requests that could not be delivered (nothing answers them). */
  get bolt_oneway_dropped(): number {
    return this.dropped.value;
  }

  onewayDropped(): void {
    this.dropped.inc();
  }

  /** Requests received. */
  get downstream_rq_total(): number {
    return this.total.value;
  }

  /** Requests whose client stream is still open. */
  get downstream_rq_active(): number {
    return this.active.value;
  }

  /** Client connections open now. */
  get downstream_cx_active(): number {
    return this.cxActive.value;
  }

  /** Connections closed at accept because `maxConnections` were open. */
  get downstream_cx_overflow(): number {
    return this.cxOverflow.value;
  }

  /** Connections closed for too many premature stream resets. */
  get downstream_rq_too_many_premature_resets(): number {
    return this.prematureResets.value;
  }

  begin(): void {
    this.total.inc();
    this.active.inc();
  }

  /** A request's client stream closed. */
  end(): void {
    this.active.dec();
  }

  connectionOpened(): void {
    this.cxTotal.inc();
    this.cxActive.inc();
  }

  connectionClosed(): void {
    this.cxActive.dec();
  }

  connectionOverflow(): void {
    this.cxOverflow.inc();
  }

  protocolDetectionTimeout(): void {
    this.preCxTimeout.inc();
  }

  noFilterChainMatch(): void {
    this.noChain.inc();
  }

  idleTimeout(): void {
    this.cxIdleTimeout.inc();
  }

  maxDurationReached(): void {
    this.cxMaxDuration.inc();
  }

  maxRequestsReached(): void {
    this.cxMaxRequests.inc();
  }

  tooManyPrematureResets(): void {
    this.prematureResets.inc();
  }
}
