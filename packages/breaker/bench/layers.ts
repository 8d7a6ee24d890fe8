/**
 * Per-call cost of each resilience / balancing layer, in µs, on this machine.
 * Run: node --conditions=xmesh-source --import tsx packages/breaker/bench/layers.ts
 *
 * Synchronous layers run in a tight loop (median of 7 rounds). The opossum breaker and the
 * bottleneck queue are asynchronous: their figure is wall time per call with the promise work
 * flushed, in batches of 1 000 concurrent calls (opossum) or 1 000 sequential-ish jobs (bottleneck).
 */
import { EventEmitter } from 'eventemitter3';
import type { CallOutcome, Endpoint, PickInput, Picker } from '@xmesh/core';
import type { ClusterConfig, HashPolicy, LbPolicy } from '@xmesh/xds';
import { computeHash, createBalancer, xxHash64 } from '../../balancer/src/index.js';
import {
  BucketRotation,
  ClusterGuard,
  OpossumFailFast,
  OutlierDetector,
  QueuedAdmission,
  ResourceLimits,
  WindowFailFast,
  CLUSTER_COUNTERS,
  zeroCounters,
  type FailFastPermit,
  type ResilienceEvents,
} from '../src/index.js';
import { FAIL_FAST, OUTLIER, THRESHOLDS, cluster as guardCluster } from '../test/fixtures.js';

const OK: CallOutcome = { kind: 'success', httpStatus: 200, grpcStatus: 0, latencyMs: 1 };
const ROUNDS = 7;

function endpoints(n: number, weighted: boolean): Endpoint[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `10.0.0.${i}:8080`, host: `10.0.0.${i}`, port: 8080, weight: weighted ? 1 + (i % 3) : 1,
    healthStatus: 'HEALTHY', priority: 0, locality: { region: '', zone: '', subZone: '' }, localityWeight: undefined, metadata: {},
  }));
}

function balancerCluster(lbPolicy: LbPolicy): ClusterConfig {
  return {
    name: 'bench', lbPolicy, choiceCount: 2, activeRequestBias: 1,
    ringHash: { minimumRingSize: 1024, maximumRingSize: 8_388_608, hashFunction: 'XX_HASH' }, maglev: { tableSize: 65_537 },
    healthyPanicThreshold: 50, localityWeightedLb: false, loadAssignment: undefined,
    xmesh: { transport: undefined, failFast: undefined, ewmaDecayMs: 10_000 },
  } as ClusterConfig;
}

/** Median µs per iteration of `body` over `iterations`. */
function measure(iterations: number, body: (i: number) => void): number {
  const samples: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) body(i);
    samples.push(Number(process.hrtime.bigint() - start) / 1000 / iterations);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(ROUNDS / 2)]!;
}

async function measureAsync(batches: number, batch: () => Promise<number>): Promise<number> {
  const samples: number[] = [];
  for (let r = 0; r < batches; r++) {
    const start = process.hrtime.bigint();
    const calls = await batch();
    samples.push(Number(process.hrtime.bigint() - start) / 1000 / calls);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(batches / 2)]!;
}

const rows: [string, number][] = [];
const row = (name: string, us: number) => {
  rows.push([name, us]);
};

// --- baseline
const noop: Picker = { pick: () => ({ type: 'queue' }) };
row('baseline: empty pick through an interface', measure(1_000_000, () => noop.pick({ hash: undefined, selectionAttempt: 0 })));

// --- pickers
const hashes = Array.from({ length: 4096 }, (_, i) => xxHash64(`k${i}`));
const NO_INPUT: PickInput = { hash: undefined, selectionAttempt: 0 };
const hashInputs: PickInput[] = hashes.map((hash) => ({ hash, selectionAttempt: 0 }));
for (const [label, policy, weighted, hashed] of [
  ['ROUND_ROBIN (equal weights)', 'ROUND_ROBIN', false, false],
  ['ROUND_ROBIN (weights 1:2:3, smooth WRR)', 'ROUND_ROBIN', true, false],
  ['RANDOM (weighted)', 'RANDOM', true, false],
  ['LEAST_REQUEST (P2C) + done()', 'LEAST_REQUEST', false, false],
  ['LEAST_REQUEST (weighted) + done()', 'LEAST_REQUEST', true, false],
  ['RING_HASH (with hash)', 'RING_HASH', false, true],
  ['MAGLEV (with hash)', 'MAGLEV', false, true],
  ['PEAK_EWMA + done()', 'PEAK_EWMA', false, false],
] as const) {
  for (const n of [10, 100]) {
    const balancer = createBalancer(balancerCluster(policy), {});
    balancer.setEndpoints(endpoints(n, weighted));
    const picker = balancer.picker;
    row(`pick ${label}, ${n} endpoints`, measure(200_000, (i) => {
      const r = picker.pick(hashed ? hashInputs[i & 4095]! : NO_INPUT);
      if (r.type === 'complete') r.done?.(OK);
    }));
  }
}
{
  const priorities = endpoints(10, false).map((e, i) => ({ ...e, priority: i < 5 ? 0 : 1, healthStatus: i < 2 ? ('UNHEALTHY' as const) : ('HEALTHY' as const) }));
  const balancer = createBalancer({ ...balancerCluster('ROUND_ROBIN'), healthyPanicThreshold: 0 } as ClusterConfig, {});
  balancer.setEndpoints(priorities);
  const picker = balancer.picker;
  row('pick ROUND_ROBIN over 2 priority buckets (P0 degraded)', measure(200_000, () => picker.pick(NO_INPUT)));
}
{
  const policies: HashPolicy[] = [{ kind: 'header', headerName: 'x-user', terminal: false }];
  const request = { headers: new Map([['x-user', 'alice-12345']]), path: '/svc/M' };
  row('computeHash (one header policy)', measure(200_000, () => computeHash(policies, request)));
}

