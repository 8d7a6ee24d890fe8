import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnapshot, TypeUrl } from '@xmesh/xds';
import { flattenLoadAssignment } from '../flatten.js';
import { registryEndpoints, registryLoadAssignment } from './load-assignment.js';
import type { RegistryInstance } from './registry.js';

const instance = (id: string, port: number, extra: Partial<RegistryInstance> = {}): RegistryInstance => ({
  id, address: '10.0.0.1', port, weight: 1, zone: '', healthy: true, metadata: {}, ...extra,
});

const instances: RegistryInstance[] = [
  instance('c', 9003, { zone: 'b', weight: 5, metadata: { version: 'v2' } }),
  instance('a', 9001, { zone: 'a' }),
  instance('b', 9002, { zone: 'a', healthy: false }),
  instance('d', 9004),
  instance('dup', 9001, { zone: 'a', weight: 9 }),
];

test('the control plane\'s ClusterLoadAssignment decodes to the endpoints an embedded mesh builds', () => {
  const cla = registryLoadAssignment('svc', instances);
  const built = buildSnapshot([{ '@type': TypeUrl.Cluster, name: 'svc', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } }, cla]);
  assert.ok(built.ok, JSON.stringify(!built.ok && built.errors));
  const decoded = flattenLoadAssignment(built.snapshot.clusters['svc']!.loadAssignment);
  assert.deepEqual(JSON.parse(JSON.stringify(decoded)), JSON.parse(JSON.stringify(registryEndpoints(instances))));
});

test('instances map to endpoints: weight, health, zone as locality, labels as envoy.lb metadata; one per address', () => {
  const endpoints = registryEndpoints(instances);
  assert.deepEqual(endpoints.map((e) => [e.id, e.weight, e.healthStatus, e.locality.zone]), [
    ['10.0.0.1:9004', 1, 'HEALTHY', ''],
    ['10.0.0.1:9001', 1, 'HEALTHY', 'a'],
    ['10.0.0.1:9002', 1, 'UNHEALTHY', 'a'],
    ['10.0.0.1:9003', 5, 'HEALTHY', 'b'],
  ]);
  assert.deepEqual(endpoints[3]!.metadata, { 'envoy.lb': { version: 'v2' } });
  assert.ok(Object.isFrozen(endpoints) && endpoints.every((e) => Object.isFrozen(e)));
  assert.deepEqual(registryEndpoints([]), []);
});
