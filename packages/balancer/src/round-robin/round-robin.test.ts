import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasCode, type Picker } from '@xmesh/core';
import { createBalancer } from '../create-balancer.js';
import { RoundRobinPicker } from './round-robin-picker.js';
import { NO_INPUT, cluster, counts, endpoint, hostOf } from '../../test/fixtures.js';

test('spreads picks evenly and in a cycle', () => {
  const balancer = createBalancer(cluster('c'), { random: () => 0 });
  balancer.setEndpoints(['a', 'b', 'c'].map((h) => endpoint(h)));
  assert.deepEqual([...counts(balancer.picker, 300)], [['a', 100], ['b', 100], ['c', 100]]);
  const sequence = Array.from({ length: 6 }, () => hostOf(balancer.picker.pick(NO_INPUT)));
  assert.deepEqual(sequence, ['a', 'b', 'c', 'a', 'b', 'c']);
});

test('each new picker starts at a random offset', () => {
  const balancer = createBalancer(cluster('c'), { random: () => 0.7 });
  balancer.setEndpoints(['a', 'b', 'c', 'd'].map((h) => endpoint(h)));
  assert.equal(hostOf(balancer.picker.pick(NO_INPUT)), 'c'); // floor(0.7 * 4) = 2
});

test('unhealthy, draining, timeout and degraded endpoints get no traffic; UNKNOWN does (panic mode off)', () => {
  const balancer = createBalancer(cluster('c', 'ROUND_ROBIN', { healthyPanicThreshold: 0 }), { random: () => 0 });
  balancer.setEndpoints([
    endpoint('ok'),
    endpoint('sick', { health: 'UNHEALTHY' }),
    endpoint('leaving', { health: 'DRAINING' }),
    endpoint('slow', { health: 'TIMEOUT' }),
    endpoint('meh', { health: 'DEGRADED' }),
    endpoint('unknown', { health: 'UNKNOWN' }),
  ]);
  assert.deepEqual([...counts(balancer.picker, 10)], [['ok', 5], ['unknown', 5]]);
});

test('uses the highest priority level with a serving endpoint, falling back when it has none', () => {
  const balancer = createBalancer(cluster('c'), { random: () => 0 });
  balancer.setEndpoints([endpoint('p1', { priority: 1 }), endpoint('p0', { priority: 0 }), endpoint('p2', { priority: 2 })]);
  assert.deepEqual([...counts(balancer.picker, 4)], [['p0', 4]]);
  balancer.setEndpoints([
    endpoint('p0', { priority: 0, health: 'UNHEALTHY' }),
    endpoint('p1a', { priority: 1 }),
    endpoint('p1b', { priority: 1 }),
    endpoint('p2', { priority: 2 }),
  ]);
  assert.deepEqual([...counts(balancer.picker, 4)], [['p1a', 2], ['p1b', 2]]);
});

test('no endpoints, or none serving with panic mode off: every pick fails with XMESH_NO_HEALTHY_UPSTREAM naming the cluster', () => {
  const balancer = createBalancer(cluster('payments'));
  const initial = balancer.picker.pick(NO_INPUT);
  assert.equal(initial.type, 'fail');
  assert.ok(initial.type === 'fail' && hasCode(initial.error, 'XMESH_NO_HEALTHY_UPSTREAM'));
  assert.equal(initial.type === 'fail' ? initial.error.cluster : '', 'payments');

  const strict = createBalancer(cluster('payments', 'ROUND_ROBIN', { healthyPanicThreshold: 0 }));
  strict.setEndpoints([endpoint('a', { health: 'UNHEALTHY' })]);
  const result = strict.picker.pick(NO_INPUT);
  assert.ok(result.type === 'fail' && hasCode(result.error, 'XMESH_NO_HEALTHY_UPSTREAM'));
  assert.match(result.type === 'fail' ? result.error.message : '', /payments.*1 known/);
});

test('setEndpoints publishes a new picker and notifies listeners; old pickers keep their set', () => {
  const balancer = createBalancer(cluster('c'), { random: () => 0 });
  const published: Picker[] = [];
  balancer.onPicker((p) => published.push(p));
  balancer.setEndpoints([endpoint('a')]);
  const first = balancer.picker;
  balancer.setEndpoints([endpoint('b')]);
  assert.equal(published.length, 2);
  assert.equal(published[1], balancer.picker);
  assert.notEqual(first, balancer.picker);
  assert.equal(hostOf(first.pick(NO_INPUT)), 'a');
  assert.equal(hostOf(balancer.picker.pick(NO_INPUT)), 'b');
});

test('close: the picker fails with XMESH_CLOSED and updates stop', () => {
  const balancer = createBalancer(cluster('c'));
  let notified = 0;
  balancer.onPicker(() => notified++);
  balancer.close();
  balancer.setEndpoints([endpoint('a')]);
  const result = balancer.picker.pick(NO_INPUT);
  assert.ok(result.type === 'fail' && hasCode(result.error, 'XMESH_CLOSED'));
  assert.equal(notified, 0);
});

test('picks reuse precomputed results (no allocation per pick)', () => {
  const picker = new RoundRobinPicker([endpoint('a'), endpoint('b')], 0);
  const first = picker.pick(NO_INPUT);
  picker.pick(NO_INPUT);
  assert.equal(picker.pick(NO_INPUT), first);
  assert.ok(Object.isFrozen(first));
});

test('a selection made again for a retry host predicate is the next in the rotation, as Envoy', () => {
  const picker = new RoundRobinPicker(['a', 'b', 'c'].map((h) => endpoint(h)), 0);
  assert.equal(hostOf(picker.pick(NO_INPUT)), 'a');
  assert.equal(hostOf(picker.pick({ hash: undefined, selectionAttempt: 1 })), 'b');
  assert.equal(hostOf(picker.pick({ hash: undefined, selectionAttempt: 2 })), 'c');
});
