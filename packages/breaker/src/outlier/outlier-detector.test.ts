import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'eventemitter3';
import type { CallOutcome } from '@xmesh/core';
import type { OutlierDetectionConfig } from '@xmesh/xds';
import { FakeClock } from '../../../../test/support/fake-clock.js';
import type { ResilienceEvents } from '../events.js';
import { CLUSTER_COUNTERS, zeroCounters } from '../stats/cluster-stats.js';
import { OutlierDetector } from './outlier-detector.js';
import { CONNECT_FAILED, DEADLINE_EXCEEDED, HTTP_500, INTERNAL, NOT_FOUND, OK, OUTLIER, UNAVAILABLE } from '../../test/fixtures.js';

function setup(overrides: Partial<OutlierDetectionConfig> = {}, hosts = 10, random = () => 0) {
  const clock = new FakeClock(0);
  const stats = zeroCounters(CLUSTER_COUNTERS);
  const events = new EventEmitter<ResilienceEvents>();
  const log: string[] = [];
  events.on('endpoint.ejected', (e) => log.push(`eject ${e.endpoint} ${e.reason} ${e.durationMs}`));
  events.on('endpoint.returned', (e) => log.push(`return ${e.endpoint}`));
  let excluded: string[] = [];
  const detector = new OutlierDetector({ ...OUTLIER, ...overrides }, {
    cluster: 'c', clock, random, stats, events,
    onEjectedChange: (ids) => (excluded = [...ids].sort()),
  });
  const ids = Array.from({ length: hosts }, (_, i) => `h${i}`);
  detector.setEndpoints(ids);
  return { clock, stats, log, detector, excluded: () => excluded };
}

test('consecutive 5xx: ejects at exactly the count; a success resets the run', () => {
  const { detector, log, stats, excluded } = setup();
  for (let i = 0; i < 4; i++) detector.record('h0', UNAVAILABLE);
  detector.record('h0', OK);
  for (let i = 0; i < 4; i++) detector.record('h0', INTERNAL);
  assert.deepEqual(log, []);
  detector.record('h0', HTTP_500);
  assert.deepEqual(log, ['eject h0 consecutive_5xx 30000']);
  assert.deepEqual(excluded(), ['h0']);
  assert.equal(stats['outlier_detection.ejections_enforced_consecutive_5xx'], 1);
  assert.equal(stats['outlier_detection.ejections_detected_consecutive_5xx'], 1);
});

test('non-5xx gRPC statuses (NOT_FOUND) are not failures', () => {
  const { detector, log } = setup({ consecutive5xx: 2 });
  for (let i = 0; i < 10; i++) detector.record('h0', NOT_FOUND);
  assert.deepEqual(log, []);
});

test('ejected hosts return at the first interval tick after base × count; the time grows per ejection, capped', () => {
  const { detector, clock, log, excluded } = setup({ consecutive5xx: 1, baseEjectionTimeMs: 30_000, maxEjectionTimeMs: 50_000 });
  detector.record('h1', UNAVAILABLE);
  clock.advance(29_999);
  assert.deepEqual(excluded(), ['h1']);
  clock.advance(1); // tick at 30 000
  assert.deepEqual(excluded(), []);
  detector.record('h1', UNAVAILABLE); // second ejection: 60 s, capped at 50 s
  clock.advance(40_000);
  assert.deepEqual(excluded(), ['h1']);
  clock.advance(10_000);
  assert.deepEqual(excluded(), []);
  assert.deepEqual(log, ['eject h1 consecutive_5xx 30000', 'return h1', 'eject h1 consecutive_5xx 50000', 'return h1']);
});

test('the multiplier decays by one per interval spent healthy', () => {
  const { detector, clock, log } = setup({ consecutive5xx: 1 });
  detector.record('h1', UNAVAILABLE); // ejections = 1
  clock.advance(30_000); // returns
  clock.advance(10_000); // one healthy interval: back to 0
  detector.record('h1', UNAVAILABLE);
  assert.equal(log.at(-1), 'eject h1 consecutive_5xx 30000');
});

test('max_ejection_percent: (ejected + 1) / hosts must stay within it; overflow is counted', () => {
  const { detector, stats, excluded } = setup({ consecutive5xx: 1, maxEjectionPercent: 20 });
  for (const id of ['h0', 'h1', 'h2']) detector.record(id, UNAVAILABLE);
  assert.deepEqual(excluded(), ['h0', 'h1']);
  assert.equal(stats['outlier_detection.ejections_overflow'], 1);
});

test('max_ejection_percent 10 % of 3 hosts ejects none unless always_eject_one_host', () => {
  const few = setup({ consecutive5xx: 1 }, 3);
  few.detector.record('h0', UNAVAILABLE);
  assert.deepEqual(few.excluded(), []);
  const one = setup({ consecutive5xx: 1, alwaysEjectOneHost: true }, 3);
  one.detector.record('h0', UNAVAILABLE);
  one.detector.record('h1', UNAVAILABLE);
  assert.deepEqual(one.excluded(), ['h0']);
});

