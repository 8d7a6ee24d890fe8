// The retry controller on a fake clock: back-off timing within Envoy's jitter bounds, the route
// timeout cutting the loop at the exact time, per-try timeouts, num_retries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MeshError } from '@xmesh/core';
import type { RouteDecision } from '@xmesh/router';
import type { RetryOn, RouteAction } from '@xmesh/xds';
import type { AttemptResult } from '@xmesh/filters';
import { FakeClock } from '../../../../test/support/fake-clock.js';
import { MeshServices } from '../mesh-services.js';
import { PipelineCall } from '../pipeline-call.js';
import type { MeshState } from '../mesh-state.js';
import { retryLayer } from './retry-layer.js';

const UNAVAILABLE: AttemptResult = { httpStatus: 200, grpcStatus: 14, failure: 'none', headers: undefined };
const OK: AttemptResult = { httpStatus: 200, grpcStatus: 0, failure: 'none', headers: undefined };

class TestCall extends PipelineCall {
  failed: MeshError | undefined;
  aborted: MeshError | undefined;
  constructor(state: MeshState, deadline = Infinity) {
    super(state, { authority: 'svc', path: '/s/M', method: 'POST', headers: new Map(), grpc: true }, deadline);
  }
  fail(error: MeshError): void {
    this.failed = error;
    this.retry?.end();
  }
  override nextAttempt(): TestCall {
    return new TestCall(this.state, this.deadline);
  }
  override abortAttempt(error: MeshError): void {
    this.aborted = error;
  }
}

function harness(action: Partial<RouteAction>, retryOn: RetryOn[], numRetries: number, random: () => number, callerDeadline = Infinity, backOff = { baseIntervalMs: 25, maxIntervalMs: 250 }) {
  const clock = new FakeClock(1000);
  const services = new MeshServices({ clock, random, retryAdmission: () => undefined });
  const state = { snapshot: {} as never, router: {} as never, clusters: new Map(), clock, services } as MeshState;
  const fullAction = {
    timeoutMs: 15_000, maxStreamDurationMs: undefined, grpcTimeoutHeaderMaxMs: undefined, grpcTimeoutHeaderOffsetMs: undefined,
    retryPolicy: {
      retryOn, numRetries, perTryTimeoutMs: undefined, perTryIdleTimeoutMs: undefined, backOff,
      retriableStatusCodes: [], retriableHeaders: [], hostSelectionRetryMaxAttempts: 1, avoidPreviousHosts: false,
    },
    ...action,
  } as RouteAction;
  const decision = { cluster: 'backend', route: { name: 'r', action: fullAction }, virtualHost: { name: 'vh' } } as unknown as RouteDecision;
  const starts: { at: number; attempt: TestCall }[] = [];
  const invoke = retryLayer((attempt: TestCall) => void starts.push({ at: clock.now(), attempt }));
  const call = new TestCall(state, callerDeadline);
  call.decision = decision;
  invoke(call);
  /** Ends the latest attempt with `result`; returns whether it was retried. */
  const end = (result: AttemptResult): boolean => {
    const latest = starts[starts.length - 1]!.attempt;
    return latest.retry!.onAttemptEnd(latest, result, false);
  };
  return { clock, services, call, starts, end };
}

test('back-off before retry N waits (2^N − 1) × 25 ms × jitter, capped at 250 ms (fake clock)', () => {
  const { clock, starts, end, services } = harness({}, ['unavailable'], 5, () => 0.999);
  const gaps: number[] = [];
  for (let n = 1; n <= 5; n++) {
    const endedAt = clock.now();
    assert.equal(end(UNAVAILABLE), true);
    clock.advance(300);
    gaps.push(starts[n]!.at - endedAt);
  }
  assert.deepEqual(gaps, [24, 74, 174, 249, 249]);
  assert.equal(end(UNAVAILABLE), false, 'num_retries reached');
  assert.equal(starts.length, 6);
  assert.equal(services.stats.value('cluster.backend.upstream_rq_retry'), 5);
  assert.equal(services.deadlines.size, 0, 'no deadline held');
  assert.equal(clock.pendingTimers, services.deadlines.timerArmed ? 1 : 0, 'every timer cleared but the mesh-wide deadline timer');
});

test('jittered back-off stays within [0, ceiling) for every retry over many calls', () => {
  const ceilings = [25, 75, 175, 250];
  for (let run = 0; run < 200; run++) {
    const { clock, starts, end } = harness({}, ['unavailable'], 4, Math.random);
    for (let n = 1; n <= 4; n++) {
      const endedAt = clock.now();
      end(UNAVAILABLE);
      clock.advance(250);
      const gap = starts[n]!.at - endedAt;
      assert.ok(gap >= 0 && gap < ceilings[n - 1]!, `retry ${n} waited ${gap} ms`);
    }
  }
});

test('the route timeout cuts the retry loop at exactly the timeout, during back-off', () => {
  const { clock, starts, end, services } = harness({ timeoutMs: 100 }, ['unavailable'], 100, () => 0.5);
  // Attempts fail at once; back-offs are 12, 37, 87 ms: the third retry would start at 136 ms.
  for (let i = 0; i < 3; i++) {
    assert.equal(end(UNAVAILABLE), true);
    clock.advance(starts.length === 1 ? 12 : starts.length === 2 ? 37 : 0);
  }
  assert.equal(starts.length, 3);
  clock.advance(1000 + 100 - clock.now() - 1);
  assert.equal(starts[starts.length - 1]!.attempt.failed, undefined);
  clock.advance(1);
  // The third retry was scheduled but never started: that waiting attempt fails with the timeout.
  const waiting = (starts[starts.length - 1]!.attempt.retry as unknown as { current: TestCall }).current;
  assert.equal(waiting.failed?.code, 'XMESH_TIMEOUT');
  assert.equal(waiting.failed?.httpStatus, 504);
  assert.equal(starts.length, 3);
  assert.equal(services.stats.value('cluster.backend.upstream_rq_timeout'), 1);
  assert.equal(clock.pendingTimers, 0);
});

