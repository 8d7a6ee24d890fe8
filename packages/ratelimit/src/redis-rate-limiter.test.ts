import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, type RedisServer } from '../../../test/support/redis-server.js';
import { freePort } from '../../../scripts/free-port.mjs';
import { RedisRateLimiter } from './redis-rate-limiter.js';

let redis: RedisServer;
let port = 0;

before(async () => {
  redis = await startRedis();
  port = redis.port;
});

after(async () => {
  await redis.stop();
});

const bucket = { maxTokens: 10, tokensPerFill: 10, fillIntervalMs: 60_000 };
/** Where Redis must decide, a command timeout no busy machine reaches (the default 50 ms can be, under load). */
const DECIDING = { commandTimeoutMs: 5_000 };

test('two limiter instances share one budget through Redis', async () => {
  const a = new RedisRateLimiter({ host: '127.0.0.1', port, bucket, failureMode: 'closed', keyPrefix: 'shared-test:', ...DECIDING });
  const b = new RedisRateLimiter({ host: '127.0.0.1', port, bucket, failureMode: 'closed', keyPrefix: 'shared-test:', ...DECIDING });
  try {
    await Promise.all([a.ready(), b.ready()]);
    // Alternating, one decision at a time: which connection Redis reads first cannot skew the split.
    const verdicts = [];
    for (let i = 0; i < 30; i++) verdicts.push(await (i % 2 === 0 ? a : b).consume('route-1'));
    assert.ok(verdicts.every((v) => v.source === 'redis'), 'Redis decided every call');
    assert.equal(verdicts.filter((v) => v.allowed).length, 10, 'exactly max_tokens admitted across both');
    const aAdmitted = verdicts.filter((v, i) => v.allowed && i % 2 === 0).length;
    assert.equal(aAdmitted, 5, `both instances drew from it alternately (a: ${aAdmitted})`);
    const other = await a.consume('route-2');
    assert.equal(other.allowed, true, 'another key has its own bucket');
    assert.equal(other.remaining, 9);
  } finally {
    await a.close();
    await b.close();
  }
});

test('the shared bucket refills on Redis time', async () => {
  const limiter = new RedisRateLimiter({ host: '127.0.0.1', port, bucket: { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 100 }, failureMode: 'closed', keyPrefix: 'refill-test:', ...DECIDING });
  try {
    await limiter.ready();
    assert.equal((await limiter.consume('k')).allowed, true);
    const denied = await limiter.consume('k');
    assert.equal(denied.allowed, false);
    assert.ok(denied.resetMs > 0 && denied.resetMs <= 100, `reset in ${denied.resetMs} ms`);
    await new Promise((r) => setTimeout(r, denied.resetMs + 20));
    assert.equal((await limiter.consume('k')).allowed, true);
  } finally {
    await limiter.close();
  }
});

test('an unreachable Redis fails open or closed as configured, within the command timeout', async () => {
  const deadPort = await freePort();
  for (const failureMode of ['open', 'closed'] as const) {
    const limiter = new RedisRateLimiter({ host: '127.0.0.1', port: deadPort, bucket, failureMode, commandTimeoutMs: 50 });
    try {
      const started = performance.now();
      const verdict = await limiter.consume('k');
      const took = performance.now() - started;
      assert.equal(verdict.source, 'failure');
      assert.equal(verdict.allowed, failureMode === 'open');
      assert.ok(verdict.error instanceof Error);
      // A refused connection fails at once; the bound only catches a call left hanging.
      assert.ok(took < 5_000, `decided in ${took.toFixed(1)} ms`);
    } finally {
      await limiter.close();
    }
  }
});

test('a Redis that stops answering (SIGSTOP) never hangs a call', async () => {
  // 1 s: long enough for the running Redis to decide on a busy machine, short enough to show the bound.
  const limiter = new RedisRateLimiter({ host: '127.0.0.1', port, bucket, failureMode: 'open', commandTimeoutMs: 1_000, keyPrefix: 'stall-test:' });
  try {
    await limiter.ready();
    assert.equal((await limiter.consume('k')).source, 'redis');
    redis.pause();
    const started = performance.now();
    const verdict = await limiter.consume('k');
    const took = performance.now() - started;
    assert.equal(verdict.source, 'failure');
    assert.equal(verdict.allowed, true);
    // Decided by the 1 s command timeout (never before it), not left hanging on the frozen Redis.
    assert.ok(took >= 990 && took < 10_000, `decided in ${took.toFixed(1)} ms`);
  } finally {
    redis.resume();
    await limiter.close();
  }
});