// --- thresholds, outlier, breakers
{
  const stats = zeroCounters(CLUSTER_COUNTERS);
  const limits = new ResourceLimits({ default: THRESHOLDS, high: THRESHOLDS }, stats);
  row('thresholds: tryAcquireRequest + releaseRequest', measure(1_000_000, () => {
    limits.tryAcquireRequest();
    limits.releaseRequest();
  }));
}
{
  const detector = new OutlierDetector(OUTLIER, {
    cluster: 'bench', clock: { now: () => performance.now(), setTimeout: () => ({}), clearTimeout: () => undefined },
    random: Math.random, stats: zeroCounters(CLUSTER_COUNTERS), events: new EventEmitter<ResilienceEvents>(), onEjectedChange: () => undefined,
  });
  const ids = endpoints(100, false).map((e) => e.id);
  detector.setEndpoints(ids);
  row('outlier detection: record(success)', measure(1_000_000, (i) => detector.record(ids[i % 100]!, OK)));
  detector.close();
}
{
  const breaker = new WindowFailFast('bench', FAIL_FAST, { now: () => performance.now(), setTimeout: () => ({}), clearTimeout: () => undefined }, new EventEmitter<ResilienceEvents>());
  row('fail-fast (window): tryAcquire + success', measure(1_000_000, () => breaker.tryAcquire()!.success()));
}
{
  const guard = new ClusterGuard(guardCluster({ outlierDetection: OUTLIER, xmesh: { transport: undefined, failFast: FAIL_FAST, ewmaDecayMs: 10_000 } }));
  const ids = endpoints(10, false).map((e) => e.id);
  guard.setEndpoints(ids);
  row('ClusterGuard: admit + finish (thresholds + window fail-fast + outlier + counters)', measure(500_000, (i) => {
    guard.finish(guard.admit() as FailFastPermit, ids[i % 10]!, OK);
  }));
  guard.close();
}

const rotation = new BucketRotation();
{
  const breaker = new OpossumFailFast('bench', FAIL_FAST, rotation, new EventEmitter<ResilienceEvents>());
  row('fail-fast (opossum 9): tryAcquire + success, promise work flushed', await measureAsync(15, async () => {
    const n = 1000;
    for (let i = 0; i < n; i++) breaker.tryAcquire()!.success();
    await new Promise((resolve) => setImmediate(resolve));
    return n;
  }));
  breaker.close();
}
{
  const events = new EventEmitter<ResilienceEvents>();
  const queue = new QueuedAdmission('bench', { maxConcurrent: 1024, maxQueued: 1024, maxWaitMs: 10_000 },
    { now: () => performance.now(), setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
    zeroCounters(CLUSTER_COUNTERS), events);
  row('queued admission (bottleneck): acquire + release, unthrottled, 100 concurrent', await measureAsync(7, async () => {
    const n = 100;
    await Promise.all(Array.from({ length: n }, () => queue.acquire().then((release) => release())));
    return n;
  }));
  row('queued admission (bottleneck): one call alone, acquire → release latency', await measureAsync(15, async () => {
    const release = await queue.acquire();
    release();
    return 1;
  }));
  queue.close();
}
rotation.close();

const width = Math.max(...rows.map(([n]) => n.length));
console.log(`| ${'layer'.padEnd(width)} | µs/call |`);
console.log(`| ${'-'.repeat(width)} | ------: |`);
for (const [name, us] of rows) console.log(`| ${name.padEnd(width)} | ${us.toFixed(3).padStart(7)} |`);
