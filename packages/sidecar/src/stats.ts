/**
 * The sidecar's downstream stats, kept in its mesh's stat store beside the upstream stats the
 * pipeline records (`cluster.<name>.upstream_rq_*`, retries, rate limits), so `/stats` and
 * `/stats/prometheus` show one set of Envoy-named stats: `http.<stat_prefix>.downstream_rq_*`.
 */
import type { Counter, Gauge, StatStore } from '@xmesh/stats';

export const SIDECAR_STAT_PREFIX = 'sidecar';

export class SidecarStats {
  private readonly total: Counter;
  private readonly active: Gauge;
  private readonly dropped: Counter;

  constructor(store: StatStore, statPrefix: string = SIDECAR_STAT_PREFIX) {
    const scope = store.http(statPrefix);
    this.total = scope.counter('downstream_rq_total');
    this.active = scope.gauge('downstream_rq_active');
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

  begin(): void {
    this.total.inc();
    this.active.inc();
  }

  /** A request's client stream closed. */
  end(): void {
    this.active.dec();
  }
}
