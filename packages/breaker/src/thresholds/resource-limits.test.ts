import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResourceLimits } from './resource-limits.js';
import { CLUSTER_COUNTERS, zeroCounters } from '../stats/cluster-stats.js';
import { THRESHOLDS } from '../../test/fixtures.js';

function limits(overrides: Partial<typeof THRESHOLDS>, high = THRESHOLDS) {
  const stats = zeroCounters(CLUSTER_COUNTERS);
  return { stats, limits: new ResourceLimits({ default: { ...THRESHOLDS, ...overrides }, high }, stats) };
}

test('max_requests: acquires up to the limit, refuses and counts upstream_rq_pending_overflow beyond, frees on release', () => {
  const { limits: l, stats } = limits({ maxRequests: 10 });
  const admitted = Array.from({ length: 50 }, () => l.tryAcquireRequest()).filter(Boolean).length;
  assert.equal(admitted, 10);
  assert.equal(stats['upstream_rq_pending_overflow'], 40);
  assert.equal(l.gauges()['circuit_breakers.default.rq_open'], 1);
  l.releaseRequest();
  assert.equal(l.tryAcquireRequest(), true);
  assert.equal(l.counts().requests, 10);
});

test('priorities have separate counters and limits', () => {
  const { limits: l } = limits({ maxRequests: 1 }, { ...THRESHOLDS, maxRequests: 2 });
  assert.equal(l.tryAcquireRequest('default'), true);
  assert.equal(l.tryAcquireRequest('default'), false);
  assert.equal(l.tryAcquireRequest('high'), true);
  assert.equal(l.tryAcquireRequest('high'), true);
  assert.equal(l.tryAcquireRequest('high'), false);
});

test('max_retries without a budget; retry_budget overrides it: max(min_retry_concurrency, budget % of active + pending)', () => {
  const plain = limits({ maxRetries: 3 });
  assert.equal([1, 2, 3, 4].map(() => plain.limits.tryAcquireRetry()).filter(Boolean).length, 3);
  assert.equal(plain.stats['upstream_rq_retry_overflow'], 1);

  const budget = limits({ maxRetries: 100, retryBudget: { budgetPercent: 20, minRetryConcurrency: 3 } });
  // idle: the floor of 3 applies (max_retries 100 is ignored)
  assert.equal(Array.from({ length: 10 }, () => budget.limits.tryAcquireRetry()).filter(Boolean).length, 3);
  for (let i = 0; i < 3; i++) budget.limits.releaseRetry();
  // 50 active requests: 20 % = 10 concurrent retries
  for (let i = 0; i < 50; i++) budget.limits.tryAcquireRequest();
  assert.equal(Array.from({ length: 20 }, () => budget.limits.tryAcquireRetry()).filter(Boolean).length, 10);
  assert.equal(budget.stats['upstream_rq_retry_overflow'], 7 + 10);
});

test('max_pending_requests and max_connections overflow with their Envoy stats; track_remaining gauges', () => {
  const { limits: l, stats } = limits({ maxPendingRequests: 1, maxConnections: 2, trackRemaining: true });
  assert.equal(l.tryAcquirePending(), true);
  assert.equal(l.tryAcquirePending(), false);
  assert.equal(stats['upstream_rq_pending_overflow'], 1);
  assert.equal(l.tryAcquireConnection(), true);
  assert.equal(l.tryAcquireConnection(), true);
  assert.equal(l.tryAcquireConnection(), false);
  assert.equal(stats['upstream_cx_overflow'], 1);
  const g = l.gauges();
  assert.equal(g['circuit_breakers.default.remaining_cx'], 0);
  assert.equal(g['circuit_breakers.default.remaining_pending'], 0);
  assert.equal(g['circuit_breakers.default.remaining_rq'], 1024);
  assert.equal(g['upstream_rq_pending_active'], 1);
});
