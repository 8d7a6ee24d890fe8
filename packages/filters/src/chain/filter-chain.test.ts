import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MeshError } from '@xmesh/core';
import { StatStore } from '@xmesh/stats';
import type { FaultConfig, HttpFilter, LocalRateLimitConfig, RateLimit } from '@xmesh/xds';
import { FakeClock } from '../../../../test/support/fake-clock.js';
import { FilterChain, type FilterCall } from './filter-chain.js';
import { decisionOf, type DecisionSpec } from '../test-decision.js';

const ALL = { numerator: 100, denominator: 100 } as const;

function faultConfig(overrides: Partial<FaultConfig>): FaultConfig {
  return { delay: undefined, abort: undefined, upstreamCluster: undefined, headers: [], downstreamNodes: [], maxActiveFaults: undefined, ...overrides };
}

function rateLimitConfig(maxTokens: number, overrides: Partial<LocalRateLimitConfig> = {}): LocalRateLimitConfig {
  return {
    statPrefix: 'rl', status: 429, tokenBucket: { maxTokens, tokensPerFill: maxTokens, fillIntervalMs: 1000 }, filterEnabled: ALL, filterEnforced: ALL,
    descriptors: [], stage: 0, requestHeadersToAddWhenNotEnforced: [], responseHeadersToAdd: [], enableXRatelimitHeaders: false,
    alwaysConsumeDefaultTokenBucket: true, localRateLimitPerDownstreamConnection: false, rateLimitedAsResourceExhausted: false, ...overrides,
  };
}

class Call implements FilterCall {
  cancelled: unknown = undefined;
  hook: (() => void) | undefined;
  result: 'pass' | MeshError | undefined;
  constructor(readonly decision: FilterCall['decision'], readonly request: FilterCall['request'], readonly deadline = Infinity) {}
  onCancel(hook: (() => void) | undefined): void {
    this.hook = hook;
  }
  cancel(): void {
    this.cancelled = true;
    this.hook?.();
  }
}

function setup(spec: DecisionSpec) {
  const clock = new FakeClock();
  const stats = new StatStore();
  const chain = new FilterChain({ clock, stats });
  const decision = decisionOf(spec);
  const run = (headers: Record<string, string> = {}, deadline = Infinity) => {
    const call = new Call(decision, { authority: 'svc', path: '/p', method: 'POST', headers: new Map(Object.entries(headers)), grpc: false }, deadline);
    chain.run(call, (c) => void (c.result = 'pass'), (c, e) => void (c.result = e));
    return call;
  };
  return { clock, stats, chain, run };
}

const faultFilter = (config: FaultConfig): HttpFilter => ({ kind: 'fault', name: 'envoy.filters.http.fault', config });
const rlFilter = (config: LocalRateLimitConfig): HttpFilter => ({ kind: 'local_ratelimit', name: 'envoy.filters.http.local_ratelimit', config });
const router: HttpFilter = { kind: 'router', name: 'envoy.filters.http.router' };

test('a fault delay holds the call on the clock, then the abort is decided; counters count', () => {
  const { clock, stats, run } = setup({
    filters: [faultFilter(faultConfig({ delay: { kind: 'fixed', delayMs: 200, percentage: ALL }, abort: { kind: 'http', httpStatus: 503, percentage: ALL } })), router],
  });
  const call = run();
  assert.equal(call.result, undefined);
  assert.equal(stats.value('http.mesh.fault.active_faults'), 1);
  clock.advance(199);
  assert.equal(call.result, undefined);
  clock.advance(1);
  assert.equal((call.result as MeshError).httpStatus, 503);
  assert.equal(stats.value('http.mesh.fault.delays_injected'), 1);
  assert.equal(stats.value('http.mesh.fault.aborts_injected'), 1);
  assert.equal(stats.value('http.mesh.fault.active_faults'), 0);
});

test('a fault delay longer than the caller\'s deadline ends the call at the deadline (DEADLINE_EXCEEDED), not after the delay', () => {
  const { clock, stats, run } = setup({ filters: [faultFilter(faultConfig({ delay: { kind: 'fixed', delayMs: 10_000, percentage: ALL } })), router] });
  const call = run({}, clock.now() + 300);
  clock.advance(299);
  assert.equal(call.result === undefined, true);
  clock.advance(1);
  const error = call.result as MeshError;
  assert.equal(error.code, 'XMESH_TIMEOUT');
  assert.equal(error.grpcStatus, 4);
  assert.equal(stats.value('http.mesh.fault.delays_injected'), 1);
  assert.equal(stats.value('http.mesh.fault.active_faults'), 0);
  assert.equal(clock.pendingTimers, 0);
  // A deadline after the delay leaves the delay as it is.
  const later = run({}, clock.now() + 20_000);
  clock.advance(10_000);
  assert.equal(later.result, 'pass');
});

