import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GrpcStatus, grpcStatusFromHttp } from '@xmesh/core';
import type { FaultConfig, Fraction } from '@xmesh/xds';
import { FaultFilter } from './fault-filter.js';

function fault(overrides: Partial<FaultConfig>): FaultConfig {
  return { delay: undefined, abort: undefined, upstreamCluster: undefined, headers: [], downstreamNodes: [], maxActiveFaults: undefined, ...overrides };
}

const request = (headers: Record<string, string> = {}) => ({ authority: 'svc', path: '/p', method: 'POST', headers: new Map(Object.entries(headers)) });

const cases: [string, Fraction, number][] = [
  ['HUNDRED', { numerator: 30, denominator: 100 }, 0.3],
  ['TEN_THOUSAND', { numerator: 1234, denominator: 10_000 }, 0.1234],
  ['MILLION', { numerator: 654_321, denominator: 1_000_000 }, 0.654321],
];

for (const [name, percentage, share] of cases) {
  test(`fault percentages hold within ±2 % over 10 000 calls (${name})`, () => {
    const filter = new FaultFilter(fault({ delay: { kind: 'fixed', delayMs: 5, percentage }, abort: { kind: 'http', httpStatus: 503, percentage } }));
    let delays = 0;
    let aborts = 0;
    for (let i = 0; i < 10_000; i++) {
      if (filter.delayMs(request()) > 0) delays++;
      if (filter.abort(request(), false, 'backend')) aborts++;
    }
    assert.ok(Math.abs(delays / 10_000 - share) <= 0.02, `delays ${delays / 10_000} vs ${share}`);
    assert.ok(Math.abs(aborts / 10_000 - share) <= 0.02, `aborts ${aborts / 10_000} vs ${share}`);
  });
}

test('0 % never and 100 % always fault', () => {
  const never = new FaultFilter(fault({ abort: { kind: 'http', httpStatus: 500, percentage: { numerator: 0, denominator: 100 } } }));
  const always = new FaultFilter(fault({ abort: { kind: 'http', httpStatus: 500, percentage: { numerator: 100, denominator: 100 } } }));
  for (let i = 0; i < 1000; i++) {
    assert.equal(never.abort(request(), false, 'c'), undefined);
    assert.notEqual(always.abort(request(), false, 'c'), undefined);
  }
});

test('aborts carry HTTP or gRPC status as Envoy maps them', () => {
  const all = { numerator: 100, denominator: 100 } as const;
  const http = new FaultFilter(fault({ abort: { kind: 'http', httpStatus: 503, percentage: all } })).abort(request(), true, 'c')!;
  assert.equal(http.code, 'XMESH_FAULT_ABORT');
  assert.equal(http.httpStatus, 503);
  assert.equal(http.grpcStatus, GrpcStatus.UNAVAILABLE);
  const grpc = new FaultFilter(fault({ abort: { kind: 'grpc', grpcStatus: 8, percentage: all } })).abort(request(), true, 'c')!;
  assert.equal(grpc.grpcStatus, GrpcStatus.RESOURCE_EXHAUSTED);
  assert.equal(grpc.httpStatus, 200);
  assert.equal(grpcStatusFromHttp(404), GrpcStatus.UNIMPLEMENTED);
  assert.equal(grpcStatusFromHttp(418), GrpcStatus.UNKNOWN);
});

test('header-controlled delay and abort read the x-envoy-fault-* headers', () => {
  const all = { numerator: 100, denominator: 100 } as const;
  const filter = new FaultFilter(fault({ delay: { kind: 'header', percentage: all }, abort: { kind: 'header', percentage: all } }));
  assert.equal(filter.delayMs(request({ 'x-envoy-fault-delay-request': '250' })), 250);
  assert.equal(filter.delayMs(request()), 0);
  assert.equal(filter.abort(request({ 'x-envoy-fault-abort-request': '429' }), false, 'c')?.httpStatus, 429);
  assert.equal(filter.abort(request({ 'x-envoy-fault-abort-grpc-request': '14' }), true, 'c')?.grpcStatus, 14);
  assert.equal(filter.abort(request({ 'x-envoy-fault-abort-request': '99' }), false, 'c'), undefined);
  assert.equal(filter.abort(request(), false, 'c'), undefined);
});

test('headers, upstream_cluster and downstream_nodes gate the fault', () => {
  const filter = new FaultFilter(fault({
    upstreamCluster: 'backend',
    downstreamNodes: ['frontend'],
    headers: [{ name: 'x-chaos', match: { kind: 'present', present: true }, invertMatch: false, treatMissingHeaderAsEmpty: false }],
  }));
  const node = { 'x-envoy-downstream-service-node': 'frontend' };
  assert.equal(filter.applies(request({ ...node, 'x-chaos': '1' }), 'backend'), true);
  assert.equal(filter.applies(request({ ...node }), 'backend'), false);
  assert.equal(filter.applies(request({ ...node, 'x-chaos': '1' }), 'other'), false);
  assert.equal(filter.applies(request({ 'x-chaos': '1', 'x-envoy-downstream-service-node': 'batch' }), 'backend'), false);
});
