/**
 * `latest.html`: one self-contained page (inline CSS and SVG, no scripts) with the machine,
 * one latency-percentile plot per workload × load (log scale, one line per scenario), the table
 * and the comparison matrices.
 */
import { comparisonMatrices, proxyRssCell, workloadCell, type Comparison, type RunDescription } from './report.js';
import { rowLoopLabel, rowWorkload, sameSlice, type ResultRow } from './results.js';
import { workloadLabel } from './workload.js';

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22', '#393b79', '#ad494a'];
const PERCENTILES: readonly [string, (r: ResultRow) => number][] = [
  ['p50', (r) => r.p50_us],
  ['p90', (r) => r.p90_us],
  ['p99', (r) => r.p99_us],
  ['p99.9', (r) => r.p999_us],
];

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** An SVG line plot of the percentiles of `rows` (all of one load), y on a log10 scale in µs. */
export function percentilePlot(title: string, rows: readonly ResultRow[], colorOf: (scenario: string) => string): string {
  const width = 660;
  const height = Math.max(320, 60 + rows.length * 18);
  const m = { left: 70, right: 200, top: 30, bottom: 40 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const values = rows.flatMap((r) => PERCENTILES.map(([, get]) => get(r))).filter((v) => v > 0);
  const lo = Math.floor(Math.log10(values.length > 0 ? Math.min(...values) : 10));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(values.length > 0 ? Math.max(...values) : 10)));
  const x = (i: number) => m.left + (plotW * i) / (PERCENTILES.length - 1);
  const y = (v: number) => m.top + plotH - (plotH * (Math.log10(Math.max(v, 1)) - lo)) / (hi - lo);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escape(title)}">`,
    `<text x="${m.left}" y="18" font-size="14" font-weight="bold">${escape(title)}</text>`,
  ];
  for (let e = lo; e <= hi; e++) {
    const yy = y(10 ** e).toFixed(1);
    const label = e >= 3 ? `${10 ** (e - 3)} ms` : `${10 ** e} µs`;
    parts.push(`<line x1="${m.left}" x2="${m.left + plotW}" y1="${yy}" y2="${yy}" stroke="#ddd"/>`);
    parts.push(`<text x="${m.left - 6}" y="${yy}" font-size="11" text-anchor="end" dominant-baseline="middle">${label}</text>`);
  }
  PERCENTILES.forEach(([name], i) => {
    parts.push(`<line x1="${x(i)}" x2="${x(i)}" y1="${m.top}" y2="${m.top + plotH}" stroke="#eee"/>`);
    parts.push(`<text x="${x(i)}" y="${m.top + plotH + 18}" font-size="11" text-anchor="middle">${name}</text>`);
  });
  rows.forEach((row, i) => {
    const color = colorOf(row.scenario);
    const points = PERCENTILES.map(([, get], j) => `${x(j).toFixed(1)},${y(get(row)).toFixed(1)}`);
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.join(' ')}"/>`);
    for (const p of points) {
      const [cx, cy] = p.split(',');
      parts.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${color}"/>`);
    }
    const ly = m.top + 10 + i * 18;
    parts.push(`<line x1="${width - m.right + 15}" x2="${width - m.right + 35}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="3"/>`);
    parts.push(`<text x="${width - m.right + 40}" y="${ly}" font-size="12" dominant-baseline="middle">${escape(row.scenario)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function table(rows: readonly ResultRow[]): string {
  const head = ['scenario', 'workload', 'load', 'payload B', 'calls/s', 'p50 µs', 'p90 µs', 'p99 µs', 'p99.9 µs', 'client CPU ms/1k', 'proxy CPU ms/1k', 'proxy MiB', 'errors'];
  const cells = (r: ResultRow) => [
    r.scenario,
    workloadCell(r),
    rowLoopLabel(r),
    r.payload,
    r.rps,
    r.p50_us,
    r.p90_us,
    r.p99_us,
    r.p999_us,
    r.cpu_ms_per_1k.toFixed(1),
    r.proxy_cpu_ms_per_1k?.toFixed(1) ?? '–',
    proxyRssCell(r).replace('-', '–'),
    r.errors,
  ];
  return `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>
${rows.map((r) => `<tr>${cells(r).map((c) => `<td>${escape(String(c))}</td>`).join('')}</tr>`).join('\n')}
</tbody></table>`;
}

function comparisonTables(comparisons: readonly Comparison[]): string {
  if (comparisons.length === 0) return '';
  const matrices = comparisonMatrices(comparisons).map(
    (m) =>
      `<h3>${escape(m.title)}</h3><table class="matrix"><thead><tr><th></th>${m.slices.map((s) => `<th>${escape(s)}</th>`).join('')}</tr></thead><tbody>
${m.lines.map(([pair, cells]) => `<tr><th>${escape(pair)}</th>${cells.map((c) => `<td>${escape(c)}</td>`).join('')}</tr>`).join('\n')}
</tbody></table>`,
  );
  return `<h2>Compared with the baseline</h2>\n${matrices.join('\n')}`;
}

export function renderHtml(rows: readonly ResultRow[], comparisons: readonly Comparison[], run: RunDescription): string {
  const scenarios = [...new Set(rows.map((r) => r.scenario))];
  const colorOf = (s: string) => PALETTE[scenarios.indexOf(s) % PALETTE.length] ?? '#000';
  const slices = rows.filter((r, i) => rows.findIndex((x) => sameSlice(x, r)) === i);
  const m = run.machine;
  const plots = slices.map((first) =>
    percentilePlot(`${workloadLabel(rowWorkload(first))}, ${rowLoopLabel(first)}`, rows.filter((r) => sameSlice(r, first)), colorOf),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>xmesh benchmark</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 3px 8px; }
td:nth-child(n+4) { text-align: right; font-variant-numeric: tabular-nums; }
table.matrix td { text-align: right; }
table.matrix tbody th { text-align: left; font-weight: normal; }
th { background: #f4f4f4; }
svg { display: inline-block; margin: 0.5em 0.5em 0.5em 0; }
.meta { color: #555; }
</style></head><body>
<h1>xmesh benchmark</h1>
<p class="meta">${escape(`${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB; node ${m.node}; @grpc/grpc-js ${m.grpcJs}${m.haproxy === undefined ? '' : `; ${m.haproxy}`}`)}<br>
${escape(run.command)} — started ${escape(run.startedAt)}</p>
${run.notes.map((n) => `<p class="meta">${escape(n)}</p>`).join('\n')}
${plots.join('\n')}
${table(rows)}
${comparisonTables(comparisons)}
</body></html>
`;
}
