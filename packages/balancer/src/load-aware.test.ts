import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallOutcome, PickResult } from '@xmesh/core';
import { FakeClock } from '../../../test/support/fake-clock.js';
import { createBalancer } from './create-balancer.js';
import { ActiveRequests } from './metrics/active-requests.js';
import { PeakEwmaSlot } from './metrics/peak-ewma.js';
import { NO_INPUT, cluster, endpoint, hostOf, seededRandom } from '../test/fixtures.js';

const outcome = (latencyMs: number): CallOutcome => ({ kind: 'success', httpStatus: 200, grpcStatus: 0, latencyMs });

/**
 * Drives `rounds` ticks of 1 ms; each tick starts `perTick` calls; a call to `slow` lasts
 * `slowMs`, others 1 ms. Returns picks per host.
 */
function simulate(policy: 'LEAST_REQUEST' | 'PEAK_EWMA', slowMs: number, clock = new FakeClock()): Map<string, number> {
  const balancer = createBalancer(cluster('c', policy), { random: seededRandom(11), clock });
  balancer.setEndpoints(['fast1', 'fast2', 'slow'].map((h) => endpoint(h)));
  const inFlight: { endsAt: number; result: PickResult; started: number }[] = [];
  const seen = new Map<string, number>();
  for (let tick = 0; tick < 2000; tick++) {
    clock.advance(1);
    for (let i = inFlight.length - 1; i >= 0; i--) {
      const call = inFlight[i]!;
      if (call.endsAt <= clock.now()) {
        inFlight.splice(i, 1);
        if (call.result.type === 'complete') call.result.done?.(outcome(clock.now() - call.started));
      }
    }
    for (let i = 0; i < 5; i++) {
      const result = balancer.picker.pick(NO_INPUT);
      const host = hostOf(result);
      seen.set(host, (seen.get(host) ?? 0) + 1);
      inFlight.push({ result, started: clock.now(), endsAt: clock.now() + (host === 'slow' ? slowMs : 1) });
    }
  }
  return seen;
}

test('LEAST_REQUEST avoids an endpoint whose calls pile up', () => {
  const seen = simulate('LEAST_REQUEST', 50);
  const total = [...seen.values()].reduce((a, b) => a + b, 0);
  const slowShare = (seen.get('slow') ?? 0) / total;
  assert.ok(slowShare < 0.15, `slow endpoint got ${(slowShare * 100).toFixed(1)} % (round robin would give 33 %)`);
});

test('PEAK_EWMA avoids a slow endpoint', () => {
  const seen = simulate('PEAK_EWMA', 50);
  const total = [...seen.values()].reduce((a, b) => a + b, 0);
  const slowShare = (seen.get('slow') ?? 0) / total;
  assert.ok(slowShare < 0.1, `slow endpoint got ${(slowShare * 100).toFixed(1)} %`);
});

test('weighted LEAST_REQUEST: weight 2:1 gives 2:1 when idle, and load pulls the share toward even', () => {
  const idle = createBalancer(cluster('c', 'LEAST_REQUEST'), { random: seededRandom(1) });
  idle.setEndpoints([endpoint('a', { weight: 2 }), endpoint('b', { weight: 1 })]);
  const idlePicks = Array.from({ length: 300 }, () => {
    const r = idle.picker.pick(NO_INPUT);
    if (r.type === 'complete') r.done?.(outcome(1));
    return hostOf(r);
  });
  assert.equal(idlePicks.filter((h) => h === 'a').length, 200);

  // Every call held: effective weights are 2/(A+1) and 1/(B+1), so a's virtual time grows as
  // A²/4 and b's as B²/2 and they meet at A = √2·B: a takes 58.6 %, not 66.7 %.
  const loaded = createBalancer(cluster('c', 'LEAST_REQUEST'), { random: seededRandom(1) });
  loaded.setEndpoints([endpoint('a', { weight: 2 }), endpoint('b', { weight: 1 })]);
  const held = Array.from({ length: 1000 }, () => hostOf(loaded.picker.pick(NO_INPUT)));
  const a = held.filter((h) => h === 'a').length / 1000;
  assert.ok(Math.abs(a - Math.SQRT2 / (1 + Math.SQRT2)) < 0.02, `a got ${a}`);
});

