// hedge_on_per_try_timeout in the retry controller, on a fake clock, as Envoy's router does it
// (onSoftPerTryTimeout, onUpstreamHeaders, onUpstreamReset in source/common/router/router.cc): the
// timed-out attempt keeps running, a retry races it, the first response taken wins and the others are
// reset; a failure while another attempt may still answer is dropped; the route timeout ends them all.
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
import type { RoutePolicy } from './route-policy.js';

const OK: AttemptResult = { httpStatus: 200, grpcStatus: undefined, failure: 'none', headers: undefined };
const BAD_GATEWAY: AttemptResult = { httpStatus: 503, grpcStatus: undefined, failure: 'none', headers: undefined };
const RESET: AttemptResult = { httpStatus: 503, grpcStatus: undefined, failure: 'reset', headers: undefined };

class RacingCall extends PipelineCall {
  failed: MeshError | undefined;
  aborted: MeshError | undefined;
  constructor(state: MeshState, private readonly canRace: boolean) {
    super(state, { authority: 'svc', path: '/p', method: 'GET', headers: new Map(), grpc: false }, Infinity);
  }
  override get hedgeable(): boolean {
    return this.canRace;
  }
  fail(error: MeshError): void {
    this.failed = error;
    this.retry?.end();
  }
  override nextAttempt(): RacingCall {
    return new RacingCall(this.state, this.canRace);
  }
  override abortAttempt(error: MeshError): void {
    this.aborted = error;
  }
}

interface Options {
  retryOn?: RetryOn[];
  numRetries?: number;
  hedge?: boolean;
  hedgeable?: boolean;
  admit?: boolean;
}

/** Route timeout 1 s, per-try timeout 100 ms, back-off 0 ms (random 0) unless `admit` is false (no retry slot). */
function harness(options: Options = {}) {
  const clock = new FakeClock(0);
  const admit = options.admit ?? true;
  const admission = { tryAcquireRetry: () => admit, releaseRetry: () => {} };
  const services = new MeshServices({ clock, random: () => 0, retryAdmission: () => admission });
  const hedge = options.hedge ?? true;
  const policies = services.policies;
  const of = policies.of.bind(policies);
  // The route's compiled policy with hedge_on_per_try_timeout, as the route would carry it.
  policies.of = (action: RouteAction): RoutePolicy => ({ ...of(action), hedgeOnPerTryTimeout: hedge });
  const state = { snapshot: {} as never, router: {} as never, clusters: new Map(), clock, services } as MeshState;
  const action = {
    timeoutMs: 1000, maxStreamDurationMs: undefined, grpcTimeoutHeaderMaxMs: undefined, grpcTimeoutHeaderOffsetMs: undefined,
    retryPolicy: {
      retryOn: options.retryOn ?? ['5xx'], numRetries: options.numRetries ?? 1, perTryTimeoutMs: 100, perTryIdleTimeoutMs: undefined,
      backOff: { baseIntervalMs: 25, maxIntervalMs: 250 },
      retriableStatusCodes: [], retriableHeaders: [], hostSelectionRetryMaxAttempts: 1, avoidPreviousHosts: false,
    },
  } as unknown as RouteAction;
  const starts: RacingCall[] = [];
  const invoke = retryLayer((attempt: RacingCall) => void starts.push(attempt));
  const call = new RacingCall(state, options.hedgeable ?? true);
  call.decision = { cluster: 'backend', route: { name: 'r', action }, virtualHost: { name: 'vh' } } as unknown as RouteDecision;
  invoke(call);
  const stat = (name: string) => services.stats.value(`cluster.backend.${name}`);
  return { clock, services, starts, stat };
}

test('hedging: the per-try timeout leaves the attempt running and races a retry; the first response wins, the other is reset', () => {
  const { clock, services, starts, stat } = harness();
  clock.advance(100);
  clock.advance(0);
  assert.equal(starts.length, 2, 'a retry started beside the first attempt');
  assert.equal(starts[0]!.aborted, undefined, 'the timed-out attempt was not reset');
  assert.equal(stat('upstream_rq_per_try_timeout'), 0, 'Envoy counts no per-try timeout for a hedged attempt');
  assert.equal(stat('upstream_rq_retry'), 1);
  const [first, second] = starts as [RacingCall, RacingCall];
  // The retry answers first: its response is taken, the first attempt is reset.
  assert.equal(second.retry!.retryOnResponse(second, OK), false, 'the response goes to the caller');
  assert.equal(first.aborted?.code, 'XMESH_CANCELLED');
  assert.equal(first.retry!.onAttemptEnd(first, RESET, false), true, 'the reset loser\'s end is dropped');
  assert.equal(second.retry!.onAttemptEnd(second, OK, true), false, 'the winner\'s end is the call\'s');
  assert.equal(stat('upstream_rq_retry_success'), 1);
  assert.equal(services.deadlines.size, 0);
  assert.equal(clock.pendingTimers, services.deadlines.timerArmed ? 1 : 0, 'every timer cleared');
});

