import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEndpointSource } from './create-endpoint-source.js';
import { buildSnapshotOrThrow, deepFreeze, hasUniqueEndpointIds, TypeUrl } from '@xmesh/xds';
import { sameSource } from './same-source.js';
import { flattenLoadAssignment } from './flatten.js';
import { assignment, cluster, endpoint, locality } from '../test/fixtures.js';

test('STATIC flattens localities by priority, keeping configured order within a priority', async () => {
  const la = assignment('svc', [
    locality('b', 1, [endpoint('10.0.1.1', 80, { priority: 1 })]),
    locality('a', 0, [endpoint('10.0.0.1', 80), endpoint('10.0.0.2', 80)]),
    locality('c', 0, [endpoint('10.0.2.1', 80)]),
    locality('d', 2, [endpoint('10.0.3.1', 80, { priority: 2 })]),
  ]);
  const source = createEndpointSource(cluster('STATIC', la));
  await source.ready;
  assert.deepEqual(source.endpoints.map((e) => e.id), ['10.0.0.1:80', '10.0.0.2:80', '10.0.2.1:80', '10.0.1.1:80', '10.0.3.1:80']);
  assert.ok(Object.isFrozen(source.endpoints));
});

test('an endpoint listed twice is kept once', () => {
  const la = assignment('svc', [locality('a', 0, [endpoint('10.0.0.1', 80), endpoint('10.0.0.1', 80, { weight: 5 })])]);
  const source = createEndpointSource(cluster('STATIC', la));
  assert.equal(source.endpoints.length, 1);
  assert.equal(source.endpoints[0]!.weight, 1);
});

test('EDS without an assignment is empty and ready at once; with one it lists it', async () => {
  const empty = createEndpointSource(cluster('EDS', undefined));
  await empty.ready;
  assert.deepEqual(empty.endpoints, []);
  const eds = createEndpointSource(cluster('EDS', assignment('svc', [locality('a', 0, [endpoint('10.0.0.9', 8080)])])));
  assert.deepEqual(eds.endpoints.map((e) => e.id), ['10.0.0.9:8080']);
});

test('sameSource: equal configs share a source; any endpoint or DNS setting change does not', () => {
  const la = () => assignment('svc', [locality('a', 0, [endpoint('10.0.0.1', 80)])]);
  const base = cluster('STATIC', la());
  assert.equal(sameSource(base, cluster('STATIC', la())), true);
  assert.equal(sameSource(base, cluster('STRICT_DNS', la())), false);
  assert.equal(sameSource(base, cluster('STATIC', assignment('svc', [locality('a', 0, [endpoint('10.0.0.1', 81)])]))), false);
  assert.equal(sameSource(base, cluster('STATIC', assignment('svc', [locality('a', 0, [endpoint('10.0.0.1', 80, { health: 'DRAINING' })])]))), false);
  assert.equal(sameSource(base, cluster('STATIC', la(), { name: 'other' })), false);
  // DNS settings matter only for DNS clusters
  assert.equal(sameSource(base, cluster('STATIC', la(), { dnsRefreshRateMs: 1 })), true);
  const dns = cluster('STRICT_DNS', la());
  assert.equal(sameSource(dns, cluster('STRICT_DNS', la())), true);
  assert.equal(sameSource(dns, cluster('STRICT_DNS', la(), { dnsRefreshRateMs: 1000 })), false);
  assert.equal(sameSource(dns, cluster('STRICT_DNS', la(), { dnsLookupFamily: 'ALL' })), false);
  assert.equal(sameSource(cluster('EDS', undefined), cluster('EDS', undefined, { edsServiceName: 'x' })), false);
});

test('a frozen assignment is flattened once; a decoded single-locality one gives its own list; a frozen hand-made one with a repeated id is still deduplicated', () => {
  const snapshot = buildSnapshotOrThrow([{
    '@type': TypeUrl.Cluster, name: 'svc', type: 'STATIC', connect_timeout: '1s',
    load_assignment: { cluster_name: 'svc', endpoints: [{ lb_endpoints: [80, 81].map((port) => ({ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: port } } } })) }] },
  }]);
  const decoded = snapshot.clusters['svc']!.loadAssignment!;
  assert.ok(hasUniqueEndpointIds(decoded));
  const list = flattenLoadAssignment(decoded);
  assert.equal(flattenLoadAssignment(decoded), list, 'the same list for the same assignment');
  assert.equal(list, decoded.localities[0]!.endpoints, 'checked unique when decoded: taken as it is');
  const repeated = deepFreeze(assignment('svc', [locality('a', 0, [endpoint('10.0.0.1', 80), endpoint('10.0.0.1', 80, { weight: 5 })])]));
  assert.equal(hasUniqueEndpointIds(repeated), false);
  assert.deepEqual(flattenLoadAssignment(repeated).map((e) => e.weight), [1]);
});
