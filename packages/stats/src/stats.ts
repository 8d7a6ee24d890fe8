/**
 * Stat values: plain objects with a number field, updated on the hot path without allocation or
 * events. Names and meanings are Envoy's; exposition reads them at scrape time.
 */
export class Counter {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

export class Gauge {
  value = 0;
  set(value: number): void {
    this.value = value;
  }
  inc(by = 1): void {
    this.value += by;
  }
  dec(by = 1): void {
    this.value -= by;
  }
}

/** Envoy's default histogram bucket bounds, in the stat's unit (ms for `upstream_rq_time`). */
export const ENVOY_HISTOGRAM_BUCKETS: readonly number[] = Object.freeze([
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
]);

/** A fixed-bucket histogram: `counts[i]` holds values <= `bounds[i]` (and > the previous bound); the last slot is overflow. */
export class Histogram {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[] = ENVOY_HISTOGRAM_BUCKETS) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  record(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]! += 1;
    this.sum += value;
    this.count += 1;
  }

  /** The q-quantile (0..1), interpolated linearly inside its bucket; NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    const rank = q * this.count;
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const inBucket = this.counts[i]!;
      if (inBucket > 0 && seen + inBucket >= rank) {
        const lower = i === 0 ? 0 : this.bounds[i - 1]!;
        const upper = i < this.bounds.length ? this.bounds[i]! : lower;
        return lower + (upper - lower) * ((rank - seen) / inBucket);
      }
      seen += inBucket;
    }
    return this.bounds[this.bounds.length - 1]!;
  }
}