test('the caller\'s own deadline ends the call during a back-off that would outlast it (no attempt in flight enforces it then)', () => {
  // Caller deadline 100 ms away, route timeout 15 s; back-off up to 1 s: the retry would start at ~999 ms.
  const { clock, starts, end, services } = harness({}, ['unavailable'], 3, () => 0.999, 1000 + 100, { baseIntervalMs: 1000, maxIntervalMs: 1000 });
  // The transport enforces the caller's deadline while an attempt is in flight: only the stream idle timeout (Envoy's 5 min default) is scheduled.
  assert.equal(services.deadlines.size, 1);
  assert.equal((starts[0]!.attempt.retry as unknown as { deadlineDue: number }).deadlineDue, 1000 + 300_000);
  assert.equal(end(UNAVAILABLE), true);
  clock.advance(99);
  const waiting = (starts[0]!.attempt.retry as unknown as { current: TestCall }).current;
  assert.equal(waiting.failed?.code, undefined);
  clock.advance(1);
  assert.equal(waiting.failed?.code, 'XMESH_TIMEOUT');
  assert.equal(waiting.failed?.grpcStatus, 4, 'DEADLINE_EXCEEDED, as the caller\'s transport reports its deadline');
  assert.equal(waiting.failed!.message, "the caller's deadline passed");
  clock.advance(2000);
  assert.equal(starts.length, 1, 'the retry never started');
  assert.equal(services.stats.value('cluster.backend.upstream_rq_timeout'), 0, 'not a route timeout');
  assert.equal(clock.pendingTimers, services.deadlines.timerArmed ? 1 : 0);
});

test('the route timeout aborts the attempt in flight; its end is not retried', () => {
  const { clock, starts, end } = harness({ timeoutMs: 100 }, ['unavailable', 'deadline-exceeded'], 5, () => 0);
  clock.advance(100);
  assert.equal(starts[0]!.attempt.aborted?.code, 'XMESH_TIMEOUT');
  assert.equal(end({ httpStatus: 200, grpcStatus: 4, failure: 'none', headers: undefined }), false);
  assert.equal(starts.length, 1);
});

test('per-try timeout: the attempt is aborted after per_try_timeout and retried', () => {
  const clock = new FakeClock(0);
  const services = new MeshServices({ clock, random: () => 0, retryAdmission: () => undefined });
  const state = { snapshot: {} as never, router: {} as never, clusters: new Map(), clock, services } as MeshState;
  const action = {
    timeoutMs: 1000, maxStreamDurationMs: undefined, grpcTimeoutHeaderMaxMs: undefined, grpcTimeoutHeaderOffsetMs: undefined,
    retryPolicy: {
      retryOn: ['gateway-error'], numRetries: 1, perTryTimeoutMs: 50, perTryIdleTimeoutMs: undefined, backOff: { baseIntervalMs: 25, maxIntervalMs: 250 },
      retriableStatusCodes: [], retriableHeaders: [], hostSelectionRetryMaxAttempts: 1, avoidPreviousHosts: false,
    },
  } as unknown as RouteAction;
  const starts: TestCall[] = [];
  const invoke = retryLayer((attempt: TestCall) => void starts.push(attempt));
  const call = new TestCall(state);
  call.decision = { cluster: 'backend', route: { name: 'r', action }, virtualHost: { name: 'vh' } } as unknown as RouteDecision;
  invoke(call);
  clock.advance(49);
  assert.equal(starts[0]!.aborted, undefined);
  clock.advance(1);
  assert.equal(starts[0]!.aborted?.code, 'XMESH_TIMEOUT');
  // The front end reports the aborted attempt's end (grpc-js: DEADLINE_EXCEEDED); it counts as a 504.
  assert.equal(starts[0]!.retry!.onAttemptEnd(starts[0]!, { httpStatus: 200, grpcStatus: 4, failure: 'none', headers: undefined }, false), true);
  clock.advance(0);
  assert.equal(starts.length, 2);
  clock.advance(50);
  assert.equal(starts[1]!.aborted?.code, 'XMESH_TIMEOUT');
  assert.equal(starts[1]!.retry!.onAttemptEnd(starts[1]!, OK, false), false);
  assert.equal(services.stats.value('cluster.backend.upstream_rq_per_try_timeout'), 2);
  assert.equal(services.deadlines.size, 0);
  assert.equal(clock.pendingTimers, services.deadlines.timerArmed ? 1 : 0);
});

test('an attempt that ends after the route timeout is due, before its late timer ran, ends the call with the timeout', () => {
  // A busy event loop: the attempt's failure is handled after the deadline passed but before the
  // deadline timer got to run. The call must time out as if the timer had been on time.
  const { clock, starts, end, services } = harness({ timeoutMs: 100 }, ['unavailable'], 5, () => 0.5);
  clock.stall(100);
  assert.equal(end(UNAVAILABLE), false, 'no retry past the route timeout');
  assert.equal(starts[0]!.attempt.retry!.timeoutError?.code, 'XMESH_TIMEOUT', 'the front end reports the timeout, not the attempt\'s status');
  assert.equal(services.stats.value('cluster.backend.upstream_rq_timeout'), 1);
  clock.advance(0);
  assert.equal(services.stats.value('cluster.backend.upstream_rq_timeout'), 1, 'the late timer does not count it twice');
  assert.equal(starts.length, 1);
  assert.equal(starts[0]!.attempt.aborted, undefined);
});
