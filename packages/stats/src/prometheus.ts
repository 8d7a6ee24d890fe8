/**
 * Prometheus exposition through prom-client, on a per-mesh `Registry` (never the global one).
 * Each metric family is a collector registered once, reading the store's values at scrape time;
 * the hot path never touches prom-client.
 */
import { createRequire } from 'node:module';
import type { Registry } from 'prom-client';
import type { StatEntry, StatKind, StatStore } from './stat-store.js';
import type { Counter, Gauge, Histogram } from './stats.js';

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

class Family {
  readonly members: StatEntry[] = [];
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly type: StatKind,
    readonly help: string,
  ) {}

  get(): { name: string; help: string; type: StatKind; values: MetricValue[]; aggregator: string } {
    const values: MetricValue[] = [];
    for (const entry of this.members) {
      if (entry.kind !== 'histogram') {
        values.push({ value: (entry.stat as Counter | Gauge).value, labels: { ...entry.tags } });
        continue;
      }
      const h = entry.stat as Histogram;
      let cumulative = 0;
      for (let i = 0; i < h.bounds.length; i++) {
        cumulative += h.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, value: cumulative, labels: { ...entry.tags, le: h.bounds[i]! } });
      }
      values.push({ metricName: `${this.name}_bucket`, value: h.count, labels: { ...entry.tags, le: '+Inf' } });
      values.push({ metricName: `${this.name}_sum`, value: h.sum, labels: { ...entry.tags } });
      values.push({ metricName: `${this.name}_count`, value: h.count, labels: { ...entry.tags } });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

export class PrometheusExporter {
  readonly registry: Registry;
  private readonly families = new Map<string, Family>();

  /** prom-client loads with the first exporter: processes that never serve Prometheus text never pay for it. */
  constructor(store: StatStore, registry: Registry = new (createRequire(import.meta.url)('prom-client') as typeof import('prom-client')).Registry()) {
    this.registry = registry;
    for (const entry of store.all()) this.add(entry);
    store.onCreate((entry) => this.add(entry));
  }

  /** The exposition text (`text/plain; version=0.0.4`). */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private add(entry: StatEntry): void {
    let family = this.families.get(entry.promName);
    if (family === undefined) {
      family = new Family(entry.promName, entry.kind, `Envoy stat ${entry.name.replace(/\\/g, '\\\\')}`);
      this.families.set(entry.promName, family);
      this.registry.registerMetric(family as never);
    } else if (family.type !== entry.kind) {
      throw new TypeError(`stat ${entry.name} (${entry.kind}) clashes with Prometheus family ${entry.promName} (${family.type})`);
    }
    family.members.push(entry);
  }
}
