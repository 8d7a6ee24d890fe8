/** The printed table, the comparison matrices under it, and the files written in the results folder. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderHtml } from './html.js';
import type { MachineInfo } from './machine.js';
import { rowLoopLabel, rowWorkload, sameSlice, type ResultRow } from './results.js';
import { workloadShortLabel } from './workload.js';

/**
 * Each scenario compared with a baseline: every embedded variant and sidecar against `direct`, embedded against every
 * sidecar, the xmesh sidecar against the node:http2 proxy floor; the Bolt rows against `bolt-direct` and each other.
 */
export const COMPARISONS: readonly (readonly [scenario: string, baseline: string])[] = [
  ['embedded', 'direct'],
  ['embedded-grpcjs', 'direct'],
  ['embedded-lean-fast', 'direct'],
  ['h2-floor', 'direct'],
  ['embedded-3', 'direct-rr-3'],
  ['sidecar-xmesh', 'direct'],
  ['sidecar-haproxy', 'direct'],
  ['h2-proxy-floor', 'direct'],
  ['sidecar-xmesh', 'h2-proxy-floor'],
  ['sidecar-xmesh-2hop', 'direct'],
  ['sidecar-haproxy-2hop', 'direct'],
  ['embedded', 'sidecar-xmesh'],
  ['embedded', 'sidecar-haproxy'],
  ['embedded', 'sidecar-xmesh-2hop'],
  ['embedded', 'sidecar-haproxy-2hop'],
  ['direct-tls', 'direct'],
  ['embedded-tls', 'embedded'],
  ['embedded-tls', 'direct-tls'],
  ['sidecar-haproxy-tls', 'direct-tls'],
  ['embedded-tls', 'sidecar-haproxy-tls'],
  ['bolt-embedded', 'bolt-direct'],
  ['bolt-sidecar-xmesh', 'bolt-direct'],
  ['bolt-embedded', 'bolt-sidecar-xmesh'],
];

/** The workload cell: `unary`, or `stream×10` for a stream of 10 replies. */
export const workloadCell = (r: ResultRow) => (r.workload === 'unary' ? 'unary' : `${r.workload}×${r.messages_per_call}`);

/** Proxy RSS: the one proxy's MiB, or each hop's joined with `+`. */
export function proxyRssCell(r: ResultRow): string {
  if (r.proxy_rss_each_mib === null || r.proxy_rss_each_mib.length === 0) return r.proxy_rss_mib === null ? '-' : r.proxy_rss_mib.toFixed(1);
  return r.proxy_rss_each_mib.map((m) => m.toFixed(1)).join('+');
}

const COLUMNS: readonly [string, (r: ResultRow) => string][] = [
  ['scenario', (r) => r.scenario],
  ['workload', workloadCell],
  ['load', rowLoopLabel],
  ['payload B', (r) => String(r.payload)],
  ['calls/s', (r) => String(r.rps)],
  ['p50 µs', (r) => String(r.p50_us)],
  ['p90 µs', (r) => String(r.p90_us)],
  ['p99 µs', (r) => String(r.p99_us)],
  ['p99.9 µs', (r) => String(r.p999_us)],
  ['cpu ms/1k', (r) => r.cpu_ms_per_1k.toFixed(1)],
  ['proxy cpu ms/1k', (r) => (r.proxy_cpu_ms_per_1k === null ? '-' : r.proxy_cpu_ms_per_1k.toFixed(1))],
  ['proxy MiB', proxyRssCell],
  ['errors', (r) => String(r.errors)],
];
const TEXT_COLUMNS = 3;

