import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'eventemitter3';
import { FakeClock } from '../../../../test/support/fake-clock.js';
import type { ResilienceEvents } from '../events.js';
import { BucketRotation } from './bucket-rotation.js';
import type { FailFastBreaker } from './fail-fast.js';
import { OpossumFailFast } from './opossum-fail-fast.js';
import { WindowFailFast } from './window-fail-fast.js';
import { FAIL_FAST } from '../../test/fixtures.js';

function recorder() {
  const events = new EventEmitter<ResilienceEvents>();
  const log: string[] = [];
  events.on('breaker.open', (e) => log.push(`open ${e.errorPercentage}`));
  events.on('breaker.halfOpen', () => log.push('halfOpen'));
  events.on('breaker.close', () => log.push('close'));
  return { events, log };
}

/** Runs one call through `breaker`; true when admitted. Promise settling is flushed for opossum. */
async function call(breaker: FailFastBreaker, ok: boolean): Promise<boolean> {
  const permit = breaker.tryAcquire();
  if (permit === undefined) return false;
  if (ok) permit.success();
  else permit.failure();
  await new Promise((resolve) => setImmediate(resolve));
  return true;
}

/** The shared scenario: 2 ok + 2 failed (50 %, not above 50) stays closed; a 3rd failure (60 %) opens. */
async function scenario(breaker: FailFastBreaker, log: string[], advance: (ms: number) => void): Promise<void> {
  assert.equal(await call(breaker, true), true);
  assert.equal(await call(breaker, true), true);
  assert.equal(await call(breaker, false), true);
  assert.equal(await call(breaker, false), true);
  assert.equal(breaker.state, 'closed');
  assert.equal(await call(breaker, false), true);
  assert.equal(breaker.state, 'open');
  assert.deepEqual(log, ['open 60']);
  assert.equal(await call(breaker, true), false, 'open: rejected');
  advance(4_999);
  assert.equal(await call(breaker, true), false, 'still open before reset_timeout');
  advance(1);
  // half-open: one probe; its failure re-opens
  const probe = breaker.tryAcquire();
  assert.ok(probe);
  assert.equal(breaker.state, 'halfOpen');
  assert.equal(breaker.tryAcquire(), undefined, 'one probe at a time');
  probe.failure();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(breaker.state, 'open');
  advance(5_000);
  assert.equal(await call(breaker, true), true, 'probe after the next reset timeout');
  assert.equal(breaker.state, 'closed');
  assert.equal(await call(breaker, true), true);
  assert.deepEqual(log.map((e) => e.replace(/^open .*/, 'open')), ['open', 'halfOpen', 'open', 'halfOpen', 'close']);
}

test('window breaker: opens above the error rate with enough volume, half-opens after reset, closes on success', async () => {
  const clock = new FakeClock(0);
  const { events, log } = recorder();
  const breaker = new WindowFailFast('c', FAIL_FAST, clock, events);
  await scenario(breaker, log, (ms) => clock.advance(ms));
  assert.equal(log[2], 'open 100');
});

test('window breaker: failures older than the rolling window do not count', () => {
  const clock = new FakeClock(0);
  const { events } = recorder();
  const breaker = new WindowFailFast('c', FAIL_FAST, clock, events);
  for (let i = 0; i < 3; i++) breaker.tryAcquire()!.failure(); // 3 calls: below volume
  clock.advance(10_000);
  breaker.tryAcquire()!.failure(); // the old 3 rolled out: 1 call
  assert.equal(breaker.state, 'closed');
  for (let i = 0; i < 3; i++) breaker.tryAcquire()!.failure();
  assert.equal(breaker.state, 'open');
});

test('opossum breaker: the same state machine (timers mocked), one shared rotation interval', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 0 });
  try {
    const rotation = new BucketRotation();
    const { events, log } = recorder();
    const breaker = new OpossumFailFast('c', FAIL_FAST, rotation, events);
    const other = new OpossumFailFast('d', FAIL_FAST, rotation, events);
    assert.equal(rotation.intervals, 1, 'two breakers, one rotation interval');
    await scenario(breaker, log, (ms) => mock.timers.tick(ms));
    assert.match(log[2]!, /^open /);
    breaker.close();
    other.close();
    rotation.close();
  } finally {
    mock.timers.reset();
  }
});