test('enforcing_* percent: detected always, enforced only when the roll passes', () => {
  const { detector, stats, excluded } = setup({ consecutive5xx: 1, enforcingConsecutive5xx: 30 }, 10, () => 0.5);
  detector.record('h0', UNAVAILABLE);
  assert.deepEqual(excluded(), []);
  assert.equal(stats['outlier_detection.ejections_detected_consecutive_5xx'], 1);
  assert.equal(stats['outlier_detection.ejections_enforced_total'], 0);
});

test('consecutive gateway failure (502/503/504) is detected but not enforced by default (0 %)', () => {
  const defaults = setup({ consecutive5xx: 100 });
  for (let i = 0; i < 5; i++) defaults.detector.record('h0', UNAVAILABLE);
  assert.equal(defaults.stats['outlier_detection.ejections_detected_consecutive_gateway_failure'], 1);
  assert.deepEqual(defaults.excluded(), []);
  const enforced = setup({ consecutive5xx: 100, enforcingConsecutiveGatewayFailure: 100 });
  for (let i = 0; i < 4; i++) enforced.detector.record('h0', UNAVAILABLE);
  enforced.detector.record('h0', INTERNAL); // 500 breaks the gateway run
  for (let i = 0; i < 5; i++) enforced.detector.record('h0', UNAVAILABLE);
  assert.deepEqual(enforced.log, ['eject h0 consecutive_gateway_failure 30000']);
});

test('local-origin failures: counted as 503s unless split, then as their own consecutive run', () => {
  const unsplit = setup({ consecutive5xx: 3 });
  for (let i = 0; i < 3; i++) unsplit.detector.record('h0', CONNECT_FAILED);
  assert.deepEqual(unsplit.log, ['eject h0 consecutive_5xx 30000']);
  const split = setup({ consecutive5xx: 3, splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailure: 2 });
  split.detector.record('h0', CONNECT_FAILED);
  split.detector.record('h0', UNAVAILABLE); // an upstream answer: the connection worked, local run resets
  split.detector.record('h0', CONNECT_FAILED);
  assert.deepEqual(split.log, []);
  split.detector.record('h0', CONNECT_FAILED);
  assert.deepEqual(split.log, ['eject h0 consecutive_local_origin_failure 30000']);
});

test('success rate: hosts below mean − 1.9 × stdev are ejected at the interval tick', () => {
  const { detector, clock, log } = setup({ consecutive5xx: 1000, maxEjectionPercent: 100 }, 6);
  for (let h = 0; h < 6; h++) {
    for (let i = 0; i < 100; i++) detector.record(`h${h}`, h === 5 && i % 2 === 0 ? UNAVAILABLE : OK);
  }
  clock.advance(10_000);
  assert.deepEqual(log, ['eject h5 success_rate 30000']);
});

test('success rate needs success_rate_minimum_hosts hosts with success_rate_request_volume requests', () => {
  const { detector, clock, log } = setup({ consecutive5xx: 1000, maxEjectionPercent: 100 }, 6);
  for (let h = 0; h < 6; h++) {
    for (let i = 0; i < (h < 2 ? 100 : 99); i++) detector.record(`h${h}`, h === 0 && i % 2 === 0 ? UNAVAILABLE : OK);
  }
  clock.advance(10_000);
  assert.deepEqual(log, []);
});

test('failure percentage: at or above the threshold, when enforced', () => {
  const { detector, clock, log } = setup({ consecutive5xx: 1000, enforcingFailurePercentage: 100, enforcingSuccessRate: 0, maxEjectionPercent: 100 }, 5);
  for (let h = 0; h < 5; h++) {
    for (let i = 0; i < 50; i++) detector.record(`h${h}`, h === 0 && i < 43 ? UNAVAILABLE : OK); // 86 % failed
  }
  clock.advance(10_000);
  assert.deepEqual(log, ['eject h0 failure_percentage 30000']);
});

test('one timer per cluster, none per endpoint; close clears it', () => {
  const { detector, clock } = setup({}, 50);
  assert.equal(clock.pendingTimers, 1);
  assert.equal(clock.pendingRefedTimers, 0, 'the tick is unref\'d');
  detector.record('h3', UNAVAILABLE);
  clock.advance(25_000);
  assert.equal(clock.pendingTimers, 1);
  detector.close();
  assert.equal(clock.pendingTimers, 0);
});

