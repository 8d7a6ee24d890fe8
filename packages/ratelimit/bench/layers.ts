/**
 * Per-call cost of the local rate limiter and the retry layer with nothing tripping, measured
 * interleaved (every scenario once per round, several rounds; the median round is reported).
 * Run: node --conditions=xmesh-source --import tsx packages/ratelimit/bench/layers.ts
 */
import { systemClock, type MeshError } from '@xmesh/core';
import type { Fraction, LocalRateLimitConfig, RouteAction, RateLimit } from '@xmesh/xds';
import type { RouteDecision } from '@xmesh/router';
import { LocalRateLimiter } from '../src/local-rate-limiter.js';
import { compileDescriptors } from '../src/descriptors.js';
import { FilterChain } from '../../filters/src/chain/filter-chain.js';
import { StatStore } from '../../stats/src/stat-store.js';
import { MeshServices } from '../../client/src/mesh-services.js';
import { PipelineCall } from '../../client/src/pipeline-call.js';
import type { MeshState } from '../../client/src/mesh-state.js';
import { retryLayer } from '../../client/src/retry/retry-layer.js';

const ALL: Fraction = { numerator: 100, denominator: 100 };
const ROUNDS = 9;
const ITERATIONS = 200_000;

function rateLimitConfig(descriptors: LocalRateLimitConfig['descriptors'] = []): LocalRateLimitConfig {
  return {
    statPrefix: 'bench', status: 429, tokenBucket: { maxTokens: 1e12, tokensPerFill: 1e12, fillIntervalMs: 1000 },
    filterEnabled: ALL, filterEnforced: ALL, descriptors, stage: 0, requestHeadersToAddWhenNotEnforced: [], responseHeadersToAdd: [],
    enableXRatelimitHeaders: false, alwaysConsumeDefaultTokenBucket: true, localRateLimitPerDownstreamConnection: false, rateLimitedAsResourceExhausted: false,
  };
}

const request = { authority: 'svc', path: '/svc.S/M', method: 'POST', headers: new Map([['x-user', 'ann']]), grpc: true };
const action = {
  clusters: [], totalWeight: 1, timeoutMs: 15_000, idleTimeoutMs: undefined, hashPolicy: [], rateLimits: [], prefixRewrite: undefined,
  hostRewriteLiteral: undefined, maxStreamDurationMs: undefined, grpcTimeoutHeaderMaxMs: undefined, grpcTimeoutHeaderOffsetMs: undefined,
  retryPolicy: {
    retryOn: ['unavailable', '5xx'], numRetries: 2, perTryTimeoutMs: undefined, perTryIdleTimeoutMs: undefined, backOff: { baseIntervalMs: 25, maxIntervalMs: 250 },
    retriableStatusCodes: [], retriableHeaders: [], hostSelectionRetryMaxAttempts: 1, avoidPreviousHosts: false,
  },
} as unknown as RouteAction;

// ---- scenarios -------------------------------------------------------------

const plainLimiter = new LocalRateLimiter(rateLimitConfig(), { clock: systemClock });
const byUser: RateLimit[] = [{ stage: 0, actions: [{ kind: 'request_headers', headerName: 'x-user', descriptorKey: 'user', skipIfAbsent: false }] }];
const buildDescriptors = compileDescriptors(byUser, 0, 'bench');
const descriptorLimiter = new LocalRateLimiter(
  rateLimitConfig([{ entries: [{ key: 'user', value: 'ann' }], tokenBucket: { maxTokens: 1e12, tokensPerFill: 1e12, fillIntervalMs: 1000 } }]),
  { clock: systemClock },
);
const descriptorInput = { request, remoteAddress: undefined, cluster: 'backend' };

const listener = {
  name: 'mesh', address: undefined, statPrefix: 'mesh', routeConfigName: 'rc', rds: false,
  httpFilters: [
    { kind: 'local_ratelimit', name: 'envoy.filters.http.local_ratelimit', config: rateLimitConfig() },
    { kind: 'router', name: 'envoy.filters.http.router' },
  ],
};
const weightedEntry = { name: 'backend', weight: 1, typedPerFilterConfig: {} };
const decision = {
  listener, routeConfig: { name: 'rc', virtualHosts: [] }, cluster: 'backend', weightedEntry,
  virtualHost: { name: 'vh', domains: ['*'], routes: [], retryPolicy: undefined, rateLimits: [], typedPerFilterConfig: {} },
  route: { name: 'r', match: {}, action, typedPerFilterConfig: {} },
} as unknown as RouteDecision;
const chain = new FilterChain({ clock: systemClock, stats: new StatStore() });
const filterCall = { request, decision, cancelled: undefined, onCancel: () => undefined };
let passed = 0;
const onPass = (): void => void passed++;
const onFail = (_c: unknown, _e: MeshError): void => undefined;

class BenchCall extends PipelineCall {
  constructor(state: MeshState) {
    super(state, request, Infinity);
  }
  fail(): void {
    this.retry?.end();
  }
}
const services = new MeshServices({ clock: systemClock, retryAdmission: () => undefined });
const state = { snapshot: {} as never, router: {} as never, clusters: new Map(), clock: systemClock, services } as MeshState;
const OK = { httpStatus: 200, grpcStatus: 0, failure: 'none', headers: undefined } as const;
const terminal = (call: PipelineCall): void => void call.retry?.onAttemptEnd(call, OK, true);
const withRetry = retryLayer(terminal);

const scenarios: Record<string, () => void> = {
  'baseline: new call object': () => {
    const call = new BenchCall(state);
    call.decision = decision;
    terminal(call);
  },
  'local rate limit: default bucket': () => {
    plainLimiter.check([]);
  },
  'local rate limit: descriptor from a header': () => {
    descriptorLimiter.check(buildDescriptors(descriptorInput));
  },
  'filter chain: local_ratelimit filter': () => {
    chain.run(filterCall, onPass, onFail);
  },
  'retry layer: new call + retry/timeout layer': () => {
    const call = new BenchCall(state);
    call.decision = decision;
    withRetry(call);
  },
};

// ---- run -------------------------------------------------------------------

const results = new Map<string, number[]>(Object.keys(scenarios).map((name) => [name, []]));
for (const fn of Object.values(scenarios)) for (let i = 0; i < 20_000; i++) fn();
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, fn] of Object.entries(scenarios)) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < ITERATIONS; i++) fn();
    const ns = Number(process.hrtime.bigint() - start) / ITERATIONS;
    results.get(name)!.push(ns);
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const baseline = median(results.get('baseline: new call object')!);
console.log(`node ${process.version}, ${ROUNDS} interleaved rounds × ${ITERATIONS} calls; median round`);
console.log('| layer | µs per call | µs over the call-object baseline |');
console.log('|---|---:|---:|');
for (const [name, xs] of results) {
  const m = median(xs);
  const over = name.startsWith('retry layer') ? ((m - baseline) / 1000).toFixed(3) : '';
  console.log(`| ${name} | ${(m / 1000).toFixed(3)} | ${over} |`);
}
if (passed === 0) throw new Error('filter chain never passed');
