import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MeshError, type CallOutcome } from '@xmesh/core';
import type { RouteDecision, RouteRequest } from '@xmesh/router';
import { chooseMode, resolveModeSettings, withClusterModes, withModeSwitch, type ModeSettings } from './mode.js';
import { PipelineCall } from './pipeline-call.js';
import type { MeshState } from './mesh-state.js';
import { TransportPool } from './transport-pool.js';

class TestCall extends PipelineCall {
  failed: MeshError | undefined;
  constructor(state: MeshState, request: RouteRequest) {
    super(state, request, Infinity);
  }
  fail(error: MeshError): void {
    this.failed = error;
  }
}

/** A state whose router sends `/reviews*` to cluster `reviews` and everything else to `ratings`, counting calls. */
function stateWith(mode: ModeSettings | undefined): MeshState & { routed: number } {
  const state = {
    routed: 0,
    snapshot: {} as MeshState['snapshot'],
    clusters: new Map(),
    clock: { now: () => 0, setTimeout: () => ({}), clearTimeout: () => undefined },
    mode,
    router: {
      route: (request: RouteRequest) => {
        state.routed++;
        if (request.path === '/none') return new MeshError('XMESH_NO_ROUTE', 'no route');
        return { cluster: request.path.startsWith('/reviews') ? 'reviews' : 'ratings' } as RouteDecision;
      },
    },
  };
  return state as MeshState & { routed: number };
}

function request(path: string, headers: Record<string, string> = {}): RouteRequest {
  return { authority: 'svc', path, method: 'POST', headers: new Map(Object.entries(headers)), grpc: true };
}

describe('mode settings', () => {
  test('defaults: embedded, 0 %, 127.0.0.1:15001, nothing can go to the sidecar', () => {
    const s = resolveModeSettings({}, undefined);
    assert.equal(s.mode, 'embedded');
    assert.equal(s.percent, 0);
    assert.equal(s.address, '127.0.0.1:15001');
    assert.equal(s.endpoint.id, '127.0.0.1:15001');
    assert.equal(s.allEmbedded, true);
    assert.ok(Object.isFrozen(s));
  });

  test('XMESH_MODE overrides the configured mode; bad values list every field', () => {
    assert.equal(resolveModeSettings({ mode: 'embedded' }, undefined, 'sidecar').mode, 'sidecar');
    assert.equal(resolveModeSettings({ mode: 'sidecar' }, undefined, '').mode, 'sidecar');
    assert.throws(
      () => resolveModeSettings({ sidecar: { percent: 101, address: 'nope' }, clusters: { a: 'both' as never } }, undefined, 'proxy'),
      (e: MeshError) => e.code === 'XMESH_CONFIG_INVALID' && e.errors.map((f) => f.path).join(',') === 'XMESH_MODE,sidecar.percent,sidecar.address,clusters.a',
    );
  });

  test('a change keeps the fields it does not name', () => {
    const base = resolveModeSettings({ sidecar: { address: '[::1]:9000', percent: 20, sticky: { header: 'X-User' } }, clusters: { reviews: 'sidecar' } }, undefined);
    assert.equal(base.endpoint.id, '[::1]:9000');
    const next = resolveModeSettings({ sidecar: { percent: 50 } }, base);
    assert.equal(next.percent, 50);
    assert.equal(next.address, '[::1]:9000');
    assert.equal(next.stickyHeader, 'x-user');
    assert.deepEqual([...next.clusters], [['reviews', 'sidecar']]);
    assert.deepEqual([...resolveModeSettings({ clusters: {} }, next).clusters], []);
  });
});

