// Calls held for the listener their target names: resumed on the state that brings it, failed when it
// will not come, at the caller's deadline, at the wait limit (fake clock), or when the mesh closes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeshError } from '@xmesh/core';
import type { MeshSnapshot } from '@xmesh/xds';
import { ListenerWaits, MAX_LISTENER_WAIT_MS, type ListenerAvailability } from './listener-wait.js';
import { PipelineCall } from './pipeline-call.js';
import type { MeshState } from './mesh-state.js';
import { FakeClock } from '../../../test/support/fake-clock.js';

class HeldTestCall extends PipelineCall {
  failed: MeshError | undefined = undefined;
  constructor(state: MeshState, listener: string | undefined, deadline = Infinity) {
    super(state, { authority: 'svc', path: '/', method: 'POST', headers: new Map(), grpc: true, listener }, deadline);
  }
  fail(error: MeshError): void {
    this.failed = error;
  }
}

function stateWith(clock: FakeClock, listeners: string[]): MeshState {
  const snapshot = { version: listeners.join(','), listeners: Object.fromEntries(listeners.map((l) => [l, {}])), routeConfigs: {}, clusters: {}, ignored: [] } as unknown as MeshSnapshot;
  return { snapshot, clock, router: { route: () => new MeshError('XMESH_NO_ROUTE', 'unused') }, clusters: new Map() };
}

function setup() {
  const clock = new FakeClock();
  let state: MeshState | MeshError = stateWith(clock, []);
  const availability = new Map<string, ListenerAvailability>();
  const waits = new ListenerWaits({ state: () => state, availability: (l) => availability.get(l) ?? 'pending', clock });
  const passed: HeldTestCall[] = [];
  const invoke = waits.wrap((call: HeldTestCall) => passed.push(call));
  return {
    clock, waits, passed, invoke, availability,
    setState(next: MeshState | MeshError) {
      state = next;
      waits.settle();
    },
  };
}

test('a call naming no listener, or one the state has, goes straight on', () => {
  const { clock, invoke, passed, waits } = setup();
  invoke(new HeldTestCall(stateWith(clock, []), undefined));
  invoke(new HeldTestCall(stateWith(clock, ['l1']), 'l1'));
  assert.equal(passed.length, 2);
  assert.equal(waits.size, 0);
});

test('a held call resumes on the state that brings its listener, reading that state', () => {
  const { clock, invoke, passed, waits, setState } = setup();
  const call = new HeldTestCall(stateWith(clock, []), 'l1');
  invoke(call);
  assert.deepEqual([passed.length, waits.size], [0, 1]);
  setState(stateWith(clock, ['other']));
  assert.equal(passed.length, 0, 'another listener does not release it');
  const withL1 = stateWith(clock, ['l1']);
  setState(withL1);
  assert.deepEqual([passed.length, waits.size], [1, 0]);
  assert.equal(call.state, withL1);
  assert.equal(clock.pendingTimers, 0, 'its wait timer is gone');
});

test('a listener that will not come fails its held calls with the reason; a new call fails at once', () => {
  const { clock, invoke, waits, availability } = setup();
  const call = new HeldTestCall(stateWith(clock, []), 'gone');
  invoke(call);
  const error = new MeshError('XMESH_NO_ROUTE', 'listener "gone" does not exist');
  availability.set('gone', error);
  waits.settle();
  assert.equal(call.failed, error);
  const late = new HeldTestCall(stateWith(clock, []), 'gone');
  invoke(late);
  assert.equal(late.failed, error);
  assert.equal(waits.size, 0);
});

test('the caller\'s deadline ends the wait with XMESH_TIMEOUT; without one the wait limit ends it UNAVAILABLE', () => {
  const { clock, invoke, waits } = setup();
  const withDeadline = new HeldTestCall(stateWith(clock, []), 'slow', 500);
  const without = new HeldTestCall(stateWith(clock, []), 'slow');
  invoke(withDeadline);
  invoke(without);
  clock.advance(499);
  assert.equal(withDeadline.failed, undefined);
  clock.advance(1);
  assert.equal(withDeadline.failed?.code, 'XMESH_TIMEOUT');
  assert.equal(without.failed, undefined);
  clock.advance(MAX_LISTENER_WAIT_MS - 500);
  assert.equal(without.failed?.code, 'XMESH_NO_ROUTE');
  assert.equal(without.failed?.grpcStatus, 14);
  assert.match(without.failed!.message, /did not arrive within 30000 ms/);
  assert.equal(waits.size, 0);
});

test('a cancelled call leaves the wait at once; closing the mesh fails the rest', () => {
  const { clock, invoke, waits } = setup();
  const cancelled = new HeldTestCall(stateWith(clock, []), 'l');
  const closed = new HeldTestCall(stateWith(clock, []), 'l');
  invoke(cancelled);
  invoke(closed);
  cancelled.cancel(new MeshError('XMESH_CANCELLED', 'caller gave up'));
  assert.equal(waits.size, 1);
  const closing = new MeshError('XMESH_CLOSED', 'the mesh is closed');
  waits.closeAll(closing);
  assert.equal(closed.failed, closing);
  assert.equal(cancelled.failed, undefined, 'the caller already has its end');
  assert.equal(clock.pendingTimers, 0);
});
