import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Bucket } from './load-plan.js';
import { planLoad } from './load-plan.js';
import { createBalancer } from '../create-balancer.js';
import { cluster, counts, endpoint, seededRandom } from '../../test/fixtures.js';

const ENVOY = { overprovisioningFactor: 140, panicThreshold: 50, localityWeighted: false };
const NONE = new Set<string>();

function summary(buckets: Bucket[]): string[] {
  return buckets.map((b) => `P${b.priority}:${b.endpoints.map((e) => e.host).join('+')}=${b.weight.toFixed(1)}`);
}

test('priority 0 healthy takes everything; all down fails over to P1; back again returns', () => {
  const up = [endpoint('a'), endpoint('b'), endpoint('x', { priority: 1 })];
  assert.deepEqual(summary(planLoad(up, NONE, ENVOY)), ['P0:a+b=100.0']);
  const down = [endpoint('a', { health: 'UNHEALTHY' }), endpoint('b', { health: 'UNHEALTHY' }), endpoint('x', { priority: 1 })];
  assert.deepEqual(summary(planLoad(down, NONE, ENVOY)), ['P1:x=100.0']);
});

test('overprovisioning 140: 4 of 10 healthy at P0 → P0 takes 56 %, P1 the rest', () => {
  const endpoints = [
    ...Array.from({ length: 10 }, (_, i) => endpoint(`p0-${i}`, { health: i < 4 ? 'HEALTHY' : 'UNHEALTHY' })),
    endpoint('p1', { priority: 1 }),
  ];
  const plan = planLoad(endpoints, NONE, { ...ENVOY, panicThreshold: 0 });
  assert.deepEqual(plan.map((b) => [b.priority, b.endpoints.length, Math.round(b.weight)]), [[0, 4, 56], [1, 1, 44]]);
  // 8 of 10 healthy: 8 × 1.4 = 112 → capped at 100: P0 keeps everything.
  const mostly = endpoints.map((e, i) => (i < 8 ? { ...e, healthStatus: 'HEALTHY' as const } : e));
  assert.deepEqual(planLoad(mostly, NONE, ENVOY).map((b) => [b.priority, Math.round(b.weight)]), [[0, 100]]);
});

test('panic: below the healthy panic threshold a level balances over all its hosts; 0 disables', () => {
  const endpoints = [endpoint('a'), endpoint('b', { health: 'UNHEALTHY' }), endpoint('c', { health: 'UNHEALTHY' })];
  assert.deepEqual(summary(planLoad(endpoints, NONE, ENVOY)), ['P0:a+b+c=100.0']);
  assert.deepEqual(summary(planLoad(endpoints, NONE, { ...ENVOY, panicThreshold: 0 })), ['P0:a=100.0']);
  const allDown = [endpoint('a', { health: 'UNHEALTHY' })];
  assert.deepEqual(summary(planLoad(allDown, NONE, ENVOY)), ['P0:a=100.0']);
  assert.deepEqual(planLoad(allDown, NONE, { ...ENVOY, panicThreshold: 0 }), []);
});

test('DEGRADED hosts take only the load healthy ones cannot', () => {
  const endpoints = [endpoint('h1'), endpoint('h2'), endpoint('d1', { health: 'DEGRADED' }), endpoint('d2', { health: 'DEGRADED' })];
  // healthy 2/4 × 140 = 70 %, degraded the other 30 %
  assert.deepEqual(summary(planLoad(endpoints, NONE, ENVOY)), ['P0:h1+h2=70.0', 'P0:d1+d2=30.0']);
  const enough = [endpoint('h1'), endpoint('h2'), endpoint('h3'), endpoint('d1', { health: 'DEGRADED' })];
  assert.deepEqual(summary(planLoad(enough, NONE, ENVOY)), ['P0:h1+h2+h3=100.0']);
});

test('excluded (ejected) hosts are left out but still count in the totals', () => {
  const endpoints = ['a', 'b', 'c', 'd', 'e'].map((h) => endpoint(h));
  assert.deepEqual(summary(planLoad(endpoints, new Set(['a:8080']), ENVOY)), ['P0:b+c+d+e=100.0']);
});

test('locality weighted: split by locality weight × availability; a locality without weight gets nothing', () => {
  const endpoints = [
    endpoint('a1', { zone: 'a', localityWeight: 1 }),
    endpoint('a2', { zone: 'a', localityWeight: 1 }),
    endpoint('b1', { zone: 'b', localityWeight: 3 }),
    endpoint('b2', { zone: 'b', localityWeight: 3, health: 'UNHEALTHY' }),
    endpoint('c1', { zone: 'c' }),
  ];
  const plan = planLoad(endpoints, NONE, { ...ENVOY, localityWeighted: true });
  // a: 1 × min(1, 1.4 × 2/2) = 1; b: 3 × min(1, 1.4 × 1/2) = 2.1; c: no weight
  assert.deepEqual(summary(plan), [`P0:a1+a2=${(100 / 3.1).toFixed(1)}`, `P0:b1=${(210 / 3.1).toFixed(1)}`]);
});

test('balancer: P0 all down → P1 takes the traffic; P0 back → traffic returns', () => {
  const balancer = createBalancer(cluster('c'), { random: seededRandom(2) });
  balancer.setEndpoints([endpoint('p0a'), endpoint('p0b'), endpoint('p1', { priority: 1 })]);
  assert.deepEqual([...counts(balancer.picker, 100)].sort(), [['p0a', 50], ['p0b', 50]]);
  balancer.setEndpoints([endpoint('p0a', { health: 'UNHEALTHY' }), endpoint('p0b', { health: 'UNHEALTHY' }), endpoint('p1', { priority: 1 })]);
  assert.deepEqual([...counts(balancer.picker, 100)], [['p1', 100]]);
  balancer.setEndpoints([endpoint('p0a'), endpoint('p0b'), endpoint('p1', { priority: 1 })]);
  assert.deepEqual([...counts(balancer.picker, 100)].sort(), [['p0a', 50], ['p0b', 50]]);
});

test('balancer: setExcluded republishes without the ejected endpoints and notifies', () => {
  const balancer = createBalancer(cluster('c', 'RANDOM'), { random: seededRandom(4) });
  let published = 0;
  balancer.onPicker(() => published++);
  balancer.setEndpoints(['a', 'b', 'c', 'd', 'e'].map((h) => endpoint(h)));
  balancer.setExcluded(new Set(['a:8080']));
  assert.equal(published, 2);
  assert.equal(counts(balancer.picker, 1000).get('a'), undefined);
  balancer.setExcluded(new Set());
  assert.ok((counts(balancer.picker, 1000).get('a') ?? 0) > 150);
});

test('balancer: mixed priorities pick by priority load (4 of 10 healthy → ~56 % to P0)', () => {
  const balancer = createBalancer(cluster('c', 'ROUND_ROBIN', { healthyPanicThreshold: 0 }), { random: seededRandom(9) });
  balancer.setEndpoints([
    ...Array.from({ length: 10 }, (_, i) => endpoint(`p0-${i}`, { health: i < 4 ? 'HEALTHY' : 'UNHEALTHY' })),
    endpoint('p1', { priority: 1 }),
  ]);
  const seen = counts(balancer.picker, 10_000);
  assert.ok(Math.abs((seen.get('p1') ?? 0) / 10_000 - 0.44) < 0.02, `p1 got ${seen.get('p1')}`);
});
