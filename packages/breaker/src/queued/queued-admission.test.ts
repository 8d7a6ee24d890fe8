import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasCode } from '@xmesh/core';
import { EventEmitter } from 'eventemitter3';
import { FakeClock } from '../../../../test/support/fake-clock.js';
import type { ResilienceEvents } from '../events.js';
import { CLUSTER_COUNTERS, zeroCounters } from '../stats/cluster-stats.js';
import { QueuedAdmission, type Release } from './queued-admission.js';

function setup(maxWaitMs = 1_000) {
  const clock = new FakeClock(0);
  const stats = zeroCounters(CLUSTER_COUNTERS);
  const queue = new QueuedAdmission('c', { maxConcurrent: 2, maxQueued: 2, maxWaitMs }, clock, stats, new EventEmitter<ResilienceEvents>());
  return { clock, stats, queue };
}

const settled = <T>(p: Promise<T>) => p.then((v) => ({ ok: true as const, v }), (e: unknown) => ({ ok: false as const, e }));

test('queued admission: 2 run, 2 wait, the 5th is refused; a release lets a waiter in', async () => {
  const { queue, stats } = setup();
  const attempts = Array.from({ length: 5 }, () => settled(queue.acquire()));
  const fifth = await attempts[4]!;
  assert.equal(fifth.ok, false);
  assert.ok(!fifth.ok && hasCode(fifth.e, 'XMESH_CIRCUIT_OPEN'));
  assert.equal(stats['upstream_rq_pending_overflow'], 1);
  const first = await attempts[0]!;
  const second = await attempts[1]!;
  assert.ok(first.ok && second.ok);
  let thirdIn = false;
  void attempts[2]!.then(() => (thirdIn = true));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(thirdIn, false, 'waits while 2 run');
  (first as { v: Release }).v();
  const third = await attempts[2]!;
  assert.ok(third.ok);
  (second as { v: Release }).v();
  (third as { v: Release }).v();
  assert.ok((await attempts[3]!).ok);
  queue.close();
});

test('queued admission: a waiter gives up after maxWaitMs with XMESH_CIRCUIT_OPEN', async () => {
  const { queue, clock, stats } = setup(500);
  const running = [await queue.acquire(), await queue.acquire()];
  const waiting = settled(queue.acquire());
  await new Promise((resolve) => setTimeout(resolve, 10));
  clock.advance(500);
  const result = await waiting;
  assert.ok(!result.ok && hasCode(result.e, 'XMESH_CIRCUIT_OPEN'));
  assert.equal(stats['xmesh.queue.timeout'], 1);
  for (const release of running) release();
  // the slot the timed-out waiter would have taken is handed back at once
  const next = await queue.acquire();
  next();
  queue.close();
});
