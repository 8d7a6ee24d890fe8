import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PickInput } from '@xmesh/core';
import type { LbPolicy } from '@xmesh/xds';
import { createBalancer } from './create-balancer.js';
import { xxHash64 } from './hash/xxhash64.js';
import { WeightedRoundRobinPicker } from './round-robin/weighted-round-robin-picker.js';
import { NO_INPUT, cluster, counts, endpoint, hostOf, seededRandom } from '../test/fixtures.js';

const PICKS = 10_000;
const weighted = () => [endpoint('a', { weight: 1 }), endpoint('b', { weight: 2 }), endpoint('c', { weight: 7 })];

function assertShares(seen: Map<string, number>, expected: Record<string, number>, tolerance: number, label: string): void {
  const total = [...seen.values()].reduce((a, b) => a + b, 0);
  for (const [host, share] of Object.entries(expected)) {
    const actual = (seen.get(host) ?? 0) / total;
    assert.ok(Math.abs(actual - share) <= tolerance, `${label}: ${host} got ${(actual * 100).toFixed(2)} %, expected ${share * 100} % ± ${tolerance * 100}`);
  }
}

/** Hash inputs spread over the 64-bit space, as request hashes are. */
const hashed = (i: number): PickInput => ({ hash: xxHash64(`key-${i}`), selectionAttempt: 0 });

for (const policy of ['ROUND_ROBIN', 'RANDOM', 'LEAST_REQUEST', 'MAGLEV'] as const satisfies readonly LbPolicy[]) {
  test(`${policy}: weights 1:2:7 give 10/20/70 % within ±2 % over 10 000 picks`, () => {
    const balancer = createBalancer(cluster('c', policy), { random: seededRandom(7) });
    balancer.setEndpoints(weighted());
    const input = policy === 'MAGLEV' ? hashed : () => NO_INPUT;
    assertShares(counts(balancer.picker, PICKS, input), { a: 0.1, b: 0.2, c: 0.7 }, 0.02, policy);
  });
}

test('RING_HASH: weights 1:2:7 give 10/20/70 % within ±2 % (ring of 64k points)', () => {
  const config = cluster('c', 'RING_HASH', { ringHash: { minimumRingSize: 65_536, maximumRingSize: 8_388_608, hashFunction: 'XX_HASH' } });
  const balancer = createBalancer(config, { random: seededRandom(7) });
  balancer.setEndpoints(weighted());
  assertShares(counts(balancer.picker, PICKS, hashed), { a: 0.1, b: 0.2, c: 0.7 }, 0.02, 'RING_HASH');
});

test('PEAK_EWMA with equal latencies spreads evenly', () => {
  const balancer = createBalancer(cluster('c', 'PEAK_EWMA'), { random: seededRandom(3) });
  balancer.setEndpoints(['a', 'b', 'c'].map((h) => endpoint(h)));
  assertShares(counts(balancer.picker, PICKS), { a: 1 / 3, b: 1 / 3, c: 1 / 3 }, 0.02, 'PEAK_EWMA');
});

test('smooth weighted round robin interleaves 1:1:8 instead of bursting', () => {
  const picker = new WeightedRoundRobinPicker([endpoint('a'), endpoint('b'), endpoint('c', { weight: 8 })].map((e, i) => (i < 2 ? e : { ...e, weight: 8 })), () => 0);
  const sequence = Array.from({ length: 10 }, () => hostOf(picker.pick(NO_INPUT))).join('');
  assert.equal(sequence.replace(/[^a]/g, '').length, 1);
  assert.equal(sequence.replace(/[^b]/g, '').length, 1);
  // a and b are apart, and c never runs more than 5 in a row
  assert.ok(Math.abs(sequence.indexOf('a') - sequence.indexOf('b')) >= 3, sequence);
  assert.ok(!/c{6}/.test(sequence), sequence);
});
