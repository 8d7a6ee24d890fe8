/**
 * Merging measured slices per scenario × workload × loop across rounds, and the published row shape.
 */
import type { Histogram } from 'hdr-histogram-js';
import { loopLabel, type LoopSpec } from './args.js';
import { latencyHistogram, type SliceResult } from './load.js';
import { messagesPerCall, workloadLabel, type Workload } from './workload.js';

/** One row of `latest.json`. */
export interface ResultRow {
  scenario: string;
  /**
   * `unary` (Echo), `stream` (ServerStream) or `bidi` (Bidi: `messages_per_call` requests, each
   * echoed); for the streams, latency runs to the last reply and its OK status.
   */
  workload: 'unary' | 'stream' | 'bidi';
  /** Request payload bytes; for `stream` and `bidi`, also the payload of each reply (and each bidi request). */
  payload: number;
  /** Replies per call: 1 for unary. */
  messages_per_call: number;
  /** Closed-loop workers; null for the open loop. */
  concurrency: number | null;
  loop: 'closed' | 'open';
  /** Open-loop schedule, calls/s; null for closed loops. */
  rate_per_s: number | null;
  rps: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  p999_us: number;
  /** Client (this process) CPU ms per 1000 successful calls. */
  cpu_ms_per_1k: number;
  /** Proxy processes' CPU ms per 1000 successful calls; null without a proxy. */
  proxy_cpu_ms_per_1k: number | null;
  /** Largest summed RSS of the proxy processes seen after a slice, MiB; null without a proxy. */
  proxy_rss_mib: number | null;
  /** The same per proxy process, server-side hop first (one entry per hop); null without a proxy. */
  proxy_rss_each_mib: number[] | null;
  errors: number;
  calls: number;
}

/** A measured slice plus the CPU spent in it. */
export interface MeasuredSlice {
  result: SliceResult;
  clientCpuMs: number;
  /** undefined when the scenario has no proxy. */
  proxyCpuMs: number | undefined;
  /** RSS per proxy process (kB) after the slice; undefined when the scenario has no proxy. */
  proxyRssKb: readonly number[] | undefined;
}

interface Accumulator {
  scenario: string;
  workload: Workload;
  loop: LoopSpec;
  histogram: Histogram;
  calls: number;
  errors: number;
  elapsedNs: bigint;
  clientCpuMs: number;
  proxyCpuMs: number | undefined;
  /** Largest summed RSS, kB, and the per-process RSS of that moment. */
  proxyRssKb: number | undefined;
  proxyRssEachKb: readonly number[] | undefined;
}

/** Sums slices of the same scenario and loop; owned by one benchmark run. */
export class ResultMerger {
  private readonly byKey = new Map<string, Accumulator>();

  add(scenario: string, workload: Workload, loop: LoopSpec, slice: MeasuredSlice): void {
    const key = `${scenario}\u0000${workloadLabel(workload)}\u0000${loopLabel(loop)}`;
    let acc = this.byKey.get(key);
    if (acc === undefined) {
      acc = {
        scenario,
        workload,
        loop,
        histogram: latencyHistogram(),
        calls: 0,
        errors: 0,
        elapsedNs: 0n,
        clientCpuMs: 0,
        proxyCpuMs: undefined,
        proxyRssKb: undefined,
        proxyRssEachKb: undefined,
      };
      this.byKey.set(key, acc);
    }
    acc.histogram.add(slice.result.histogram);
    acc.calls += slice.result.calls;
    acc.errors += slice.result.errors;
    acc.elapsedNs += slice.result.elapsedNs;
    acc.clientCpuMs += slice.clientCpuMs;
    if (slice.proxyCpuMs !== undefined) acc.proxyCpuMs = (acc.proxyCpuMs ?? 0) + slice.proxyCpuMs;
    if (slice.proxyRssKb !== undefined) {
      const total = slice.proxyRssKb.reduce((sum, kb) => sum + kb, 0);
      if (acc.proxyRssKb === undefined || total > acc.proxyRssKb) {
        acc.proxyRssKb = total;
        acc.proxyRssEachKb = slice.proxyRssKb;
      }
    }
  }

  /** Rows in the order their first slice was added. */
  rows(): ResultRow[] {
    return [...this.byKey.values()].map(toRow);
  }
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const perThousand = (ms: number, calls: number) => (calls === 0 ? 0 : Math.round((ms / calls) * 1000 * 100) / 100);

export function toRow(acc: Accumulator): ResultRow {
  const h = acc.histogram;
  const seconds = Number(acc.elapsedNs) / 1e9;
  const pct = (p: number) => (acc.calls === 0 ? 0 : h.getValueAtPercentile(p));
  return {
    scenario: acc.scenario,
    workload: acc.workload.kind,
    payload: acc.workload.payloadBytes,
    messages_per_call: messagesPerCall(acc.workload),
    concurrency: acc.loop.kind === 'closed' ? acc.loop.concurrency : null,
    loop: acc.loop.kind,
    rate_per_s: acc.loop.kind === 'open' ? acc.loop.ratePerSec : null,
    rps: seconds > 0 ? Math.round(acc.calls / seconds) : 0,
    p50_us: pct(50),
    p90_us: pct(90),
    p99_us: pct(99),
    p999_us: pct(99.9),
    cpu_ms_per_1k: perThousand(acc.clientCpuMs, acc.calls),
    proxy_cpu_ms_per_1k: acc.proxyCpuMs === undefined ? null : perThousand(acc.proxyCpuMs, acc.calls),
    proxy_rss_mib: acc.proxyRssKb === undefined ? null : round1(acc.proxyRssKb / 1024),
    proxy_rss_each_mib: acc.proxyRssEachKb === undefined ? null : acc.proxyRssEachKb.map((kb) => round1(kb / 1024)),
    errors: acc.errors,
    calls: acc.calls,
  };
}

export function rowLoopLabel(row: ResultRow): string {
  return row.loop === 'closed' ? `c=${row.concurrency}` : `open ${row.rate_per_s}/s`;
}

/** The workload a row measured. */
export function rowWorkload(row: ResultRow): Workload {
  return row.workload === 'unary' ? { kind: 'unary', payloadBytes: row.payload } : { kind: row.workload, payloadBytes: row.payload, messages: row.messages_per_call };
}

/** Rows measured the same workload under the same load (comparable side by side). */
export function sameSlice(a: ResultRow, b: ResultRow): boolean {
  return a.workload === b.workload && a.payload === b.payload && a.messages_per_call === b.messages_per_call && rowLoopLabel(a) === rowLoopLabel(b);
}
