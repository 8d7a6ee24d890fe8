/**
 * ClusterRuntime across endpoint updates: each new list is published to the balancer once; endpoints that
 * stay keep their pool entry (no leave and join); removed ones give theirs up, retired at once when no call
 * ever used them and after the last lease otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBalancer } from '@xmesh/balancer';
import { MeshError, type Endpoint } from '@xmesh/core';
import { buildSnapshotOrThrow, TypeUrl, type ClusterConfig } from '@xmesh/xds';
import { FakeClock } from '../../../test/support/fake-clock.js';
import { ClusterRuntime } from './cluster-runtime.js';
import { defaultComponents } from './components.js';
import { TransportPool } from './transport-pool.js';

/** A decoded STATIC cluster `c` with endpoints 10.0.0.1:<port> for each of `ports`. */
function clusterWith(ports: readonly number[]): ClusterConfig {
  const snapshot = buildSnapshotOrThrow([{
    '@type': TypeUrl.Cluster, name: 'c', type: 'STATIC', connect_timeout: '1s',
    load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: ports.map((port) => ({ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: port } } } })) }] },
  }]);
  return snapshot.clusters['c']!;
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

function harness() {
  const published: (readonly Endpoint[])[] = [];
  const components = {
    ...defaultComponents,
    createBalancer: ((config, options) => {
      const balancer = createBalancer(config, options);
      const setEndpoints = balancer.setEndpoints.bind(balancer);
      balancer.setEndpoints = (endpoints: readonly Endpoint[]) => {
        published.push(endpoints);
        setEndpoints(endpoints);
      };
      return balancer;
    }) as typeof createBalancer,
  };
  const pool = new TransportPool();
  const joins: string[] = [];
  const leaves: string[] = [];
  const join = pool.join.bind(pool);
  const leave = pool.leave.bind(pool);
  pool.join = (endpoint, tls) => {
    joins.push(endpoint.id);
    join(endpoint, tls);
  };
  pool.leave = (key) => {
    leaves.push(key);
    leave(key);
  };
  return { published, pool, joins, leaves, components };
}

test('each endpoint list is published once; staying endpoints keep their pool entry; removed idle entries go at once', async () => {
  const { published, pool, joins, leaves, components } = harness();
  const runtime = new ClusterRuntime(clusterWith([1, 2]), { pool, clock: new FakeClock(0), components });
  await settle();
  assert.equal(published.length, 1, 'the fixed source is published once, not again when it reports ready');
  assert.deepEqual(published[0]!.map((e) => e.port), [1, 2]);
  const kept = pool.get('10.0.0.1:2');
  assert.ok(kept);

  runtime.update(clusterWith([2, 3]));
  await settle();
  assert.equal(published.length, 2);
  assert.deepEqual(published[1]!.map((e) => e.port), [2, 3]);
  assert.deepEqual(joins, ['10.0.0.1:1', '10.0.0.1:2', '10.0.0.1:3']);
  assert.deepEqual(leaves, ['10.0.0.1:1']);
  assert.equal(pool.get('10.0.0.1:2'), kept, 'the staying endpoint keeps its entry');
  assert.equal(pool.get('10.0.0.1:1'), undefined, 'an entry no call used is retired at once');

  // An entry a call holds stays until the lease ends.
  const lease = pool.acquire(published[1]![1]!);
  runtime.update(clusterWith([2]));
  assert.equal(pool.get('10.0.0.1:3'), lease);
  pool.release(lease);
  assert.equal(pool.get('10.0.0.1:3'), undefined);
  runtime.close(new MeshError('XMESH_CLOSED', 'closed'));
  assert.equal(pool.get('10.0.0.1:2'), undefined);
  await pool.closeAll();
});

test('onRetired still reports an idle entry that was retired', async () => {
  const pool = new TransportPool();
  const retired: string[] = [];
  pool.onRetired = (id) => retired.push(id);
  const endpoint = clusterWith([7]).loadAssignment!.localities[0]!.endpoints[0]!;
  pool.join(endpoint);
  pool.leave(endpoint.id);
  assert.equal(pool.get(endpoint.id), undefined);
  await settle();
  assert.deepEqual(retired, ['10.0.0.1:7']);
});