test('hedging: the timed-out attempt may still win; the retry racing it is reset', () => {
  const { clock, starts } = harness();
  clock.advance(100);
  clock.advance(0);
  const [first, second] = starts as [RacingCall, RacingCall];
  assert.equal(first.retry!.retryOnResponse(first, OK), false, 'the slow attempt answered first: taken');
  assert.equal(second.aborted?.code, 'XMESH_CANCELLED');
  assert.equal(second.retry!.onAttemptEnd(second, RESET, false), true);
  // Its own per-try timer is gone and no later timer starts a third attempt.
  clock.advance(500);
  assert.equal(starts.length, 2);
  assert.equal(first.retry!.onAttemptEnd(first, OK, true), false);
});

test('hedging: a failure while another attempt is running is dropped; the call ends with the other\'s answer', () => {
  const { clock, starts } = harness({ numRetries: 3 });
  clock.advance(100);
  clock.advance(0);
  const [first, second] = starts as [RacingCall, RacingCall];
  // The raced attempt answers 503 (retry_on would retry it, but it was raced already): dropped.
  assert.equal(first.retry!.retryOnResponse(first, BAD_GATEWAY), true);
  assert.equal(first.retry!.onAttemptEnd(first, BAD_GATEWAY, false), true);
  assert.equal(second.aborted, undefined);
  assert.equal(second.retry!.retryOnResponse(second, OK), false);
  assert.equal(second.retry!.onAttemptEnd(second, OK, true), false);
  assert.equal(starts.length, 2);
});

test('hedging: when the newest attempt is reset, the call goes on with the raced one, which is not retried again', () => {
  const { clock, starts } = harness({ numRetries: 3 });
  clock.advance(100);
  clock.advance(0);
  const [first, second] = starts as [RacingCall, RacingCall];
  // The retry's connection is reset before headers: with an attempt still running, nothing is answered yet.
  // (It could be retried — it was not raced — and is: a third attempt races the first.)
  assert.equal(second.retry!.onAttemptEnd(second, RESET, false), true);
  clock.advance(0);
  assert.equal(starts.length, 3);
  const third = starts[2]!;
  assert.equal(third.retry!.onAttemptEnd(third, RESET, false), true, 'retried once more (retries left)');
  clock.advance(0);
  const fourth = starts[3]!;
  assert.equal(fourth.retry!.onAttemptEnd(fourth, RESET, false), true, 'num_retries reached: dropped, the first attempt still runs');
  clock.advance(1000);
  assert.equal(starts.length, 4);
  assert.equal(first.aborted?.code, 'XMESH_TIMEOUT', 'the route timeout ends the attempt left');
  assert.equal(first.retry!.onAttemptEnd(first, RESET, false), false, 'its end is the call\'s');
  assert.equal(first.retry!.timeoutError?.code, 'XMESH_TIMEOUT');
});

test('hedging: retries exhausted, the route timeout resets every attempt and the call ends once with the timeout', () => {
  const { clock, starts, stat, services } = harness({ numRetries: 1 });
  clock.advance(100);
  clock.advance(0);
  clock.advance(100);
  assert.equal(starts.length, 2, 'no retries left: the second per-try timeout starts nothing');
  const [first, second] = starts as [RacingCall, RacingCall];
  assert.equal(first.aborted, undefined);
  assert.equal(second.aborted, undefined, 'a hedged per-try timeout never resets the attempt');
  clock.advance(800);
  assert.equal(first.aborted?.code, 'XMESH_TIMEOUT');
  assert.equal(second.aborted?.code, 'XMESH_TIMEOUT');
  assert.equal(stat('upstream_rq_timeout'), 1);
  const ends = [first.retry!.onAttemptEnd(first, RESET, false), second.retry!.onAttemptEnd(second, RESET, false)];
  assert.deepEqual(ends, [true, false], 'exactly one end reaches the caller');
  assert.equal(services.deadlines.size, 0);
});

