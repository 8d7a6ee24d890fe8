import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoint } from '@xmesh/core';
import { xxHash64 } from './hash/xxhash64.js';
import { RingHashPicker } from './ring-hash/ring-hash-picker.js';
import { MaglevPicker } from './maglev/maglev-picker.js';
import { endpoint, hostOf } from '../test/fixtures.js';

const KEYS = 10_000;
const twenty = (): Endpoint[] => Array.from({ length: 20 }, (_, i) => endpoint(`10.0.0.${i + 1}`));
const keyHash = (i: number) => xxHash64(`user-${i}`);

function mapping(picker: { pick: RingHashPicker['pick'] }): string[] {
  return Array.from({ length: KEYS }, (_, i) => hostOf(picker.pick({ hash: keyHash(i), selectionAttempt: 0 })));
}

function stability(build: (endpoints: Endpoint[]) => { pick: RingHashPicker['pick'] }, leaving: number): { kept: number; movedFromStaying: number } {
  const all = twenty();
  const before = mapping(build(all));
  const after = mapping(build(all.filter((_, i) => i !== leaving)));
  const gone = all[leaving]!.host;
  let kept = 0;
  let movedFromStaying = 0;
  for (let i = 0; i < KEYS; i++) {
    if (before[i] === after[i]) kept++;
    else if (before[i] !== gone) movedFromStaying++;
  }
  return { kept: kept / KEYS, movedFromStaying };
}

/**
 * Envoy's ring sizing gives each endpoint ceil(minimumRingSize / N) points, so when N drops from
 * 20 to 19 every staying endpoint gains 2 points (52 → 54) and those steal keys too: Envoy itself
 * keeps ~91-93 % of keys here, not 95 %. xmesh keeps Envoy's exact mapping (same host as an Envoy
 * sidecar for the same key) and this test pins the real figures: ≥ 90 % kept, the departed
 * endpoint's keys all move, and keys that move from staying endpoints move only to new points.
 */
test('ring hash: when 1 of 20 endpoints leaves, ≥ 90 % of keys keep their endpoint (Envoy sizing)', () => {
  for (const leaving of [0, 7, 19]) {
    const { kept, movedFromStaying } = stability((e) => new RingHashPicker(e, { minimumRingSize: 1024, maximumRingSize: 8_388_608 }, Math.random), leaving);
    assert.ok(kept >= 0.9, `leaving #${leaving}: kept ${(kept * 100).toFixed(2)} %`);
    assert.ok(movedFromStaying / KEYS <= 0.05, `leaving #${leaving}: ${movedFromStaying} keys of staying endpoints moved`);
  }
});

test('ring hash: with a fixed number of points per endpoint, exactly the departed endpoint\'s keys move (~1/N; ≥ 94 % kept)', () => {
  // Ring size 1024 × N: each endpoint has exactly its first 1024 points whatever N is.
  for (const leaving of [0, 7, 19]) {
    const all = twenty();
    const build = (e: Endpoint[]) => new RingHashPicker(e, { minimumRingSize: 1024 * e.length, maximumRingSize: 1024 * e.length }, Math.random);
    const before = mapping(build(all));
    const after = mapping(build(all.filter((_, i) => i !== leaving)));
    let kept = 0;
    for (let i = 0; i < KEYS; i++) {
      if (before[i] === after[i]) kept++;
      else assert.equal(before[i], all[leaving]!.host, `key ${i} moved off a staying endpoint`);
    }
    const departedShare = before.filter((h) => h === all[leaving]!.host).length / KEYS;
    assert.equal(kept / KEYS, 1 - departedShare);
    assert.ok(kept / KEYS >= 0.94, `leaving #${leaving}: kept ${(kept / KEYS * 100).toFixed(2)} %`);
  }
});

test('maglev: when 1 of 20 endpoints leaves, ~1/N of keys move (≥ 94 % kept; 94.1-95.1 % measured)', () => {
  for (const leaving of [0, 7, 19]) {
    const { kept } = stability((e) => new MaglevPicker(e, 65_537, Math.random), leaving);
    assert.ok(kept >= 0.94, `leaving #${leaving}: kept ${(kept * 100).toFixed(2)} %`);
  }
});

