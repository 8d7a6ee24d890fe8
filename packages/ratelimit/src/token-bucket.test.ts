import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../test/support/fake-clock.js';
import { TokenBucket } from './token-bucket.js';
import { KeyedBuckets } from './keyed-buckets.js';

/** Offers one call per ms for `seconds` and returns the admitted count in each second. */
function admittedPerSecond(bucket: TokenBucket, clock: FakeClock, seconds: number): number[] {
  const perSecond: number[] = [];
  for (let s = 0; s < seconds; s++) {
    let admitted = 0;
    for (let ms = 0; ms < 1000; ms++) {
      if (bucket.tryConsume(clock.now())) admitted++;
      clock.advance(1);
    }
    perSecond.push(admitted);
  }
  return perSecond;
}

test('a 100 rps bucket (10 tokens per 100 ms) admits 100 ± 5 per second over 5 s', () => {
  const clock = new FakeClock(1_000);
  const bucket = new TokenBucket({ maxTokens: 10, tokensPerFill: 10, fillIntervalMs: 100 }, clock.now());
  const seconds = admittedPerSecond(bucket, clock, 5);
  assert.equal(seconds.length, 5);
  for (const n of seconds) assert.ok(Math.abs(n - 100) <= 5, `admitted ${n} in one second: ${seconds.join(',')}`);
  assert.equal(seconds.reduce((a, b) => a + b, 0), 500);
});

test('a 100 rps bucket (100 tokens per second) admits exactly 100 per second', () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket({ maxTokens: 100, tokensPerFill: 100, fillIntervalMs: 1000 }, clock.now());
  assert.deepEqual(admittedPerSecond(bucket, clock, 5), [100, 100, 100, 100, 100]);
});

test('max_tokens is the initial fill and caps refills; fills land only on whole intervals', () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket({ maxTokens: 3, tokensPerFill: 2, fillIntervalMs: 50 }, clock.now());
  assert.equal(bucket.remaining(clock.now()), 3);
  for (let i = 0; i < 3; i++) assert.equal(bucket.tryConsume(clock.now()), true);
  assert.equal(bucket.tryConsume(clock.now()), false);
  clock.advance(49);
  assert.equal(bucket.tryConsume(clock.now()), false);
  assert.equal(bucket.msUntilNextFill(clock.now()), 1);
  clock.advance(1);
  assert.equal(bucket.remaining(clock.now()), 2);
  clock.advance(10_000);
  assert.equal(bucket.remaining(clock.now()), 3, 'capped at max_tokens');
  assert.equal(bucket.isFullAt(clock.now()), true);
});

test('keyed buckets stay bounded at 10 000 keys under 50 000 distinct keys', () => {
  const clock = new FakeClock();
  const buckets = new KeyedBuckets({ maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 60_000 }, { maxKeys: 10_000 });
  for (let i = 0; i < 50_000; i++) assert.equal(buckets.get(`k${i}`, clock.now()).tryConsume(clock.now()), true);
  assert.equal(buckets.size, 10_000);
  // The most recent keys survived with their state; the oldest were evicted.
  assert.equal(buckets.get('k49999', clock.now()).tryConsume(clock.now()), false);
  assert.equal(buckets.size, 10_000);
});

test('idle buckets (refilled to full) are evicted as new keys arrive, without timers', () => {
  const clock = new FakeClock();
  const buckets = new KeyedBuckets({ maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 100 }, { maxKeys: 10_000 });
  for (let i = 0; i < 1000; i++) buckets.get(`old${i}`, clock.now()).tryConsume(clock.now());
  assert.equal(buckets.size, 1000);
  assert.equal(clock.pendingTimers, 0);
  clock.advance(100);
  for (let i = 0; i < 600; i++) buckets.get(`new${i}`, clock.now()).tryConsume(clock.now());
  // Each new key drops up to two idle ones: 1000 old go within 500 inserts.
  assert.equal(buckets.size, 600);
});

test('a bucket still refilling is not evicted as idle', () => {
  const clock = new FakeClock();
  const buckets = new KeyedBuckets({ maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 100 });
  buckets.get('busy', clock.now()).tryConsume(clock.now());
  clock.advance(50);
  buckets.get('other', clock.now());
  assert.equal(buckets.size, 2);
  assert.equal(buckets.get('busy', clock.now()).tryConsume(clock.now()), false, 'state kept');
});
