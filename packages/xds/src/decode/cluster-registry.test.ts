import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnapshot } from '../snapshot.js';
import { TypeUrl } from '../type-urls.js';

const etcd = (extra: Record<string, unknown> = {}) => ({
  '@type': TypeUrl.Cluster,
  name: 'etcd',
  type: 'STATIC',
  load_assignment: {
    cluster_name: 'etcd',
    endpoints: [{ lb_endpoints: [2379, 2381].map((port) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } })) }],
  },
  ...extra,
});

const greeter = (xmesh: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  '@type': TypeUrl.Cluster,
  name: 'greeter',
  type: 'EDS',
  eds_cluster_config: { service_name: 'greeter-v1', eds_config: { ads: {} } },
  metadata: { filter_metadata: { xmesh } },
  ...extra,
});

function errorsOf(resources: unknown[]): string[] {
  const built = buildSnapshot(resources);
  assert.equal(built.ok, false, 'expected the config to be refused');
  return built.ok ? [] : built.errors.map((e) => `${e.path}: ${e.message}`);
}

describe('registry-backed clusters (metadata.filter_metadata.xmesh.registry)', () => {
  it('resolve the registry members from the cluster etcd_cluster names; the service is the EDS service name', () => {
    const built = buildSnapshot([etcd(), greeter({ registry: { etcd_cluster: 'etcd' } })]);
    assert.ok(built.ok, JSON.stringify(!built.ok && built.errors));
    assert.deepEqual(built.snapshot.clusters['greeter']!.registry, {
      kind: 'etcd', service: 'greeter-v1', cluster: 'etcd', endpoints: ['127.0.0.1:2379', '127.0.0.1:2381'], prefix: '/xmesh/services/',
    });
    assert.equal(built.snapshot.clusters['etcd']!.registry, undefined);
  });

  it('take the cluster name as service name without eds_cluster_config, and a custom prefix', () => {
    const built = buildSnapshot([etcd(), { ...greeter({ registry: { etcd_cluster: 'etcd', prefix: '/apps/' } }), eds_cluster_config: undefined }]);
    assert.ok(built.ok);
    assert.equal(built.snapshot.clusters['greeter']!.registry!.service, 'greeter');
    assert.equal(built.snapshot.clusters['greeter']!.registry!.prefix, '/apps/');
  });

  it('are refused with the field path when the shape is wrong', () => {
    const at = '[1].metadata.filter_metadata.xmesh.registry';
    assert.deepEqual(errorsOf([etcd(), greeter({ registry: { etcd_cluster: 'nope' } })]), [`${at}.etcd_cluster: names no cluster ("nope"): list the etcd members in a STATIC or STRICT_DNS cluster`]);
    assert.match(errorsOf([etcd({ transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext' } } }), greeter({ registry: { etcd_cluster: 'etcd' } })])[0]!, /transport_socket: the etcd client speaks plaintext only/);
    assert.match(errorsOf([etcd(), greeter({ registry: {} })])[0]!, /registry\.etcd_cluster/);
    assert.match(errorsOf([etcd(), greeter({ registry: { etcd_cluster: 'etcd', prefix: 'xmesh' } })])[0]!, /registry\.prefix: must start and end with "\/"/);
    assert.match(errorsOf([etcd(), greeter({ registry: { etcd_cluster: 'etcd', servers: 3 } })])[0]!, /registry\.servers/);
    const onStatic = { ...etcd(), name: 'static', metadata: { filter_metadata: { xmesh: { registry: { etcd_cluster: 'etcd' } } } } };
    assert.match(errorsOf([etcd(), onStatic])[0]!, /registry: is only valid on an EDS cluster/);
    const cla = { '@type': TypeUrl.ClusterLoadAssignment, cluster_name: 'greeter-v1', endpoints: [] };
    assert.match(errorsOf([etcd(), greeter({ registry: { etcd_cluster: 'etcd' } }), cla])[0]!, /takes its endpoints from the registry/);
    const slashed = { ...greeter({ registry: { etcd_cluster: 'etcd' } }), eds_cluster_config: { service_name: 'a/b' } };
    assert.match(errorsOf([etcd(), slashed])[0]!, /must be non-empty without "\/"/);
  });

  it('one marker for the SOFARPC registry in ZooKeeper: zookeeper_cluster, its root as prefix, the provider filters', () => {
    const zk = { ...etcd(), name: 'zk' };
    const built = buildSnapshot([zk, greeter({ registry: { zookeeper_cluster: 'zk', version: '1.0', group: 'SOFA' } })]);
    assert.ok(built.ok, JSON.stringify(!built.ok && built.errors));
    assert.deepEqual(built.snapshot.clusters['greeter']!.registry, {
      kind: 'zookeeper', service: 'greeter-v1', cluster: 'zk', endpoints: ['127.0.0.1:2379', '127.0.0.1:2381'], prefix: '/sofa-rpc',
      zookeeper: { version: '1.0', group: 'SOFA', sessionTimeoutMs: 30_000 },
    });
    const rooted = buildSnapshot([zk, greeter({ registry: { zookeeper_cluster: 'zk', prefix: '/rpc/', session_timeout: '10s' } })]);
    assert.ok(rooted.ok);
    assert.deepEqual([rooted.snapshot.clusters['greeter']!.registry!.prefix, rooted.snapshot.clusters['greeter']!.registry!.zookeeper], ['/rpc', { sessionTimeoutMs: 10_000 }]);
    const at = '[1].metadata.filter_metadata.xmesh';
    assert.deepEqual(errorsOf([zk, greeter({ registry: { zookeeper_cluster: 'nope' } })]), [`${at}.registry.zookeeper_cluster: names no cluster ("nope"): list the ZooKeeper members in a STATIC or STRICT_DNS cluster`]);
    assert.match(errorsOf([zk, greeter({ registry: { zookeeper_cluster: 'zk', etcd_cluster: 'zk' } })])[0]!, /one of etcd_cluster, zookeeper_cluster/);
    assert.match(errorsOf([zk, greeter({ registry: { etcd_cluster: 'zk', version: '1.0' } })])[0]!, /registry\.version: is a ZooKeeper \(SOFARPC\) registry setting/);
    assert.match(errorsOf([zk, greeter({ registry: { zookeeper_cluster: 'zk', prefix: 'rpc' } })])[0]!, /registry\.prefix: must start with "\/"/);
    // The shape before one marker served both registries points to the new one.
    assert.match(errorsOf([zk, greeter({ zookeeper: { servers: '127.0.0.1:2181', interface: 'I' } })])[0]!, new RegExp(`${at.replace(/[[\].]/g, '\\$&')}\\.zookeeper: was replaced by registry: \\{ zookeeper_cluster`));
  });
});
