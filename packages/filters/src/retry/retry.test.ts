import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RetryOn, RetryPolicy, RouteAction } from '@xmesh/xds';
import { compileRetryOn } from './retry-classifier.js';
import { retryBackoffCeilingMs, retryBackoffMs } from './backoff.js';
import { attemptDeadline, overallDeadline } from './call-timeouts.js';
import type { AttemptResult } from './attempt-result.js';

function policy(retryOn: RetryOn[], overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  return {
    retryOn, numRetries: 1, perTryTimeoutMs: undefined, perTryIdleTimeoutMs: undefined, backOff: { baseIntervalMs: 25, maxIntervalMs: 250 },
    retriableStatusCodes: [], retriableHeaders: [], hostSelectionRetryMaxAttempts: 1, avoidPreviousHosts: false, ...overrides,
  };
}

const http = (status: number, headers?: Record<string, string>): AttemptResult => ({ httpStatus: status, grpcStatus: undefined, failure: 'none', headers: headers && new Map(Object.entries(headers)) });
const grpc = (code: number): AttemptResult => ({ httpStatus: 200, grpcStatus: code, failure: 'none', headers: undefined });
const failed = (failure: AttemptResult['failure']): AttemptResult => ({ httpStatus: 0, grpcStatus: undefined, failure, headers: undefined });

test('retry_on HTTP conditions', () => {
  const fiveXx = compileRetryOn(policy(['5xx']));
  assert.deepEqual([500, 501, 503, 404, 200].map((s) => fiveXx(http(s))), [true, true, true, false, false]);
  assert.deepEqual(['connect', 'reset', 'refused', 'per_try_timeout'].map((f) => fiveXx(failed(f as never))), [true, true, true, true]);
  const gateway = compileRetryOn(policy(['gateway-error']));
  assert.deepEqual([500, 502, 503, 504].map((s) => gateway(http(s))), [false, true, true, true]);
  const connect = compileRetryOn(policy(['connect-failure']));
  assert.deepEqual([connect(failed('connect')), connect(failed('reset')), connect(http(503))], [true, false, false]);
  const reset = compileRetryOn(policy(['reset']));
  assert.deepEqual([reset(failed('reset')), reset(failed('per_try_timeout')), reset(http(500))], [true, false, false]);
  const refused = compileRetryOn(policy(['refused-stream']));
  assert.deepEqual([refused(failed('refused')), refused(failed('reset'))], [true, false]);
  assert.deepEqual([409, 404].map((s) => compileRetryOn(policy(['retriable-4xx']))(http(s))), [true, false]);
  const codes = compileRetryOn(policy(['retriable-status-codes'], { retriableStatusCodes: [418] }));
  assert.deepEqual([codes(http(418)), codes(http(500))], [true, false]);
  const limited = compileRetryOn(policy(['envoy-ratelimited']));
  assert.deepEqual([limited(http(429, { 'x-envoy-ratelimited': 'true' })), limited(http(429))], [true, false]);
  const headers = compileRetryOn(policy(['retriable-headers'], {
    retriableHeaders: [{ name: 'x-retry-me', match: { kind: 'present', present: true }, invertMatch: false, treatMissingHeaderAsEmpty: false }],
  }));
  assert.deepEqual([headers(http(200, { 'x-retry-me': '1' })), headers(http(500))], [true, false]);
});

test('retry_on gRPC conditions read grpc-status', () => {
  const classify = compileRetryOn(policy(['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable']));
  assert.deepEqual([1, 4, 13, 8, 14, 2, 0, 5].map((c) => classify(grpc(c))), [true, true, true, true, true, false, false, false]);
  const onlyUnavailable = compileRetryOn(policy(['unavailable']));
  assert.deepEqual([onlyUnavailable(grpc(14)), onlyUnavailable(grpc(13))], [true, false]);
});

test('back-off stays within Envoy full-jitter bounds: [0, (2^N − 1) × 25 ms) capped at 250 ms', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 10].map((n) => retryBackoffCeilingMs(n, 25, 250)), [25, 75, 175, 250, 250, 250]);
  for (let n = 1; n <= 6; n++) {
    const ceiling = retryBackoffCeilingMs(n, 25, 250);
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (let i = 0; i < 5000; i++) {
      const d = retryBackoffMs(n, 25, 250);
      min = Math.min(min, d);
      max = Math.max(max, d);
      sum += d;
    }
    assert.ok(min >= 0 && max < ceiling, `retry ${n}: [${min}, ${max}] within [0, ${ceiling})`);
    assert.ok(Math.abs(sum / 5000 - (ceiling - 1) / 2) < ceiling * 0.05, `retry ${n}: mean ${sum / 5000} is uniform's`);
  }
  assert.equal(retryBackoffMs(3, 25, 250, () => 0.999999), 174);
  assert.equal(retryBackoffMs(3, 25, 250, () => 0), 0);
});

const action = (overrides: Partial<RouteAction>): RouteAction => ({ timeoutMs: 15_000, maxStreamDurationMs: undefined, grpcTimeoutHeaderMaxMs: undefined, grpcTimeoutHeaderOffsetMs: undefined, ...overrides }) as RouteAction;

test('call timeouts: route timeout, 0 = none, caller deadline wins when shorter, grpc_timeout_header_max, max_stream_duration', () => {
  assert.equal(overallDeadline(action({}), 1000, Infinity, false), 16_000);
  assert.equal(overallDeadline(action({ timeoutMs: 0 }), 1000, Infinity, false), Infinity);
  assert.equal(overallDeadline(action({}), 1000, 1500, true), 1500, 'caller deadline shorter');
  assert.equal(overallDeadline(action({ timeoutMs: 100 }), 1000, 5000, true), 1100, 'route timeout shorter');
  assert.equal(overallDeadline(action({ timeoutMs: 100, grpcTimeoutHeaderMaxMs: 0 }), 1000, 5000, true), 5000, 'grpc-timeout replaces the route timeout');
  assert.equal(overallDeadline(action({ timeoutMs: 100, grpcTimeoutHeaderMaxMs: 2000 }), 1000, 5000, true), 3000, 'capped at the header max');
  assert.equal(overallDeadline(action({ grpcTimeoutHeaderMaxMs: 0, grpcTimeoutHeaderOffsetMs: 50 }), 1000, 5000, true), 4950);
  assert.equal(overallDeadline(action({ maxStreamDurationMs: 300 }), 1000, Infinity, true), 1300);
  assert.equal(attemptDeadline(200, 1000, 16_000), 1200);
  assert.equal(attemptDeadline(200, 1000, 1100), 1100);
  assert.equal(attemptDeadline(undefined, 1000, 1100), 1100);
});
