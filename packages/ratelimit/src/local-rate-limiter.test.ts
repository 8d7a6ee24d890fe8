import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GrpcStatus } from '@xmesh/core';
import type { Fraction, LocalRateLimitConfig, RateLimit } from '@xmesh/xds';
import { FakeClock } from '../../../test/support/fake-clock.js';
import { compileDescriptors, type DescriptorInput } from './descriptors.js';
import { LocalRateLimiter, type LocalRateLimitStats } from './local-rate-limiter.js';

const ALL: Fraction = { numerator: 100, denominator: 100 };
const NONE: Fraction = { numerator: 0, denominator: 100 };

function config(overrides: Partial<LocalRateLimitConfig>): LocalRateLimitConfig {
  return {
    statPrefix: 'test',
    status: 429,
    tokenBucket: { maxTokens: 2, tokensPerFill: 2, fillIntervalMs: 1000 },
    filterEnabled: ALL,
    filterEnforced: ALL,
    descriptors: [],
    stage: 0,
    requestHeadersToAddWhenNotEnforced: [],
    responseHeadersToAdd: [],
    enableXRatelimitHeaders: false,
    alwaysConsumeDefaultTokenBucket: true,
    localRateLimitPerDownstreamConnection: false,
    rateLimitedAsResourceExhausted: false,
    ...overrides,
  };
}

function countingStats(): LocalRateLimitStats & { counts: Record<string, number> } {
  const counts: Record<string, number> = { enabled: 0, enforced: 0, ok: 0, rateLimited: 0 };
  const counter = (name: string) => ({ inc: () => void (counts[name] = (counts[name] ?? 0) + 1) });
  return { counts, enabled: counter('enabled'), enforced: counter('enforced'), ok: counter('ok'), rateLimited: counter('rateLimited') };
}

function input(headers: Record<string, string>, remoteAddress?: string): DescriptorInput {
  return {
    request: { authority: 'svc', path: '/p', method: 'POST', headers: new Map(Object.entries(headers)) },
    remoteAddress,
    cluster: 'backend',
  };
}

test('filter_enabled and filter_enforced default to 0 %: nothing is checked (the Envoy trap)', () => {
  const clock = new FakeClock();
  const stats = countingStats();
  const limiter = new LocalRateLimiter(config({ filterEnabled: NONE, filterEnforced: NONE }), { clock, stats });
  for (let i = 0; i < 10; i++) assert.equal(limiter.check([]), 'disabled');
  assert.deepEqual(stats.counts, { enabled: 0, enforced: 0, ok: 0, rateLimited: 0 });
});

test('enabled but not enforced is shadow mode: counted, never rejected', () => {
  const clock = new FakeClock();
  const stats = countingStats();
  const limiter = new LocalRateLimiter(config({ filterEnforced: NONE }), { clock, stats });
  assert.deepEqual([limiter.check([]), limiter.check([]), limiter.check([]), limiter.check([])], ['ok', 'ok', 'shadow_limited', 'shadow_limited']);
  assert.deepEqual(stats.counts, { enabled: 4, enforced: 0, ok: 2, rateLimited: 2 });
});

test('enforced: rejects past the bucket and refills on the next interval', () => {
  const clock = new FakeClock();
  const stats = countingStats();
  const limiter = new LocalRateLimiter(config({}), { clock, stats });
  assert.deepEqual([limiter.check([]), limiter.check([]), limiter.check([])], ['ok', 'ok', 'limited']);
  clock.advance(1000);
  assert.equal(limiter.check([]), 'ok');
  assert.deepEqual(stats.counts, { enabled: 4, enforced: 1, ok: 3, rateLimited: 1 });
});

test('filter_enabled fraction with a TEN_THOUSAND denominator enables about that share of calls', () => {
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const limiter = new LocalRateLimiter(
    config({ tokenBucket: { maxTokens: 1e9, tokensPerFill: 1, fillIntervalMs: 1000 }, filterEnabled: { numerator: 2500, denominator: 10_000 } }),
    { clock: new FakeClock(), random },
  );
  let enabled = 0;
  for (let i = 0; i < 10_000; i++) if (limiter.check([]) === 'ok') enabled++;
  assert.ok(Math.abs(enabled / 10_000 - 0.25) <= 0.02, `enabled share ${enabled / 10_000}`);
});

test('rejection: status as configured; gRPC UNAVAILABLE, or RESOURCE_EXHAUSTED when asked', () => {
  const clock = new FakeClock();
  const plain = new LocalRateLimiter(config({ status: 503 }), { clock }).rejection('backend');
  assert.equal(plain.code, 'XMESH_RATE_LIMITED');
  assert.equal(plain.httpStatus, 503);
  assert.equal(plain.grpcStatus, GrpcStatus.UNAVAILABLE);
  assert.equal(plain.cluster, 'backend');
  const exhausted = new LocalRateLimiter(config({ rateLimitedAsResourceExhausted: true }), { clock }).rejection(undefined);
  assert.equal(exhausted.httpStatus, 429);
  assert.equal(exhausted.grpcStatus, GrpcStatus.RESOURCE_EXHAUSTED);
});

