import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSnapshot, loadEnvoyProtos, TypeUrl } from '@xmesh/xds';
import { registryLoadAssignment, type RegistryInstance } from '@xmesh/discovery';
import { ControlPlane, registryClustersAsEds, serveFile, silentLogger, type ResponseEvent } from './index.js';
import { echoResources } from '../../../test/xds/echo-resources.js';
import { deltaStream, sotwStream } from '../../../test/xds/raw-ads.js';

const protos = loadEnvoyProtos();
const E = TypeUrl.ClusterLoadAssignment;
const C = TypeUrl.Cluster;
const at = (port: number): RegistryInstance => ({ id: `i${port}`, address: '127.0.0.1', port, weight: 1, zone: '', healthy: true, metadata: {} });

describe('control plane: resources put one by one (a registry\'s endpoints)', () => {
  const plane = new ControlPlane({ protos, logger: silentLogger });
  let target = '';
  const responses: ResponseEvent[] = [];
  before(async () => {
    plane.setSnapshot('v1', echoResources({ endpoints: { a: [1001], b: [1002], c: [1003] }, split: { a: 1 } }));
    plane.on('response', (r) => responses.push(r));
    target = `127.0.0.1:${await plane.listen(0)}`;
  });
  after(() => plane.close());

  it('one changed resource goes only to the streams subscribed to it: delta gets it alone, SotW EDS gets that one resource', async () => {
    const deltaA = deltaStream(protos, target);
    const deltaB = deltaStream(protos, target);
    const sotwA = sotwStream(protos, target);
    try {
      deltaA.send({ node: { id: 'da' }, type_url: E, resource_names_subscribe: ['a', 'c'] });
      deltaB.send({ node: { id: 'db' }, type_url: E, resource_names_subscribe: ['b'] });
      sotwA.send({ node: { id: 'sa' }, type_url: E, resource_names: ['a', 'c'] });
      const [firstDa, firstDb, firstSa] = [await deltaA.next(), await deltaB.next(), await sotwA.next()];
      assert.deepEqual(firstDa.resources?.map((r) => r.name), ['a', 'c']);
      assert.deepEqual(firstSa.resources?.length, 2);
      deltaA.send({ type_url: E, response_nonce: firstDa.nonce! });
      deltaB.send({ type_url: E, response_nonce: firstDb.nonce! });
      sotwA.send({ type_url: E, version_info: firstSa.version_info!, resource_names: ['a', 'c'], response_nonce: firstSa.nonce! });
      assert.ok(await deltaA.quiet(200));

      responses.length = 0;
      plane.putResources([registryLoadAssignment('a', [at(2001), at(2002)])]);
      const pushedDelta = await deltaA.next();
      assert.deepEqual(pushedDelta.resources?.map((r) => r.name), ['a'], 'delta: only the changed resource');
      assert.deepEqual(pushedDelta.removed_resources ?? [], []);
      const pushedSotw = await sotwA.next();
      assert.equal(pushedSotw.resources?.length, 1, 'SotW EDS: only the changed resource');
      assert.notEqual(pushedSotw.version_info, firstSa.version_info);
      assert.ok(await deltaB.quiet(300), 'a stream not subscribed to "a" hears nothing');
      assert.deepEqual(responses.map((r) => `${r.mode}:${r.resources.join(',')}`).sort(), ['delta:a', 'sotw:a']);

      // The same content again changes nothing and sends nothing.
      plane.putResources([registryLoadAssignment('a', [at(2002), at(2001)])]);
      assert.ok(await deltaA.quiet(300));

      // A later whole snapshot keeps what was put: "a" stays the registry's.
      plane.setSnapshot('v2', echoResources({ endpoints: { a: [1001], b: [1009], c: [1003] }, split: { a: 1 } }));
      const afterSet = await deltaB.next();
      assert.deepEqual(afterSet.resources?.map((r) => r.name), ['b']);
      assert.ok(await deltaA.quiet(300), '"a" is still the one put, unchanged for its subscriber');
    } finally {
      deltaA.close();
      deltaB.close();
      sotwA.close();
    }
  });

  it('refuses a resource that cannot be encoded, changing nothing', () => {
    assert.throws(() => plane.putResources([{ '@type': E, cluster_name: 'a', endpoints: [{ lb_endpoints: 'x' }] }]), /XMESH_CONFIG_INVALID|cannot serve/);
  });
});

describe('registry-backed clusters served by a control plane', () => {
  const resources = [
    { '@type': C, name: 'etcd', type: 'STATIC', load_assignment: { cluster_name: 'etcd', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 2379 } } } }] }] } },
    { '@type': C, name: 'greeter', type: 'EDS', eds_cluster_config: { service_name: 'greeter-v1' }, metadata: { filter_metadata: { xmesh: { registry: { etcd_cluster: 'etcd' }, transport: 'lean' } } } },
    // A plain EDS cluster (Envoy and gRPC clients require its eds_cluster_config), served as it is.
    { '@type': C, name: 'other', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } },
  ];

  it('become plain EDS clusters on ADS, the members\' cluster left out, an empty assignment per service', () => {
    const built = buildSnapshot(resources);
    assert.ok(built.ok);
    const served = registryClustersAsEds(resources, built.snapshot) as Record<string, unknown>[];
    assert.deepEqual(served.map((r) => r['name'] ?? r['cluster_name']), ['greeter', 'other', 'greeter-v1']);
    assert.deepEqual(served[0], {
      '@type': C, name: 'greeter', type: 'EDS',
      eds_cluster_config: { service_name: 'greeter-v1', eds_config: { ads: {}, resource_api_version: 'V3' } },
      metadata: { filter_metadata: { xmesh: { transport: 'lean' } } },
    });
    assert.deepEqual(served[2], { '@type': E, cluster_name: 'greeter-v1', endpoints: [] });
    const again = buildSnapshot(served);
    assert.ok(again.ok, 'what is served is valid on its own');
    assert.equal(again.snapshot.clusters['greeter']!.registry, undefined);
  });

  it('are refused by a control plane serving the file without a registry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xmesh-cp-registry-'));
    const file = join(dir, 'resources.json');
    writeFileSync(file, JSON.stringify(resources));
    const plane = new ControlPlane({ protos, logger: silentLogger });
    try {
      await assert.rejects(serveFile(plane, file, { watch: false }), /take their endpoints from a registry/);
      const source = await serveFile(plane, file, { watch: false, registry: true });
      assert.ok(source.version);
      assert.equal(plane.snapshotFor('')?.byType.get(C)?.has('etcd'), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