test('ring hash: same hash, same endpoint, whatever the endpoint order; ring size follows min size and weights', () => {
  const endpoints = twenty();
  const a = new RingHashPicker(endpoints, { minimumRingSize: 1024, maximumRingSize: 8_388_608 }, Math.random);
  const b = new RingHashPicker([...endpoints].reverse(), { minimumRingSize: 1024, maximumRingSize: 8_388_608 }, Math.random);
  assert.deepEqual(mapping(a).slice(0, 500), mapping(b).slice(0, 500));
  assert.equal(a.size, 1040); // ceil(0.05 × 1024) / 0.05 = 52 points each
  const capped = new RingHashPicker(endpoints, { minimumRingSize: 1024, maximumRingSize: 100 }, Math.random);
  assert.equal(capped.size, 100);
});

test('ring hash: the n-th selection made again takes the point n places on (Envoy\'s chooseHost(hash, attempt))', () => {
  const endpoints = [endpoint('a'), endpoint('b'), endpoint('c')];
  const picker = new RingHashPicker(endpoints, { minimumRingSize: 6, maximumRingSize: 6 }, Math.random);
  // Six points, two per endpoint, in hash order: walk them from the point a key lands on.
  const ring = Array.from({ length: 6 }, (_, n) => hostOf(picker.pick({ hash: 0n, selectionAttempt: n })));
  assert.equal(hostOf(picker.pick({ hash: 0n, selectionAttempt: 6 })), ring[0], 'wraps around the ring');
  assert.deepEqual([...ring].sort(), ['a', 'a', 'b', 'b', 'c', 'c']);
  const hash = keyHash(42);
  assert.equal(hostOf(picker.pick({ hash, selectionAttempt: 0 })), hostOf(picker.pick({ hash, selectionAttempt: 0 })), 'a first selection is the key\'s host');
  // On a ring of ~1024 points the next point often belongs to the same endpoint: a selection made
  // again moves about 2 keys in 3 off their host, not all (Envoy's documented caveat).
  const big = new RingHashPicker(endpoints, { minimumRingSize: 1024, maximumRingSize: 8_388_608 }, Math.random);
  let moved = 0;
  for (let i = 0; i < 1000; i++) if (hostOf(big.pick({ hash: keyHash(i), selectionAttempt: 1 })) !== hostOf(big.pick({ hash: keyHash(i), selectionAttempt: 0 }))) moved++;
  assert.ok(moved > 400 && moved < 950, `${moved} of 1000 keys moved`);
});

test('maglev: the n-th selection made again looks up hash XOR (2^64 − n), as Envoy', () => {
  const picker = new MaglevPicker(twenty(), 65_537, Math.random);
  const hash = keyHash(7);
  const again = (n: number) => hostOf(picker.pick({ hash, selectionAttempt: n }));
  assert.equal(again(1), hostOf(picker.pick({ hash: hash ^ ((1n << 64n) - 1n), selectionAttempt: 0 })));
  assert.equal(again(2), hostOf(picker.pick({ hash: hash ^ ((1n << 64n) - 2n), selectionAttempt: 0 })));
  let moved = 0;
  for (let i = 0; i < 1000; i++) if (hostOf(picker.pick({ hash: keyHash(i), selectionAttempt: 1 })) !== hostOf(picker.pick({ hash: keyHash(i), selectionAttempt: 0 }))) moved++;
  assert.ok(moved > 900, `${moved} of 1000 keys moved to another of 20 endpoints`);
});

test('maglev: table slots follow weights; a hash maps to slot hash mod M', () => {
  const picker = new MaglevPicker([endpoint('a', { weight: 1 }), endpoint('b', { weight: 3 })], 65_537, Math.random);
  const [a, b] = picker.slotCounts();
  assert.equal(a! + b!, 65_537);
  assert.ok(Math.abs(a! / 65_537 - 0.25) < 0.01, `a owns ${a}`);
  const result = picker.pick({ hash: 65_537n * 1000n + 5n, selectionAttempt: 0 });
  const same = picker.pick({ hash: 5n, selectionAttempt: 0 });
  assert.equal(result, same);
});
