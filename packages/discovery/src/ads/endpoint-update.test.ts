import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnapshotOrThrow, TypeUrl } from '@xmesh/xds';
import { applyEndpointUpdate } from './endpoint-update.js';
import type { HeldResource } from './watch-state.js';
import { echoResources, loadAssignment } from '../../../../test/xds/echo-resources.js';

const base = echoResources({ endpoints: { a: [1001], b: [1002] }, split: { a: 70, b: 30 } });
const clusters = new Map<string, HeldResource>(
  base.filter((r) => r['@type'] === TypeUrl.Cluster).map((r) => [r['name'] as string, { json: r, version: '1' }]),
);
const set = { snapshot: buildSnapshotOrThrow(base, { version: 'v1' }), resources: base };

describe('endpoint-only updates', () => {
  it('give the same clusters as a whole rebuild, touching only the changed one', () => {
    const newA = loadAssignment('a', [2001, 2002]);
    const result = applyEndpointUpdate(set, clusters, new Map([['a', newA]]), 'v2');
    assert.ok(result.ok);
    const whole = buildSnapshotOrThrow(base.map((r) => (r['cluster_name'] === 'a' ? newA : r)), { version: 'v2' });
    assert.deepEqual(result.set.snapshot.clusters, whole.clusters);
    assert.equal(result.set.snapshot.version, 'v2');
    assert.equal(result.set.snapshot.clusters['b'], set.snapshot.clusters['b'], 'the unchanged cluster is the same object');
    assert.equal(result.set.snapshot.routeConfigs, set.snapshot.routeConfigs);
    assert.ok(Object.isFrozen(result.set.snapshot) && Object.isFrozen(result.set.snapshot.clusters));
    assert.equal(result.set.resources.find((r) => r['cluster_name'] === 'a'), newA);
  });

  it('reject an invalid assignment with its errors, named by resource', () => {
    const bad = { ...loadAssignment('a', [2001]), endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 70000 } } } }] }] };
    const result = applyEndpointUpdate(set, clusters, new Map([['a', bad]]), 'v2');
    assert.equal(result.ok, false);
    assert.ok(!result.ok && result.errors.length > 0);
    assert.ok(!result.ok && result.errors.every((e) => e.path.startsWith('ClusterLoadAssignment "a".endpoints[0]')), JSON.stringify(!result.ok && result.errors));
  });
});
