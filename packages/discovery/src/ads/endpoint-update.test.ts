import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnapshotOrThrow, TypeUrl, validateLoadAssignment } from '@xmesh/xds';
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
    const result = applyEndpointUpdate(set, clusters, new Map([['a', { json: newA, version: '2' }]]), 'v2');
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
    const result = applyEndpointUpdate(set, clusters, new Map([['a', { json: bad, version: '2' }]]), 'v2');
    assert.equal(result.ok, false);
    assert.ok(!result.ok && result.errors.length > 0);
    assert.ok(!result.ok && result.errors.every((e) => e.path.startsWith('ClusterLoadAssignment "a".endpoints[0]')), JSON.stringify(!result.ok && result.errors));
  });

  it('join an assignment decoded when it was validated without decoding it again, as a whole rebuild would', () => {
    const newA = loadAssignment('a', [2001, 2002]);
    const validated = validateLoadAssignment(newA);
    assert.deepEqual(validated.errors, []);
    // Its JSON is not read again: a rebuild from it would fail, the decoded assignment is what is joined.
    const held: HeldResource = { json: { '@type': TypeUrl.ClusterLoadAssignment, cluster_name: 'a', endpoints: 'not read' }, version: '2', assignment: validated.assignment! };
    const result = applyEndpointUpdate(set, clusters, new Map([['a', held]]), 'v2');
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    const whole = buildSnapshotOrThrow(base.map((r) => (r['cluster_name'] === 'a' ? newA : r)), { version: 'v2' });
    assert.deepEqual(result.set.snapshot.clusters, whole.clusters);
    assert.equal(result.set.snapshot.clusters['b'], set.snapshot.clusters['b']);
    assert.ok(Object.isFrozen(result.set.snapshot.clusters['a']));
    // The config dump's sources: the changed assignment is the new one, the others are shared.
    const endpoints = result.set.snapshot.sources!.endpoints;
    assert.equal(endpoints.find((e) => e.name === 'a')!.resource, held.json);
    assert.equal(endpoints.find((e) => e.name === 'b'), set.snapshot.sources!.endpoints.find((e) => e.name === 'b'));
  });

  it('validateLoadAssignment keeps every error with its path and decodes nothing then', () => {
    const bad = { ...loadAssignment('a', [2001]), endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'host.example', port_value: 70000 } } } }] }] };
    const validated = validateLoadAssignment(bad);
    assert.equal(validated.assignment, undefined);
    assert.deepEqual(validated.errors.map((e) => e.path).sort(), ['endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value']);
  });
});
