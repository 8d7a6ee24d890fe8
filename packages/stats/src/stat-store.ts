/**
 * A per-mesh stat store. Stats live in scopes that carry both names Envoy gives them: the dotted
 * name of `/stats` (`cluster.backend.upstream_rq_total`) and the Prometheus name with tags
 * extracted (`envoy_cluster_upstream_rq_total{envoy_cluster_name="backend"}`), so exposition
 * never parses names. Creating a stat is a map lookup; callers keep the returned object and
 * update it directly.
 */
import { Counter, Gauge, Histogram } from './stats.js';

export type StatTags = Readonly<Record<string, string>>;
export type StatKind = 'counter' | 'gauge' | 'histogram';

export interface StatEntry {
  readonly kind: StatKind;
  /** Envoy's dotted name. */
  readonly name: string;
  /** Prometheus metric family name. */
  readonly promName: string;
  readonly tags: StatTags;
  readonly stat: Counter | Gauge | Histogram;
}

export class StatScope {
  constructor(
    private readonly store: StatStore,
    /** Dotted prefix, ending in `.` unless empty. */
    readonly prefix: string,
    /** Prometheus prefix, ending in `_`. */
    readonly promPrefix: string,
    readonly tags: StatTags,
  ) {}

  /**
   * A child scope: `dotted` extends the dotted name verbatim (it may hold tag values);
   * `prom` extends the Prometheus name; `tags` are the values taken out of it.
   */
  scope(dotted: string, prom: string, tags: StatTags = {}): StatScope {
    return new StatScope(this.store, `${this.prefix}${dotted}.`, `${this.promPrefix}${sanitize(prom)}_`, { ...this.tags, ...tags });
  }

  counter(name: string, promName: string = name, tags?: StatTags): Counter {
    return this.store.register('counter', this, name, promName, tags, () => new Counter()) as Counter;
  }

  gauge(name: string, promName: string = name, tags?: StatTags): Gauge {
    return this.store.register('gauge', this, name, promName, tags, () => new Gauge()) as Gauge;
  }

  histogram(name: string, promName: string = name, tags?: StatTags): Histogram {
    return this.store.register('histogram', this, name, promName, tags, () => new Histogram()) as Histogram;
  }
}

export class StatStore {
  private readonly entries = new Map<string, StatEntry>();
  private readonly listeners: ((entry: StatEntry) => void)[] = [];
  /** Root scope: Prometheus names start with `envoy_`, as Envoy's. */
  readonly root: StatScope = new StatScope(this, '', 'envoy_', {});

  /** `cluster.<name>.`, tagged `envoy_cluster_name`. */
  cluster(name: string): StatScope {
    return this.root.scope(`cluster.${name}`, 'cluster', { envoy_cluster_name: name });
  }

  /** `http.<stat_prefix>.` of a listener's connection manager, tagged `envoy_http_conn_manager_prefix`. */
  http(statPrefix: string): StatScope {
    return this.root.scope(`http.${statPrefix}`, 'http', { envoy_http_conn_manager_prefix: statPrefix });
  }

  /** `vhost.<vhost>.route.<route stat_prefix>.`, tagged `envoy_virtual_host` and `envoy_route`. */
  route(virtualHost: string, route: string): StatScope {
    return this.root.scope(`vhost.${virtualHost}.route.${route}`, 'vhost_route', { envoy_virtual_host: virtualHost, envoy_route: route });
  }

  /** `<stat_prefix>.http_local_rate_limit.`, tagged `envoy_local_http_ratelimit_prefix`. */
  localRateLimit(statPrefix: string): StatScope {
    return this.root.scope(`${statPrefix}.http_local_rate_limit`, 'http_local_rate_limit', { envoy_local_http_ratelimit_prefix: statPrefix });
  }

  /** The stat by dotted name, if it exists. */
  get(name: string): StatEntry | undefined {
    return this.entries.get(name);
  }

  /** Value of a counter or gauge by dotted name; 0 when absent. */
  value(name: string): number {
    const entry = this.entries.get(name);
    if (!entry || entry.kind === 'histogram') return 0;
    return (entry.stat as Counter | Gauge).value;
  }

  all(): IterableIterator<StatEntry> {
    return this.entries.values();
  }

  /** Called once for every stat created from now on. */
  onCreate(listener: (entry: StatEntry) => void): void {
    this.listeners.push(listener);
  }

  /** @internal used by scopes. */
  register(kind: StatKind, scope: StatScope, name: string, promName: string, tags: StatTags | undefined, create: () => Counter | Gauge | Histogram): Counter | Gauge | Histogram {
    const full = scope.prefix + name;
    const existing = this.entries.get(full);
    if (existing) {
      if (existing.kind !== kind) throw new TypeError(`stat ${full} is a ${existing.kind}, not a ${kind}`);
      return existing.stat;
    }
    const entry: StatEntry = {
      kind,
      name: full,
      promName: scope.promPrefix + sanitize(promName),
      tags: tags ? { ...scope.tags, ...tags } : scope.tags,
      stat: create(),
    };
    this.entries.set(full, entry);
    for (const listener of this.listeners) listener(entry);
    return entry.stat;
  }
}

/** Prometheus metric names allow `[a-zA-Z0-9_:]`. */
function sanitize(name: string): string {
  return name.replace(/[^a-zA-Z0-9_:]/g, '_');
}