/** Aligns `cells` (first line = header): the first `textColumns` left-aligned, the rest right-aligned; a rule under the header. */
export function alignColumns(cells: readonly (readonly string[])[], textColumns: number): string {
  const columns = cells[0]?.length ?? 0;
  const widths = Array.from({ length: columns }, (_, i) => Math.max(...cells.map((line) => line[i]?.length ?? 0)));
  const fmt = (line: readonly string[]) => line.map((cell, i) => (i < textColumns ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  const [header = [], ...body] = cells;
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(fmt)].join('\n');
}

/** A fixed-width text table, one line per row. */
export function formatTable(rows: readonly ResultRow[]): string {
  return alignColumns([COLUMNS.map(([title]) => title), ...rows.map((r) => COLUMNS.map(([, get]) => get(r)))], TEXT_COLUMNS);
}

export interface Comparison {
  scenario: string;
  baseline: string;
  /** Short workload and load, e.g. `u100 c16`. */
  slice: string;
  /** scenario calls/s ÷ baseline calls/s */
  throughputRatio: number;
  addedP50Us: number;
  addedP99Us: number;
  /** (client + proxy CPU per call) ÷ (baseline client + proxy CPU per call) */
  cpuRatio: number;
}

/** The short label of a row's workload × load, e.g. `u1024 c64`, `s10×100 open` (one open-loop rate per run). */
export const sliceLabel = (r: ResultRow) => `${workloadShortLabel(rowWorkload(r))} ${r.loop === 'closed' ? `c${r.concurrency}` : 'open'}`;

export function compare(rows: readonly ResultRow[]): Comparison[] {
  const out: Comparison[] = [];
  for (const [scenario, baseline] of COMPARISONS) {
    for (const row of rows.filter((r) => r.scenario === scenario)) {
      const base = rows.find((r) => r.scenario === baseline && sameSlice(r, row));
      const baseCpu = (base?.cpu_ms_per_1k ?? 0) + (base?.proxy_cpu_ms_per_1k ?? 0);
      if (base === undefined || base.rps === 0 || baseCpu === 0) continue;
      out.push({
        scenario,
        baseline,
        slice: sliceLabel(row),
        throughputRatio: row.rps / base.rps,
        addedP50Us: row.p50_us - base.p50_us,
        addedP99Us: row.p99_us - base.p99_us,
        cpuRatio: (row.cpu_ms_per_1k + (row.proxy_cpu_ms_per_1k ?? 0)) / baseCpu,
      });
    }
  }
  return out;
}

const signed = (n: number) => `${n >= 0 ? '+' : ''}${Math.round(n)}`;

/** The comparison metrics shown, each as one matrix (pairs × slices). */
export const COMPARISON_METRICS: readonly [title: string, cell: (c: Comparison) => string][] = [
  ['calls/s ratio (scenario ÷ baseline)', (c) => c.throughputRatio.toFixed(2)],
  ['CPU per call ratio, client + proxy (scenario ÷ baseline)', (c) => c.cpuRatio.toFixed(2)],
  ['p50 added, µs (scenario − baseline)', (c) => signed(c.addedP50Us)],
];

export interface ComparisonMatrix {
  title: string;
  /** Column headings: the slices. */
  slices: string[];
  /** One line per pair: `scenario vs baseline`, then a cell per slice ('' when not measured). */
  lines: [pair: string, cells: string[]][];
}

/** The comparisons as one matrix per metric; pairs and slices in their first-seen order. */
export function comparisonMatrices(comparisons: readonly Comparison[]): ComparisonMatrix[] {
  const pairs = [...new Set(comparisons.map((c) => `${c.scenario} vs ${c.baseline}`))];
  const slices = [...new Set(comparisons.map((c) => c.slice))];
  return COMPARISON_METRICS.map(([title, cell]) => ({
    title,
    slices,
    lines: pairs.map((pair): [string, string[]] => [
      pair,
      slices.map((slice) => {
        const c = comparisons.find((x) => `${x.scenario} vs ${x.baseline}` === pair && x.slice === slice);
        return c === undefined ? '' : cell(c);
      }),
    ]),
  }));
}

export function formatComparisons(comparisons: readonly Comparison[]): string {
  if (comparisons.length === 0) return '';
  return comparisonMatrices(comparisons)
    .map((m) => `${m.title}\n${alignColumns([['', ...m.slices], ...m.lines.map(([pair, cells]) => [pair, ...cells])], 1)}`)
    .join('\n\n');
}

/** Fewer interleaved rounds than this make a smoke run: its figures show the harness works; they are not results. */
export const RESULT_ROUNDS = 3;

/** The label a smoke run's table and comparisons carry; undefined for a run of at least `RESULT_ROUNDS` rounds. */
export function smokeRunNote(rounds: number, durationMs: number): string | undefined {
  if (rounds >= RESULT_ROUNDS) return undefined;
  return `smoke run (${rounds} round${rounds === 1 ? '' : 's'}, ${durationMs / 1000} s slices): the figures and ratios above and below show the harness works; ` +
    `they are not results (results are medians of at least ${RESULT_ROUNDS} interleaved rounds: npm run bench)`;
}

export interface RunDescription {
  machine: MachineInfo;
  command: string;
  startedAt: string;
  notes: string[];
}

/** Writes `latest.json` (the rows) and `latest.html` (plots, table and comparisons) into `dir`. */
export function writeResults(dir: string, rows: readonly ResultRow[], run: RunDescription): { json: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'latest.json');
  const html = join(dir, 'latest.html');
  writeFileSync(json, JSON.stringify(rows, null, 2) + '\n');
  writeFileSync(html, renderHtml(rows, compare(rows), run));
  return { json, html };
}
