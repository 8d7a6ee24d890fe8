import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderHtml } from './html.js';
import { latencyHistogram } from './load.js';
import { compare, formatComparisons, formatTable, RESULT_ROUNDS, smokeRunNote } from './report.js';
import { ResultMerger, type MeasuredSlice, type ResultRow } from './results.js';
import type { Workload } from './workload.js';

function slice(latenciesUs: number[], seconds: number, cpuMs: number, proxyCpuMs?: number, proxyRssKb?: number[]): MeasuredSlice {
  const histogram = latencyHistogram();
  for (const v of latenciesUs) histogram.recordValue(v);
  return {
    result: { calls: latenciesUs.length, errors: 1, elapsedNs: BigInt(seconds * 1e9), histogram },
    clientCpuMs: cpuMs,
    proxyCpuMs,
    proxyRssKb: proxyCpuMs === undefined ? undefined : (proxyRssKb ?? [10 * 1024]),
  };
}

const c1 = { kind: 'closed', concurrency: 1 } as const;
const u100: Workload = { kind: 'unary', payloadBytes: 100 };
const u1k: Workload = { kind: 'unary', payloadBytes: 1024 };
const s10: Workload = { kind: 'stream', payloadBytes: 100, messages: 10 };

function rows(): ResultRow[] {
  const merger = new ResultMerger();
  // Two rounds of direct: 2000 calls at 100 µs in 1 s, 2000 at 300 µs in 1 s.
  merger.add('direct', u100, c1, slice(Array(2000).fill(100), 1, 200));
  merger.add('direct', u100, c1, slice(Array(2000).fill(300), 1, 200));
  merger.add('sidecar-haproxy', u100, c1, slice(Array(1000).fill(500), 1, 100, 50));
  return merger.rows();
}

test('slices merge across rounds: counts and CPU add, percentiles come from the merged histogram', () => {
  const [direct, sidecar] = rows();
  assert.ok(direct !== undefined && sidecar !== undefined);
  assert.equal(direct.calls, 4000);
  assert.equal(direct.errors, 2);
  assert.equal(direct.rps, 2000);
  assert.equal(direct.p50_us, 100);
  assert.equal(direct.p90_us, 300);
  assert.equal(direct.cpu_ms_per_1k, 100);
  assert.equal(direct.proxy_cpu_ms_per_1k, null);
  assert.equal(direct.proxy_rss_each_mib, null);
  assert.equal(direct.concurrency, 1);
  assert.equal(direct.loop, 'closed');
  assert.equal(direct.workload, 'unary');
  assert.equal(direct.payload, 100);
  assert.equal(direct.messages_per_call, 1);
  assert.equal(sidecar.proxy_cpu_ms_per_1k, 50);
  assert.equal(sidecar.proxy_rss_mib, 10);
  assert.deepEqual(sidecar.proxy_rss_each_mib, [10]);
});

test('workloads are separate rows; proxy RSS keeps the largest total and each hop of that moment', () => {
  const merger = new ResultMerger();
  merger.add('sidecar-xmesh-2hop', u100, c1, slice([100], 1, 1, 1, [20 * 1024, 30 * 1024]));
  merger.add('sidecar-xmesh-2hop', u1k, c1, slice([200, 200], 1, 1, 1, [20 * 1024, 20 * 1024]));
  merger.add('sidecar-xmesh-2hop', s10, c1, slice([900], 1, 1, 1, [10 * 1024, 10 * 1024]));
  merger.add('sidecar-xmesh-2hop', u100, c1, slice([100], 1, 1, 1, [25 * 1024, 24 * 1024]));
  const [small, large, stream] = merger.rows();
  assert.deepEqual(
    [small, large, stream].map((r) => [r?.workload, r?.payload, r?.messages_per_call, r?.calls]),
    [
      ['unary', 100, 1, 2],
      ['unary', 1024, 1, 2],
      ['stream', 100, 10, 1],
    ],
  );
  assert.equal(small?.proxy_rss_mib, 50);
  assert.deepEqual(small?.proxy_rss_each_mib, [20, 30]);
  const table = formatTable([small!, large!, stream!]).split('\n');
  assert.match(table[2] ?? '', /^sidecar-xmesh-2hop\s+unary\s+c=1\s+100\s+1\s.*\s20\.0\+30\.0\s+2$/);
  assert.match(table[4] ?? '', /^sidecar-xmesh-2hop\s+stream×10\s+c=1\s+100\s+1\s+900\s/);
});