test('hedging races a retry whatever retry_on names (Envoy\'s shouldHedgeRetryPerTryTimeout), not past a refused retry slot', () => {
  const named = harness({ retryOn: ['retriable-4xx'] });
  named.clock.advance(100);
  named.clock.advance(0);
  assert.equal(named.starts.length, 2);
  const refused = harness({ admit: false });
  refused.clock.advance(100);
  refused.clock.advance(0);
  assert.equal(refused.starts.length, 1, 'the retry circuit breaker refused the hedge');
  assert.equal(refused.starts[0]!.aborted, undefined, 'the attempt runs on');
  assert.equal(refused.stat('upstream_rq_retry_overflow'), 1);
});

test('a response taken before the per-try timeout: the timer neither races nor resets it', () => {
  const { clock, starts } = harness();
  const first = starts[0]!;
  assert.equal(first.retry!.retryOnResponse(first, OK), false);
  clock.advance(200);
  assert.equal(starts.length, 1);
  assert.equal(first.aborted, undefined);
});

test('a winner while the racing retry waits its back-off: the retry never starts', () => {
  const { clock, starts } = harness({ numRetries: 3 });
  clock.advance(100);
  clock.advance(0);
  const [first, second] = starts as [RacingCall, RacingCall];
  // The retry fails at once and is retried after a back-off (random 0: 0 ms, on the next timer turn).
  assert.equal(second.retry!.onAttemptEnd(second, RESET, false), true);
  assert.equal(first.retry!.retryOnResponse(first, OK), false, 'the first attempt answers during the back-off');
  clock.advance(100);
  assert.equal(starts.length, 2, 'the waiting retry never started');
  assert.equal(first.retry!.onAttemptEnd(first, OK, true), false);
});

test('without hedging, or when the front end cannot race attempts, the per-try timeout resets the attempt before the retry (as before)', () => {
  for (const options of [{ hedge: false }, { hedgeable: false }]) {
    const { clock, starts, stat } = harness(options);
    clock.advance(100);
    const first = starts[0]!;
    assert.equal(first.aborted?.code, 'XMESH_TIMEOUT', JSON.stringify(options));
    assert.equal(stat('upstream_rq_per_try_timeout'), 1);
    assert.equal(starts.length, 1, 'nothing starts before the attempt ended');
    assert.equal(first.retry!.onAttemptEnd(first, RESET, false), true);
    clock.advance(0);
    assert.equal(starts.length, 2);
  }
});

test('hedging: response headers go to the caller from the first attempt reporting them (responseStarts); a later one is dropped', () => {
  const { clock, starts } = harness();
  clock.advance(100);
  clock.advance(0);
  const [first, second] = starts as [RacingCall, RacingCall];
  assert.equal(first.retry!.responseStarts(first), true);
  assert.equal(second.aborted?.code, 'XMESH_CANCELLED');
  assert.equal(second.retry!.responseStarts(second), false, 'the loser\'s headers never reach the caller');
  assert.equal(second.retry!.onAttemptEnd(second, OK, false), true);
  assert.equal(first.retry!.onAttemptEnd(first, OK, true), false);
});

test('hedging: an attempt ending with a response retry_on does not retry (trailers-only) wins; the other is reset', () => {
  const { clock, starts } = harness();
  clock.advance(100);
  clock.advance(0);
  const [first, second] = starts as [RacingCall, RacingCall];
  const notFound: AttemptResult = { httpStatus: 404, grpcStatus: undefined, failure: 'none', headers: undefined };
  assert.equal(second.retry!.onAttemptEnd(second, notFound, false), false, 'a 404 is the call\'s answer');
  assert.equal(first.aborted?.code, 'XMESH_CANCELLED');
  assert.equal(first.retry!.onAttemptEnd(first, RESET, false), true);
});

test('hedging: the caller\'s cancel ends the call and resets the raced attempt', () => {
  const { clock, starts } = harness();
  clock.advance(100);
  clock.advance(0);
  const [first, second] = starts as [RacingCall, RacingCall];
  second.cancel({ code: 'XMESH_CANCELLED' } as MeshError);
  assert.equal(second.retry!.onAttemptEnd(second, RESET, false), false, 'the cancel ends the call');
  assert.equal(first.aborted?.code, 'XMESH_CANCELLED');
  assert.equal(first.retry!.onAttemptEnd(first, RESET, false), true);
});
