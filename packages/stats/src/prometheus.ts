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

/** What an exporter needs of a registry it adds families to: prom-client's `Registry` fits, the app's own included. */
export interface MetricsRegistry {
  registerMetric(metric: never): void;
  getSingleMetric(name: string): unknown;
}

export interface PrometheusExporterOptions {
  /** Registries (the app's) that get every family too; a family whose name one already has is left out of that one. */
  readonly alsoRegisterIn?: readonly MetricsRegistry[];
  /** Runs once before each scrape (of any registry) reads the values, e.g. to copy gauges in. */
  readonly beforeScrape?: () => void;
}

class Family {
  readonly members: StatEntry[] = [];
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly type: StatKind,
    readonly help: string,
    private readonly beforeRead: () => void,
  ) {}

  get(): { name: string; help: string; type: StatKind; values: MetricValue[]; aggregator: string } {
    this.beforeRead();
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
  private readonly others: readonly MetricsRegistry[];
  private readonly beforeScrape: (() => void) | undefined;
  /** True from the first family read of a scrape until the end of that tick: `beforeScrape` runs once per scrape. */
  private scraping = false;
  private readonly beforeRead = (): void => {
    if (this.scraping || this.beforeScrape === undefined) return;
    this.scraping = true;
    queueMicrotask(() => (this.scraping = false));
    this.beforeScrape();
  };

  /** prom-client loads with the first exporter: processes that never serve Prometheus text never pay for it. */
  constructor(
    store: StatStore,
    registry: Registry = new (createRequire(import.meta.url)('prom-client') as typeof import('prom-client')).Registry(),
    options: PrometheusExporterOptions = {},
  ) {
    this.registry = registry;
    this.others = options.alsoRegisterIn ?? [];
    this.beforeScrape = options.beforeScrape;
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
      family = new Family(entry.promName, entry.kind, `Envoy stat ${entry.name.replace(/\\/g, '\\\\')}`, this.beforeRead);
      this.families.set(entry.promName, family);
      this.registry.registerMetric(family as never);
      // Never throws here (stats are created on the call path): a name the app's registry already has stays the app's.
      for (const other of this.others) if (other.getSingleMetric(entry.promName) === undefined) other.registerMetric(family as never);
    } else if (family.type !== entry.kind) {
      throw new TypeError(`stat ${entry.name} (${entry.kind}) clashes with Prometheus family ${entry.promName} (${family.type})`);
    }
    family.members.push(entry);
  }
}