const byClient: RateLimit[] = [{ stage: 0, actions: [{ kind: 'request_headers', headerName: 'x-client', descriptorKey: 'client', skipIfAbsent: false }] }];

test('descriptors limit per header value independently; a static descriptor has its own bucket', () => {
  const clock = new FakeClock();
  const limiter = new LocalRateLimiter(
    config({
      tokenBucket: { maxTokens: 1000, tokensPerFill: 1000, fillIntervalMs: 1000 },
      descriptors: [
        { entries: [{ key: 'client', value: 'vip' }], tokenBucket: { maxTokens: 5, tokensPerFill: 5, fillIntervalMs: 1000 } },
        { entries: [{ key: 'client', value: '' }], tokenBucket: { maxTokens: 2, tokensPerFill: 2, fillIntervalMs: 1000 } },
      ],
    }),
    { clock },
  );
  const build = compileDescriptors(byClient, 0, 'rate_limits');
  const run = (client: string, n: number) => Array.from({ length: n }, () => limiter.check(build(input({ 'x-client': client }))));
  assert.deepEqual(run('a', 3), ['ok', 'ok', 'limited']);
  assert.deepEqual(run('b', 3), ['ok', 'ok', 'limited'], 'b has its own bucket');
  assert.deepEqual(run('vip', 6), ['ok', 'ok', 'ok', 'ok', 'ok', 'limited']);
  assert.deepEqual(run('a', 1), ['limited'], 'a is still empty');
  // No header: no descriptor, so only the default bucket applies.
  assert.equal(limiter.check(build(input({}))), 'ok');
  clock.advance(1000);
  assert.deepEqual(run('a', 1), ['ok']);
});

test('always_consume_default_token_bucket=false spares the default bucket when a descriptor matched', () => {
  const clock = new FakeClock();
  const make = (always: boolean) =>
    new LocalRateLimiter(
      config({
        alwaysConsumeDefaultTokenBucket: always,
        tokenBucket: { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 1000 },
        descriptors: [{ entries: [{ key: 'client', value: '' }], tokenBucket: { maxTokens: 10, tokensPerFill: 10, fillIntervalMs: 1000 } }],
      }),
      { clock },
    );
  const build = compileDescriptors(byClient, 0, 'rate_limits');
  const d = build(input({ 'x-client': 'a' }));
  const spare = make(false);
  assert.deepEqual([spare.check(d), spare.check(d), spare.check(d)], ['ok', 'ok', 'ok']);
  const always = make(true);
  assert.deepEqual([always.check(d), always.check(d)], ['ok', 'limited']);
});

test('actions: remote_address, generic_key, header_value_match, destination_cluster, skip_if_absent, stage', () => {
  const build = compileDescriptors(
    [
      { stage: 0, actions: [{ kind: 'remote_address' }, { kind: 'generic_key', descriptorKey: '', descriptorValue: 'g' }] },
      {
        stage: 0,
        actions: [
          { kind: 'header_value_match', descriptorKey: '', descriptorValue: 'beta', expectMatch: true, headers: [{ name: 'x-beta', match: { kind: 'present', present: true }, invertMatch: false, treatMissingHeaderAsEmpty: false }] },
          { kind: 'request_headers', headerName: 'x-opt', descriptorKey: 'opt', skipIfAbsent: true },
          { kind: 'destination_cluster' },
        ],
      },
      { stage: 1, actions: [{ kind: 'generic_key', descriptorKey: 'k', descriptorValue: 'other-stage' }] },
    ],
    0,
    'rate_limits',
  );
  assert.deepEqual(build(input({ 'x-beta': '1' }, '10.0.0.1')), [
    [{ key: 'remote_address', value: '10.0.0.1' }, { key: 'generic_key', value: 'g' }],
    [{ key: 'header_match', value: 'beta' }, { key: 'destination_cluster', value: 'backend' }],
  ]);
  assert.deepEqual(build(input({ 'x-opt': 'o' })), [], 'no remote address and no x-beta: both descriptors dropped');
  assert.equal(build(input({})), build(input({})), 'the empty result is shared (no allocation)');
});

test('x-ratelimit-* headers report the deciding bucket when enabled', () => {
  const clock = new FakeClock();
  const limiter = new LocalRateLimiter(config({ enableXRatelimitHeaders: true, tokenBucket: { maxTokens: 3, tokensPerFill: 3, fillIntervalMs: 2500 } }), { clock });
  limiter.check([]);
  clock.advance(400);
  assert.deepEqual(limiter.xRateLimitHeaders(), { 'x-ratelimit-limit': '3', 'x-ratelimit-remaining': '2', 'x-ratelimit-reset': '3' });
  const off = new LocalRateLimiter(config({}), { clock });
  off.check([]);
  assert.equal(off.xRateLimitHeaders(), undefined);
});
