/**
 * The control plane serves the providers stock SOFARPC servers publish in ZooKeeper as EDS, through
 * the same path as etcd's (`serveRegistry`, one resource per changed service): an embedded mesh
 * following it over ADS reaches them with the Bolt drop-in, and a provider published later reaches
 * the mesh through a new ClusterLoadAssignment. `xmesh control-plane --registry zookeeper://...`
 * serves a file whose cluster carries the one registry marker (`registry.zookeeper_cluster`).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ControlPlane, serveRegistry, silentLogger } from '@xmesh/control-plane';
import { createMesh } from '@xmesh/client';
import { MeshRpcClient } from '@xmesh/bolt';
import { ZooKeeperRegistry } from '@xmesh/discovery';
import { TypeUrl, loadEnvoyProtos } from '@xmesh/xds';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../scripts/free-port.mjs';
import { XmeshProcess } from '../support/xmesh-cli.js';
import { HELLO_SERVICE, spawnProviders, type ProviderProcess } from '../support/sofa.js';
import { startZooKeeper, type ZooKeeper } from '../support/zookeeper.js';

let zk: ZooKeeper;
const providers: ProviderProcess[] = [];

before(async () => {
  zk = await startZooKeeper();
  providers.push(await spawnProviders({ zookeeper: zk.connectString, providers: [{ name: 'p1', publish: true }] }));
});

after(async () => {
  await Promise.all(providers.map((p) => p.close()));
  await zk.stop();
});

const resources = [
  {
    '@type': TypeUrl.Listener,
    name: 'sofa',
    metadata: { filter_metadata: { xmesh: { protocol: 'bolt' } } },
    api_listener: {
      api_listener: {
        '@type': TypeUrl.HttpConnectionManager,
        stat_prefix: 'sofa',
        route_config: { name: 'sofa', virtual_hosts: [{ name: 'hello', domains: [HELLO_SERVICE], routes: [{ match: { prefix: '/' }, route: { cluster: 'hello' } }] }] },
        http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }],
      },
    },
  },
  { '@type': TypeUrl.Cluster, name: 'hello', type: 'EDS', eds_cluster_config: { service_name: HELLO_SERVICE, eds_config: { ads: {}, resource_api_version: 'V3' } }, connect_timeout: '1s' },
];

test('providers in ZooKeeper, served as EDS by the control plane, are reached by a mesh following it', async () => {
  const registry = new ZooKeeperRegistry({ servers: zk.connectString, sessionTimeoutMs: 10_000 });
  const plane = new ControlPlane({ protos: loadEnvoyProtos(), logger: silentLogger });
  plane.setSnapshot('v1', resources);
  const served = serveRegistry(plane, registry);
  await served.ready;
  const port = await plane.listen(0);
  // A gRPC-style xDS client watches the listeners it is told of: the Bolt calls route by the 'sofa' listener.
  const mesh = await createMesh({ listener: 'sofa', xds: { xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }], node: { id: 'app' } } });
  const client = new MeshRpcClient(mesh);
  try {
    const consumer = client.createConsumer({ interfaceName: HELLO_SERVICE });
    assert.equal(await consumer.invoke('whoami', []), 'p1');
    providers.push(await spawnProviders({ zookeeper: zk.connectString, providers: [{ name: 'p2', publish: true }] }));
    const end = Date.now() + 20_000;
    const seen = new Set<unknown>();
    while (!seen.has('p2') && Date.now() < end) seen.add(await consumer.invoke('whoami', []));
    assert.ok(seen.has('p2'), `the provider published later is reached: ${[...seen].join(', ')}`);
  } finally {
    await client.close();
    await mesh.close();
    served.close();
    await registry.close();
    await plane.close();
  }
});

test('xmesh control-plane --registry zookeeper://: a file\'s zookeeper_cluster marker served as EDS, the providers as its endpoints', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xmesh-zk-plane-'));
  const file = join(dir, 'resources.json');
  const [host, zkPort] = zk.connectString.split(':');
  const marked = (resources as Record<string, unknown>[]).map((r) => (r['@type'] !== TypeUrl.Cluster ? r : {
    ...r,
    metadata: { filter_metadata: { xmesh: { registry: { zookeeper_cluster: 'zookeeper', version: '1.0' } } } },
  }));
  const members = {
    '@type': TypeUrl.Cluster, name: 'zookeeper', type: 'STATIC', connect_timeout: '1s',
    load_assignment: { cluster_name: 'zookeeper', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: Number(zkPort) } } } }] }] },
  };
  writeFileSync(file, JSON.stringify({ resources: [...marked, members] }));
  const port = await freePort();
  const plane = new XmeshProcess(['control-plane', '--config', file, '--port', String(port), '--registry', `zookeeper://${zk.connectString}/sofa-rpc`]);
  try {
    await plane.waitFor(/ADS listening/);
    const mesh = await createMesh({ listener: 'sofa', xds: { xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }], node: { id: 'cli-app' } } });
    const client = new MeshRpcClient(mesh);
    try {
      assert.equal(mesh.snapshot.clusters['zookeeper'], undefined, 'the members\' cluster is not served');
      assert.equal(mesh.snapshot.clusters['hello']?.registry, undefined, 'served as a plain EDS cluster');
      const consumer = client.createConsumer({ interfaceName: HELLO_SERVICE });
      const end = Date.now() + 20_000;
      const seen = new Set<unknown>();
      while (seen.size === 0 && Date.now() < end) {
        try {
          seen.add(await consumer.invoke('whoami', []));
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      assert.ok(seen.has('p1') || seen.has('p2'), `a provider in ZooKeeper answers: ${[...seen].join(', ')}`);
    } finally {
      await client.close();
      await mesh.close();
    }
  } finally {
    await plane.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