test('ejections survive an endpoint update that keeps the host and go with it', () => {
  const { detector, excluded } = setup({ consecutive5xx: 1 });
  detector.record('h0', UNAVAILABLE);
  detector.setEndpoints(['h0', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7', 'h8', 'h9', 'h10']);
  assert.deepEqual(excluded(), ['h0']);
  assert.equal(detector.monitor('h0')?.ejected, true);
  detector.setEndpoints(['h1', 'h2']);
  assert.deepEqual(excluded(), []);
});

test('a host still failing when its ejection ends is ejected again: its runs restart at un-ejection, as Envoy', () => {
  // A hung replica at c=16: every call in flight to it times out; the third ejects it and the
  // other thirteen end while it is ejected. They must not leave a run past the threshold.
  const { detector, clock, log } = setup({ consecutive5xx: 1000, consecutiveGatewayFailure: 3, enforcingConsecutiveGatewayFailure: 100, intervalMs: 1_000, baseEjectionTimeMs: 1_000 });
  for (let i = 0; i < 16; i++) detector.record('h0', DEADLINE_EXCEEDED);
  assert.deepEqual(log, ['eject h0 consecutive_gateway_failure 1000']);
  clock.advance(1_000);
  assert.deepEqual(log.slice(1), ['return h0']);
  for (let i = 0; i < 3; i++) detector.record('h0', DEADLINE_EXCEEDED);
  assert.deepEqual(log.slice(2), ['eject h0 consecutive_gateway_failure 2000'], 're-ejected at the third failure after returning, for base × 2');
  clock.advance(2_000);
  for (let i = 0; i < 3; i++) detector.record('h0', DEADLINE_EXCEEDED);
  assert.deepEqual(log.slice(3), ['return h0', 'eject h0 consecutive_gateway_failure 3000']);
});

test('a detection that is not enforced restarts its run, so it is detected again after as many failures', () => {
  const { detector, stats, excluded } = setup({ consecutive5xx: 1000, consecutiveGatewayFailure: 5 });
  for (let i = 0; i < 10; i++) detector.record('h0', UNAVAILABLE);
  assert.equal(stats['outlier_detection.ejections_detected_consecutive_gateway_failure'], 2);
  assert.deepEqual(excluded(), []);
});

test('max_ejection_percent is checked before the enforcing_* roll: a refused ejection counts as overflow either way', () => {
  const { detector, stats } = setup({ consecutive5xx: 1, enforcingConsecutive5xx: 30 }, 3, () => 0.5);
  detector.record('h0', UNAVAILABLE);
  assert.equal(stats['outlier_detection.ejections_detected_consecutive_5xx'], 1);
  assert.equal(stats['outlier_detection.ejections_overflow'], 1);
  assert.equal(stats['outlier_detection.ejections_enforced_total'], 0);
});

test('the multiplier stops growing once base × it reaches max_ejection_time + base, so its decay is bounded too', () => {
  // base 30 s, max 50 s: the multiplier grows 1, 2, 3 and stays; three healthy intervals bring it to 0.
  const { detector, clock, log } = setup({ consecutive5xx: 1, baseEjectionTimeMs: 30_000, maxEjectionTimeMs: 50_000 });
  for (let i = 0; i < 6; i++) {
    detector.record('h1', UNAVAILABLE);
    clock.advance(i === 0 ? 30_000 : 50_000); // to the tick that returns it: no healthy interval in between
  }
  assert.deepEqual(log.filter((l) => l.startsWith('eject')), [
    'eject h1 consecutive_5xx 30000', 'eject h1 consecutive_5xx 50000', 'eject h1 consecutive_5xx 50000',
    'eject h1 consecutive_5xx 50000', 'eject h1 consecutive_5xx 50000', 'eject h1 consecutive_5xx 50000',
  ]);
  assert.equal(detector.monitor('h1')?.ejections, 3);
  clock.advance(30_000); // three healthy interval ticks
  detector.record('h1', UNAVAILABLE);
  assert.equal(log.at(-1), 'eject h1 consecutive_5xx 30000');
});

test('max_ejection_time_jitter adds a whole number of milliseconds in [0, jitter] to the ejection time', () => {
  const { detector, clock, log, excluded } = setup({ consecutive5xx: 1, intervalMs: 100, baseEjectionTimeMs: 1_000, maxEjectionTimeJitterMs: 500 }, 10, () => 0.9999);
  detector.record('h0', UNAVAILABLE);
  assert.deepEqual(log, ['eject h0 consecutive_5xx 1500']);
  clock.advance(1_400);
  assert.deepEqual(excluded(), ['h0']);
  clock.advance(100);
  assert.deepEqual(excluded(), []);
});

test('callers that give up are not counted: gRPC CANCELLED and an HTTP attempt ended locally with 499', () => {
  const { detector, log, stats } = setup({ consecutive5xx: 2, consecutiveGatewayFailure: 2, enforcingConsecutiveGatewayFailure: 100 });
  const cancelled: CallOutcome = { kind: 'upstream_error', httpStatus: 200, grpcStatus: 1, latencyMs: 1 };
  const aborted: CallOutcome = { kind: 'local_error', httpStatus: 499, grpcStatus: undefined, latencyMs: 1 };
  for (let i = 0; i < 10; i++) {
    detector.record('h0', cancelled);
    detector.record('h0', aborted);
  }
  assert.deepEqual(log, []);
  assert.equal(stats['outlier_detection.ejections_detected_consecutive_5xx'], 0);
  detector.record('h0', CONNECT_FAILED);
  detector.record('h0', aborted);
  detector.record('h0', CONNECT_FAILED);
  assert.deepEqual(log, ['eject h0 consecutive_gateway_failure 30000'], 'nor do they break a run of real failures');
});
