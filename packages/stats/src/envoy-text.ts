/**
 * Envoy's plain `/stats` text: one `name: value` line per stat, sorted by name. Histograms print
 * Envoy's quantile list, `P0(nan,v) P25(nan,v) ...` (cumulative values; no interval data is kept).
 */
import type { StatStore } from './stat-store.js';
import type { Counter, Gauge, Histogram } from './stats.js';

const QUANTILES: readonly [string, number][] = [
  ['P0', 0], ['P25', 0.25], ['P50', 0.5], ['P75', 0.75], ['P90', 0.9], ['P95', 0.95],
  ['P99', 0.99], ['P99.5', 0.995], ['P99.9', 0.999], ['P100', 1],
];

/**
 * `filter`, when given, keeps the names it accepts. A RegExp is the caller's own (trusted) pattern; a pattern from
 * outside (Envoy's `/stats?filter=`) goes through `compileStatsFilter` instead.
 */
export function envoyStatsText(store: StatStore, filter?: RegExp | ((name: string) => boolean)): string {
  const accepts = filter instanceof RegExp ? (name: string) => filter.test(name) : filter;
  const lines: string[] = [];
  for (const entry of store.all()) {
    if (accepts && !accepts(entry.name)) continue;
    if (entry.kind === 'histogram') {
      const h = entry.stat as Histogram;
      const parts = QUANTILES.map(([label, q]) => `${label}(nan,${formatNumber(h.quantile(q))})`);
      lines.push(`${entry.name}: ${parts.join(' ')}`);
    } else {
      lines.push(`${entry.name}: ${(entry.stat as Counter | Gauge).value}`);
    }
  }
  lines.sort();
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function formatNumber(n: number): string {
  return Number.isNaN(n) ? 'nan' : String(Math.round(n * 1000) / 1000);
}