describe('choosing a mode per call', () => {
  test('a per-cluster override wins over the mesh mode; the route decision is kept for the embedded pipeline', () => {
    const settings = resolveModeSettings({ mode: 'sidecar', clusters: { ratings: 'embedded' } }, undefined);
    const state = stateWith(settings);
    const ratings = new TestCall(state, request('/ratings'));
    assert.equal(chooseMode(settings, ratings, () => 0), 'embedded');
    assert.equal(ratings.decision?.cluster, 'ratings');
    assert.equal(chooseMode(settings, new TestCall(state, request('/reviews')), () => 0), 'sidecar');
    assert.equal(chooseMode(settings, new TestCall(state, request('/none')), () => 0), 'sidecar');
  });

  test('no overrides: the mode alone decides and nothing is routed', () => {
    const settings = resolveModeSettings({ mode: 'sidecar' }, undefined);
    const state = stateWith(settings);
    assert.equal(chooseMode(settings, new TestCall(state, request('/x')), () => 0.99), 'sidecar');
    assert.equal(state.routed, 0);
  });

  test('a 30 % ramp sends 30 % of calls (±2 %) to the sidecar', () => {
    const settings = resolveModeSettings({ sidecar: { percent: 30 } }, undefined);
    const state = stateWith(settings);
    let toSidecar = 0;
    for (let i = 0; i < 20_000; i++) if (chooseMode(settings, new TestCall(state, request('/x')), Math.random) === 'sidecar') toSidecar++;
    assert.ok(Math.abs(toSidecar / 20_000 - 0.3) <= 0.02, `share ${toSidecar / 20_000}`);
  });

  test('a sticky ramp keeps each key in one mode and splits keys by the percentage', () => {
    const settings = resolveModeSettings({ sidecar: { percent: 50, sticky: { header: 'x-user' } } }, undefined);
    const state = stateWith(settings);
    let sidecarKeys = 0;
    for (let k = 0; k < 4000; k++) {
      const modes = new Set([0.01, 0.5, 0.99].map((r) => chooseMode(settings, new TestCall(state, request('/x', { 'x-user': `user-${k}` })), () => r)));
      assert.equal(modes.size, 1, `user-${k} got both modes`);
      if (modes.has('sidecar')) sidecarKeys++;
    }
    assert.ok(Math.abs(sidecarKeys / 4000 - 0.5) <= 0.03, `share ${sidecarKeys / 4000}`);
    const settings10 = resolveModeSettings({ sidecar: { percent: 10 } }, settings);
    const at50 = new Set<string>();
    for (let k = 0; k < 4000; k++) if (chooseMode(settings, new TestCall(state, request('/x', { 'x-user': `user-${k}` })), Math.random) === 'sidecar') at50.add(`user-${k}`);
    for (let k = 0; k < 4000; k++) {
      if (chooseMode(settings10, new TestCall(state, request('/x', { 'x-user': `user-${k}` })), Math.random) === 'sidecar') assert.ok(at50.has(`user-${k}`), 'ramping down moved a key the other way');
    }
  });
});

describe('withModeSwitch', () => {
  test('sidecar calls skip the embedded pipeline, lease the sidecar endpoint and are labelled; embedded calls are not', () => {
    const pool = new TransportPool();
    const settings = resolveModeSettings({ clusters: { reviews: 'sidecar' }, sidecar: { address: '127.0.0.1:15999' } }, undefined);
    pool.join(settings.endpoint);
    const state = stateWith(settings);
    const seen: string[] = [];
    const invoke = withModeSwitch<TestCall>((c) => seen.push(`embedded ${c.decision?.cluster}`), (c) => seen.push(`sidecar ${c.endpoint?.id} ${c.mode}`), pool);
    const reviews = new TestCall(state, request('/reviews'));
    invoke(reviews);
    invoke(new TestCall(state, request('/ratings')));
    assert.deepEqual(seen, ['sidecar 127.0.0.1:15999 sidecar', 'embedded ratings']);
    assert.equal(pool.get('127.0.0.1:15999')?.leases, 1);
    const done: CallOutcome = { kind: 'success', httpStatus: 200, grpcStatus: 0, latencyMs: 1 };
    reviews.finish(done);
    assert.equal(pool.get('127.0.0.1:15999')?.leases, 0);
  });

  test('all-embedded settings (or none) call the pipeline without routing', () => {
    const pool = new TransportPool();
    const state = stateWith(resolveModeSettings({}, undefined));
    let calls = 0;
    const invoke = withModeSwitch<TestCall>(() => calls++, () => assert.fail('sent to the sidecar'), pool);
    invoke(new TestCall(state, request('/reviews')));
    invoke(new TestCall(stateWith(undefined), request('/reviews')));
    assert.equal(calls, 2);
    assert.equal(state.routed, 0);
  });
});

describe('cluster modes from the config', () => {
  const snapshot = (modes: Record<string, 'embedded' | 'sidecar' | undefined>) =>
    ({ clusters: Object.fromEntries(Object.entries(modes).map(([name, mode]) => [name, { xmesh: mode === undefined ? {} : { mode } }])) }) as unknown as MeshState['snapshot'];

  test('clusters marked in the config join the per-cluster modes; the app\'s own setting wins', () => {
    const settings = resolveModeSettings({ clusters: { ratings: 'embedded' } }, undefined);
    const merged = withClusterModes(settings, snapshot({ reviews: 'sidecar', ratings: 'sidecar', other: undefined }));
    assert.deepEqual(Object.fromEntries(merged.clusters), { ratings: 'embedded', reviews: 'sidecar' });
    assert.equal(merged.allEmbedded, false);
    assert.deepEqual(Object.fromEntries(settings.clusters), { ratings: 'embedded' }, 'the app settings are not changed');
  });

  test('a config without cluster modes leaves the settings as they are', () => {
    const settings = resolveModeSettings({}, undefined);
    assert.equal(withClusterModes(settings, snapshot({ a: undefined })), settings);
    assert.equal(withClusterModes(settings, snapshot({ a: 'embedded' })).allEmbedded, true);
  });
});
