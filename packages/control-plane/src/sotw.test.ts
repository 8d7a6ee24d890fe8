import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeResource, loadEnvoyProtos, TypeUrl } from '@xmesh/xds';
import { ControlPlane, silentLogger, type AckEvent, type NackEvent } from './index.js';
import { echoResources, ECHO_LISTENER, ECHO_ROUTES } from '../../../test/xds/echo-resources.js';
import { sotwStream } from '../../../test/xds/raw-ads.js';

const protos = loadEnvoyProtos();
const node = { id: 'node-1', cluster: 'test' };
const v1 = echoResources({ endpoints: { a: [1001], b: [1002] }, split: { a: 70, b: 30 } });

describe('control plane, state of the world', () => {
  const plane = new ControlPlane({ protos, logger: silentLogger });
  let target = '';
  before(async () => {
    plane.setSnapshot('v1', v1);
    target = `127.0.0.1:${await plane.listen(0)}`;
  });
  after(() => plane.close());

  it('serves LDS wildcard, then ACK, NACK and stale nonces exactly as the protocol says', async () => {
    const acks: AckEvent[] = [];
    const nacks: NackEvent[] = [];
    const stale: string[] = [];
    plane.on('ack', (e) => acks.push(e));
    plane.on('nack', (e) => nacks.push(e));
    plane.on('stale-nonce', (e) => stale.push(e.nonce));
    const s = sotwStream(protos, target);
    try {
      s.send({ node, type_url: TypeUrl.Listener, resource_names: [] });
      const lds = await s.next();
      assert.equal(lds.version_info, 'v1');
      assert.equal(lds.type_url, TypeUrl.Listener);
      assert.equal(lds.nonce, '1');
      assert.deepEqual(lds.resources?.map((r) => r.type_url), [TypeUrl.Listener]);

      s.send({ type_url: TypeUrl.Listener, version_info: 'v1', response_nonce: '1' });
      s.send({ type_url: TypeUrl.RouteConfiguration, resource_names: [ECHO_ROUTES] });
      const rds = await s.next();
      assert.equal(rds.type_url, TypeUrl.RouteConfiguration);
      assert.equal(rds.nonce, '2');
      assert.equal(rds.resources?.length, 1);
      assert.deepEqual(acks.map((a) => [a.nodeId, a.typeUrl, a.version, a.nonce]), [['node-1', TypeUrl.Listener, 'v1', '1']]);

      s.send({ type_url: TypeUrl.RouteConfiguration, version_info: '', resource_names: [ECHO_ROUTES], response_nonce: '2', error_detail: { code: 3, message: 'routes[0]: bad' } });
      assert.ok(await s.quiet(), 'a NACK is not answered with the same resources');
      assert.equal(nacks.length, 1);
      assert.equal(nacks[0]!.message, 'routes[0]: bad');
      assert.equal(nacks[0]!.nonce, '2');

      s.send({ type_url: TypeUrl.RouteConfiguration, version_info: 'v1', resource_names: [ECHO_ROUTES, 'other'], response_nonce: '999' });
      assert.ok(await s.quiet(), 'a stale nonce is ignored');
      assert.deepEqual(stale, ['999']);
    } finally {
      s.close();
      plane.removeAllListeners();
    }
  });

  it('pushes a new snapshot only for the types whose resources changed', async () => {
    const s = sotwStream(protos, target);
    try {
      s.send({ node, type_url: TypeUrl.Listener, resource_names: [ECHO_LISTENER] });
      const lds = await s.next();
      s.send({ type_url: TypeUrl.Listener, version_info: lds.version_info!, resource_names: [ECHO_LISTENER], response_nonce: lds.nonce! });
      s.send({ type_url: TypeUrl.ClusterLoadAssignment, resource_names: ['a'] });
      const eds = await s.next();
      assert.equal(eds.resources?.length, 1);
      s.send({ type_url: TypeUrl.ClusterLoadAssignment, version_info: eds.version_info!, resource_names: ['a'], response_nonce: eds.nonce! });
      assert.ok(await s.quiet(200));

      plane.setSnapshot('v2', echoResources({ endpoints: { a: [2001], b: [1002] }, split: { a: 70, b: 30 } }));
      const pushed = await s.next();
      assert.equal(pushed.type_url, TypeUrl.ClusterLoadAssignment);
      assert.equal(pushed.version_info, 'v2');
      assert.ok(await s.quiet(200), 'the unchanged listener is not resent');
    } finally {
      s.close();
      plane.setSnapshot('v1', v1);
    }
  });

  it('serves per-node snapshots by node id', async () => {
    plane.setSnapshot('special-1', echoResources({ endpoints: { c: [3001] }, split: { c: 1 } }), { nodeId: 'special' });
    const s = sotwStream(protos, target);
    const d = sotwStream(protos, target);
    try {
      s.send({ node: { id: 'special' }, type_url: TypeUrl.Cluster, resource_names: [] });
      d.send({ node: { id: 'someone-else' }, type_url: TypeUrl.Cluster, resource_names: [] });
      const [special, other] = await Promise.all([s.next(), d.next()]);
      assert.equal(special.version_info, 'special-1');
      assert.equal(special.resources?.length, 1);
      assert.equal(other.version_info, 'v1');
      assert.equal(other.resources?.length, 2);
    } finally {
      s.close();
      d.close();
      plane.clearSnapshot('special');
    }
  });

  it('updateSnapshot replaces, adds and deletes single resources, invalid ones included, and pushes only what changed', async () => {
    const s = sotwStream(protos, target);
    try {
      s.send({ node, type_url: TypeUrl.Cluster, resource_names: ['a', 'b'] });
      const first = await s.next();
      assert.deepEqual(first.resources?.length, 2);
      s.send({ type_url: TypeUrl.Cluster, version_info: first.version_info!, resource_names: ['a', 'b'], response_nonce: first.nonce! });
      // An EDS cluster without eds_cluster_config encodes: a client must be able to see (and NACK) it.
      plane.updateSnapshot('v1-bad', { set: [{ '@type': TypeUrl.Cluster, name: 'a', type: 'EDS' }], remove: [{ typeUrl: TypeUrl.Cluster, name: 'b' }] });
      const pushed = await s.next();
      assert.equal(pushed.version_info, 'v1-bad');
      assert.equal(pushed.resources?.length, 1, 'b is deleted: the SotW response lacks it');
      const decoded = decodeResource(protos, pushed.resources![0]!) as Record<string, unknown>;
      assert.deepEqual([decoded['name'], decoded['type'], decoded['eds_cluster_config']], ['a', 'EDS', undefined]);
      assert.equal(plane.versionFor('node-1'), 'v1-bad');
    } finally {
      s.close();
      plane.setSnapshot('v1', v1);
    }
  });

  it('namedOnly answers named requests only, as grpc-node\'s test server and Istio for proxyless clients do', async () => {
    const named = new ControlPlane({ protos, logger: silentLogger, namedOnly: true });
    named.setSnapshot('n1', v1);
    const s = sotwStream(protos, `127.0.0.1:${await named.listen(0)}`);
    try {
      s.send({ node, type_url: TypeUrl.Listener, resource_names: [] });
      assert.ok(await s.quiet(300), 'a wildcard request gets nothing');
      s.send({ type_url: TypeUrl.Listener, resource_names: [ECHO_LISTENER] });
      const lds = await s.next();
      assert.deepEqual(lds.resources?.map((r) => (decodeResource(protos, r) as { name: string }).name), [ECHO_LISTENER]);
    } finally {
      s.close();
      await named.close();
    }
  });

  it('rejects a snapshot that cannot be encoded, listing every error, and keeps serving the old one', () => {
    assert.throws(
      () => plane.setSnapshot('bad', [{ '@type': TypeUrl.Cluster, name: 'x', lb_policy: 'NOPE' }, { '@type': TypeUrl.Cluster, name: 'y', bogus: 1 }]),
      (err: Error & { errors?: { path: string }[] }) => {
        assert.deepEqual(err.errors?.map((e) => e.path.split('.').slice(0, 2).join('.')), ['[0].lb_policy', '[1].bogus']);
        return true;
      },
    );
    assert.equal(plane.versionFor('node-1'), 'v1');
  });
});
