/**
 * Figures a hostile-peer suite records per case: attacks sent and handled (ended typed within
 * their bound), whether the sidecar process lived, the good clients' success rate during the
 * attack, and the sidecar's memory after GC before and after. Printed as test diagnostics.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SidecarProcess } from './sidecar-process.js';
import type { GoodTraffic, TrafficResult } from './good-traffic.js';

const MiB = 1024 * 1024;

export interface CaseFigures {
  readonly name: string;
  readonly attacks: number;
  readonly handled: number;
  readonly alive: boolean;
  readonly good: TrafficResult;
  readonly rssBefore: number;
  readonly rssAfter: number;
  readonly heapBefore: number;
  readonly heapAfter: number;
}

export interface AttackOutcome {
  /** Attack attempts made. */
  readonly attacks: number;
  /** Attempts that ended as expected (a typed error, a refusal, a closed connection) within their bound. */
  readonly handled: number;
}

/**
 * Runs `attack` while `traffic` keeps good clients busy, then checks: the process is alive, every
 * attack was handled, the good clients' success rate is at least `minSuccess`, and memory after
 * GC is within `maxGrowth` bytes of what it was before.
 */
export async function runCase(
  t: TestContext,
  sidecar: SidecarProcess,
  traffic: GoodTraffic,
  attack: () => Promise<AttackOutcome>,
  options: { minSuccess?: number; maxGrowth?: number; minTrafficMs?: number } = {},
): Promise<CaseFigures> {
  const before = await sidecar.memory();
  traffic.start();
  const started = Date.now();
  let outcome: AttackOutcome;
  let good: TrafficResult;
  try {
    outcome = await attack();
    // The good clients run at least this long, so the success rate is over a fair number of calls.
    await sleep(Math.max(0, started + (options.minTrafficMs ?? 2000) - Date.now()));
  } finally {
    good = await traffic.stop();
  }
  const alive = sidecar.alive();
  const after = alive ? await sidecar.memory() : { rss: Number.NaN, heapUsed: Number.NaN };
  const figures: CaseFigures = {
    name: t.name, attacks: outcome.attacks, handled: outcome.handled, alive, good,
    rssBefore: before.rss, rssAfter: after.rss, heapBefore: before.heapUsed, heapAfter: after.heapUsed,
  };
  t.diagnostic(describeFigures(figures));
  assert.ok(alive, `the sidecar process died:\n${sidecar.stderr()}`);
  assert.equal(outcome.handled, outcome.attacks, 'every attack ends typed within its bound');
  assert.ok(good.started > 0, 'the good clients ran');
  assert.ok(good.successRate >= (options.minSuccess ?? 0.99), `good clients: ${good.ok}/${good.started} OK (${good.errors.join('; ')})`);
  const maxGrowth = options.maxGrowth ?? 64 * MiB;
  assert.ok(after.rss - before.rss < maxGrowth, `RSS grew by ${((after.rss - before.rss) / MiB).toFixed(1)} MiB`);
  assert.ok(after.heapUsed - before.heapUsed < maxGrowth / 2, `heap grew by ${((after.heapUsed - before.heapUsed) / MiB).toFixed(1)} MiB`);
  return figures;
}

export function describeFigures(f: CaseFigures): string {
  const mib = (n: number): string => (n / MiB).toFixed(1);
  return `${f.name}: attacks ${f.attacks}, handled ${f.handled}, alive ${f.alive}, good ${f.good.ok}/${f.good.started} (${(f.good.successRate * 100).toFixed(2)} %), `
    + `RSS ${mib(f.rssBefore)} -> ${mib(f.rssAfter)} MiB, heap ${mib(f.heapBefore)} -> ${mib(f.heapAfter)} MiB`;
}