test('comparisons use the baseline at the same workload and load, its proxy CPU included', () => {
  const merger = new ResultMerger();
  merger.add('direct', u100, c1, slice(Array(1000).fill(100), 1, 100));
  merger.add('direct', s10, c1, slice(Array(100).fill(1000), 1, 100));
  merger.add('sidecar-haproxy', u100, c1, slice(Array(500).fill(300), 1, 50, 100));
  merger.add('sidecar-haproxy', s10, c1, slice(Array(50).fill(2000), 1, 50, 50));
  merger.add('embedded', u100, c1, slice(Array(2000).fill(50), 1, 150));
  const comparisons = compare(merger.rows());
  const find = (scenario: string, baseline: string, sliceLabel: string) =>
    comparisons.find((c) => c.scenario === scenario && c.baseline === baseline && c.slice === sliceLabel);
  const haproxyU = find('sidecar-haproxy', 'direct', 'u100 c1');
  // 500 vs 1000 calls/s; CPU per call: (50+100)/500 vs 100/1000 ms.
  assert.deepEqual(haproxyU, { scenario: 'sidecar-haproxy', baseline: 'direct', slice: 'u100 c1', throughputRatio: 0.5, addedP50Us: 200, addedP99Us: 200, cpuRatio: 3 });
  assert.equal(find('sidecar-haproxy', 'direct', 's10×100 c1')?.throughputRatio, 0.5);
  // embedded vs sidecar: (150/2000) ÷ ((50+100)/500) = 0.25 CPU per call.
  const vsSidecar = find('embedded', 'sidecar-haproxy', 'u100 c1');
  assert.equal(vsSidecar?.throughputRatio, 4);
  assert.equal(vsSidecar?.cpuRatio, 0.25);
  assert.equal(vsSidecar?.addedP50Us, -250);
  // embedded has no stream row here: no comparison for it.
  assert.equal(find('embedded', 'direct', 's10×100 c1'), undefined);

  const text = formatComparisons(comparisons).split('\n');
  assert.equal(text[0], 'calls/s ratio (scenario ÷ baseline)');
  assert.match(text[1] ?? '', /^\s+u100 c1\s+s10×100 c1$/);
  assert.match(text.find((l) => l.startsWith('sidecar-haproxy vs direct')) ?? '', /^sidecar-haproxy vs direct\s+0\.50\s+0\.50$/);
  assert.match(text.find((l) => l.startsWith('embedded vs sidecar-haproxy')) ?? '', /^embedded vs sidecar-haproxy\s+4\.00\s*$/);
  assert.ok(text.includes('CPU per call ratio, client + proxy (scenario ÷ baseline)'));
});

test('the table has a header, a rule and one aligned line per row', () => {
  const lines = formatTable(rows()).split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[0] ?? '', /^scenario\s+workload\s+load\s+payload B\s+calls\/s\s+p50 µs/);
  assert.match(lines[2] ?? '', /^direct\s+unary\s+c=1\s+100\s+2000\s+100\s+300\s/);
  assert.equal(new Set(lines.map((l) => l.length)).size, 1);
});

test('the HTML page is self-contained: an inline SVG per workload × load, a line per scenario, no script', () => {
  const merger = new ResultMerger();
  const open = { kind: 'open', ratePerSec: 500 } as const;
  for (const scenario of ['direct', 'embedded', 'sidecar-haproxy']) {
    for (const w of [u100, u1k, s10]) {
      for (const loop of [c1, open]) merger.add(scenario, w, loop, slice([100, 200], 1, 1));
    }
  }
  const all = merger.rows();
  const html = renderHtml(all, compare(all), {
    machine: { cpuModel: 'Test <CPU>', cores: 2, memoryGiB: 4, node: 'v20', grpcJs: '1.14.7' },
    command: 'bench --quick',
    startedAt: '2025-01-01T00:00:00Z',
    notes: ['embedded-lean-fast × stream 10×100 B: not applicable'],
  });
  assert.equal((html.match(/<svg /g) ?? []).length, 6);
  assert.equal((html.match(/<polyline /g) ?? []).length, 18);
  assert.match(html, /aria-label="stream 10×100 B, open 500\/s"/);
  assert.match(html, /aria-label="unary 1024 B, c=1"/);
  assert.doesNotMatch(html, /<script|src=|href=/);
  assert.match(html, /Test &#60;CPU&#62;/);
  assert.match(html, /embedded-lean-fast × stream 10×100 B: not applicable/);
  assert.equal((html.match(/<table class="matrix">/g) ?? []).length, 3);
});

test('runs of fewer than three rounds are labelled smoke runs; three rounds or more are results', () => {
  assert.equal(RESULT_ROUNDS, 3);
  assert.match(smokeRunNote(1, 150) ?? '', /^smoke run \(1 round, 0\.15 s slices\): .*not results/);
  assert.match(smokeRunNote(2, 1250) ?? '', /^smoke run \(2 rounds, 1\.25 s slices\)/);
  assert.equal(smokeRunNote(3, 1250), undefined);
  assert.equal(smokeRunNote(5, 2000), undefined);
});
