import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasCode, isMeshError } from '@xmesh/core';
import { FakeClock } from '../../../test/support/fake-clock.js';
import { ClusterGuard } from './cluster-guard.js';
import type { FailFastPermit } from './fail-fast/fail-fast.js';
import { FAIL_FAST, NOT_FOUND, OK, OUTLIER, THRESHOLDS, UNAVAILABLE, cluster } from '../test/fixtures.js';

test('max_requests 10, 50 concurrent admissions: exactly 40 refused with XMESH_CIRCUIT_OPEN (gRPC UNAVAILABLE), counted, slots freed', () => {
  const guard = new ClusterGuard(cluster({ circuitBreakers: { default: { ...THRESHOLDS, maxRequests: 10 }, high: THRESHOLDS } }));
  const overflow: string[] = [];
  guard.events.on('overflow', (e) => overflow.push(e.resource));
  const results = Array.from({ length: 50 }, () => guard.admit());
  const admitted = results.filter((r): r is FailFastPermit => !isMeshError(r));
  const refused = results.filter(isMeshError);
  assert.equal(admitted.length, 10);
  assert.equal(refused.length, 40);
  assert.ok(refused.every((e) => hasCode(e, 'XMESH_CIRCUIT_OPEN') && e.grpcStatus === 14 && e.cluster === 'c'));
  assert.equal(overflow.length, 40);
  for (const permit of admitted) guard.finish(permit, 'h0:1', OK);
  const snap = guard.snapshot();
  assert.equal(snap.cluster['upstream_rq_pending_overflow'], 40);
  assert.equal(snap.cluster['upstream_rq_total'], 10);
  assert.equal(snap.cluster['upstream_rq_active'], 0);
  guard.close();
});

test('outcomes feed outlier detection; ejection changes reach onEjectedChange; per-endpoint counters', () => {
  const clock = new FakeClock(0);
  let excluded: string[] = [];
  const guard = new ClusterGuard(cluster({ outlierDetection: { ...OUTLIER, consecutive5xx: 2, maxEjectionPercent: 50 } }), {
    clock,
    onEjectedChange: (ids) => (excluded = [...ids]),
  });
  guard.setEndpoints(['a:1', 'b:1']);
  for (let i = 0; i < 2; i++) guard.finish(guard.admit() as FailFastPermit, 'a:1', UNAVAILABLE);
  assert.deepEqual(excluded, ['a:1']);
  const snap = guard.snapshot();
  assert.deepEqual(snap.endpoints['a:1'], { rq_total: 2, rq_success: 0, rq_error: 2, rq_timeout: 0, ejected: 1 });
  assert.equal(snap.cluster['outlier_detection.ejections_active'], 1);
  clock.advance(30_000);
  assert.deepEqual(excluded, []);
  guard.close();
  assert.equal(clock.pendingTimers, 0);
});

test('fail-fast: 4xx-like gRPC statuses do not count; an open breaker refuses and frees the request slot', () => {
  const clock = new FakeClock(0);
  const guard = new ClusterGuard(
    cluster({ circuitBreakers: { default: { ...THRESHOLDS, maxRequests: 5 }, high: THRESHOLDS }, xmesh: { transport: undefined, failFast: FAIL_FAST, ewmaDecayMs: 10_000 } }),
    { clock },
  );
  for (let i = 0; i < 10; i++) guard.finish(guard.admit() as FailFastPermit, undefined, NOT_FOUND);
  assert.equal(guard.failFast?.state, 'closed');
  for (let i = 0; i < 11; i++) guard.finish(guard.admit() as FailFastPermit, undefined, UNAVAILABLE);
  assert.equal(guard.failFast?.state, 'open');
  for (let i = 0; i < 10; i++) {
    const refused = guard.admit();
    assert.ok(hasCode(refused, 'XMESH_CIRCUIT_OPEN'));
  }
  assert.equal(guard.limits.counts().requests, 0, 'refusals by the breaker do not hold max_requests slots');
  const snap = guard.snapshot();
  assert.equal(snap.cluster['xmesh.fail_fast.rejected'], 10);
  assert.equal(snap.cluster['xmesh.fail_fast.opened'], 1);
  assert.equal(snap.cluster['xmesh.fail_fast.open'], 1);
  guard.close();
});

test('config swap keeps counts and ejections; removing outlier_detection returns every host', () => {
  const clock = new FakeClock(0);
  let excluded: string[] = [];
  const config = cluster({ outlierDetection: { ...OUTLIER, consecutive5xx: 1, maxEjectionPercent: 100 } });
  const guard = new ClusterGuard(config, { clock, onEjectedChange: (ids) => (excluded = [...ids]) });
  guard.setEndpoints(['a:1']);
  const held = guard.admit() as FailFastPermit;
  guard.finish(guard.admit() as FailFastPermit, 'a:1', UNAVAILABLE);
  guard.update({ ...config, outlierDetection: { ...config.outlierDetection!, intervalMs: 5_000 } });
  assert.deepEqual(excluded, ['a:1']);
  assert.equal(guard.limits.counts().requests, 1);
  guard.update({ ...config, outlierDetection: undefined });
  assert.deepEqual(excluded, []);
  guard.finish(held, 'a:1', OK);
  assert.equal(guard.limits.counts().requests, 0);
  guard.close();
});

test('per-endpoint counters: every listed endpoint appears (zero until its first call), a removed one loses its counts, a re-listed one starts at zero', () => {
  const guard = new ClusterGuard(cluster({}));
  const ids = new Set(['a:1', 'b:1']);
  guard.setEndpoints(ids);
  const zero = { rq_total: 0, rq_success: 0, rq_error: 0, rq_timeout: 0, ejected: 0 };
  assert.deepEqual(guard.snapshot().endpoints, { 'a:1': zero, 'b:1': zero });
  guard.finish(guard.admit() as FailFastPermit, 'a:1', OK);
  guard.finish(guard.admit() as FailFastPermit, 'gone:1', OK); // not listed: not counted
  assert.deepEqual(guard.snapshot().endpoints, { 'a:1': { ...zero, rq_total: 1, rq_success: 1 }, 'b:1': zero });
  guard.setEndpoints(['b:1']);
  assert.deepEqual(guard.snapshot().endpoints, { 'b:1': zero });
  guard.setEndpoints(['a:1', 'b:1']);
  assert.deepEqual(guard.snapshot().endpoints['a:1'], zero);
  assert.equal(guard.snapshot().cluster['upstream_rq_total'], 2);
  guard.close();
});