test('active-request counts survive an endpoint update that keeps the endpoint, and go with it', () => {
  const metric = new ActiveRequests();
  const slot = metric.slot('a:8080');
  slot.start();
  slot.start();
  metric.retain(['a:8080', 'b:8080']);
  assert.equal(metric.slot('a:8080').active, 2);
  assert.equal(metric.slot('a:8080'), slot);
  metric.retain(['b:8080']);
  assert.equal(metric.slot('a:8080').active, 0);
});

test('a LEAST_REQUEST balancer keeps load across setEndpoints: the loaded endpoint stays avoided', () => {
  const balancer = createBalancer(cluster('c', 'LEAST_REQUEST', { choiceCount: 2 }), { random: seededRandom(5) });
  balancer.setEndpoints([endpoint('a'), endpoint('b')]);
  // Load a with 20 calls that never finish (pick until a has 20).
  let loadedA = 0;
  while (loadedA < 20) {
    const r = balancer.picker.pick(NO_INPUT);
    if (hostOf(r) === 'a') loadedA++;
    else if (r.type === 'complete') r.done?.(outcome(1));
  }
  balancer.setEndpoints([endpoint('a'), endpoint('b'), endpoint('c')]);
  const next = Array.from({ length: 30 }, () => {
    const r = balancer.picker.pick(NO_INPUT);
    if (r.type === 'complete') r.done?.(outcome(1));
    return hostOf(r);
  });
  // Two draws out of three endpoints both land on a with probability 1/9; a must be rare.
  assert.ok(next.filter((h) => h === 'a').length <= 6, next.join(','));
});

test('peak EWMA: jumps to a slower sample at once, decays toward faster ones with the decay time', () => {
  const clock = new FakeClock();
  const slot = new PeakEwmaSlot(clock, 1000);
  slot.observe(10);
  assert.equal(slot.latencyMs, 10);
  slot.observe(100);
  assert.equal(slot.latencyMs, 100);
  clock.advance(1000);
  slot.observe(0);
  assert.ok(Math.abs(slot.latencyMs - 100 * Math.exp(-1)) < 1e-9, String(slot.latencyMs));
  slot.start();
  assert.ok(Math.abs(slot.cost() - 100 * Math.exp(-1) * 2) < 1e-9, 'cost = ewma × (active + 1)');
});

test('a metered pick taken back with undo leaves no request in flight and records no latency', () => {
  const metric = new ActiveRequests();
  const balancer = createBalancer(cluster('c', 'LEAST_REQUEST'), { random: seededRandom(3), clock: new FakeClock() });
  balancer.setEndpoints([endpoint('only')]);
  const picked = balancer.picker.pick(NO_INPUT);
  assert.equal(picked.type, 'complete');
  if (picked.type !== 'complete') return;
  assert.ok(picked.undo !== undefined, 'metered results can be taken back');
  // Fresh slots of a separate metric show the contract: start, then undo, is back to zero.
  const slot = metric.slot('only:8080');
  slot.start();
  slot.undo();
  assert.equal(slot.active, 0);
  const ewma = new PeakEwmaSlot(new FakeClock(), 10_000);
  ewma.start();
  ewma.undo();
  assert.equal(ewma.active, 0);
  assert.equal(ewma.latencyMs, 0, 'nothing observed');
  // Through the picker: 100 picks taken back leave the endpoint as idle as one never picked.
  for (let i = 0; i < 100; i++) {
    const r = balancer.picker.pick(NO_INPUT);
    if (r.type === 'complete') r.undo?.();
  }
  picked.undo?.();
  balancer.setEndpoints([endpoint('only'), endpoint('other')]);
  const hosts = new Map<string, number>();
  for (let i = 0; i < 200; i++) {
    const r = balancer.picker.pick(NO_INPUT);
    hosts.set(hostOf(r), (hosts.get(hostOf(r)) ?? 0) + 1);
    if (r.type === 'complete') r.done?.(outcome(1));
  }
  assert.ok((hosts.get('only') ?? 0) > 60, `the undone endpoint still gets its share: ${JSON.stringify(Object.fromEntries(hosts))}`);
});