test('max_active_faults: delays beyond it overflow and pass undelayed; a cancelled delay frees its slot', () => {
  const { clock, stats, run } = setup({ filters: [faultFilter(faultConfig({ maxActiveFaults: 2, delay: { kind: 'fixed', delayMs: 100, percentage: ALL } })), router] });
  const a = run();
  const b = run();
  const c = run();
  assert.deepEqual([a.result, b.result, c.result], [undefined, undefined, 'pass']);
  assert.equal(stats.value('http.mesh.fault.faults_overflow'), 1);
  a.cancel();
  assert.equal(stats.value('http.mesh.fault.active_faults'), 1);
  assert.equal(run().result, undefined, 'the freed slot is used');
  clock.advance(100);
  assert.equal(a.result, undefined, 'a cancelled call is not resumed');
  assert.equal(b.result, 'pass');
  assert.equal(clock.pendingTimers, 0);
});

test('per-route typed_per_filter_config replaces the listener config; disabled turns it off; weighted cluster wins', () => {
  const listenerFault = faultFilter(faultConfig({ abort: { kind: 'http', httpStatus: 500, percentage: ALL } }));
  const routeFault = { kind: 'fault', config: faultConfig({ abort: { kind: 'http', httpStatus: 418, percentage: ALL } }) } as const;
  assert.equal((setup({ filters: [listenerFault, router] }).run().result as MeshError).httpStatus, 500);
  assert.equal((setup({ filters: [listenerFault, router], routeOverrides: { 'envoy.filters.http.fault': routeFault } }).run().result as MeshError).httpStatus, 418);
  assert.equal(setup({ filters: [listenerFault, router], vhostOverrides: { 'envoy.filters.http.fault': { kind: 'disabled' } } }).run().result, 'pass');
  assert.equal(
    (setup({ filters: [listenerFault, router], routeOverrides: { 'envoy.filters.http.fault': { kind: 'disabled' } }, clusterOverrides: { 'envoy.filters.http.fault': routeFault } }).run().result as MeshError).httpStatus,
    418,
  );
});

test('local rate limit in the chain: per-route bucket, descriptors per header value, stats under the stat_prefix', () => {
  const byUser: RateLimit[] = [{ stage: 0, actions: [{ kind: 'request_headers', headerName: 'x-user', descriptorKey: 'user', skipIfAbsent: false }] }];
  const routeConfig = rateLimitConfig(100, {
    statPrefix: 'route_rl',
    descriptors: [{ entries: [{ key: 'user', value: '' }], tokenBucket: { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 1000 } }],
  });
  const { clock, stats, run } = setup({
    filters: [rlFilter(rateLimitConfig(1000)), router],
    routeOverrides: { 'envoy.filters.http.local_ratelimit': { kind: 'local_ratelimit', config: routeConfig } },
    rateLimits: byUser,
  });
  assert.equal(run({ 'x-user': 'ann' }).result, 'pass');
  const limited = run({ 'x-user': 'ann' }).result as MeshError;
  assert.equal(limited.code, 'XMESH_RATE_LIMITED');
  assert.equal(limited.httpStatus, 429);
  assert.equal(run({ 'x-user': 'bob' }).result, 'pass');
  assert.equal(stats.value('route_rl.http_local_rate_limit.ok'), 2);
  assert.equal(stats.value('route_rl.http_local_rate_limit.rate_limited'), 1);
  assert.equal(stats.value('route_rl.http_local_rate_limit.enforced'), 1);
  clock.advance(1000);
  assert.equal(run({ 'x-user': 'ann' }).result, 'pass');
});

test('filters run in chain order: a rate limit before a fault rejects first', () => {
  const { run } = setup({ filters: [rlFilter(rateLimitConfig(1)), faultFilter(faultConfig({ abort: { kind: 'http', httpStatus: 500, percentage: ALL } })), router] });
  assert.equal((run().result as MeshError).httpStatus, 500);
  assert.equal((run().result as MeshError).httpStatus, 429);
});
