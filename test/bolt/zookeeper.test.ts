/**
 * Interop (c): providers registered in a real ZooKeeper by unchanged `sofa-rpc-node` servers are
 * seen alike by the stock client's own registry and by xmesh's ZooKeeper registry (enabled, weight,
 * version and group filters as the stock client applies them), and become mesh endpoints that
 * embedded calls reach through the one registry marker (`xmesh.registry.zookeeper_cluster`). A
 * provider that dies leaves with its ephemeral node; a lost ZooKeeper keeps the last good endpoints;
 * providers published after it came back are found. An unreachable ZooKeeper delays start-up by its
 * connect bound only, whatever its session timeout.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMesh } from '@xmesh/client';
import { MeshRpcClient } from '@xmesh/bolt';
import { ZooKeeperRegistry, type RegistryInstance } from '@xmesh/discovery';
import { boltConfig, clusterEndpoints, zookeeperClusters } from '../support/bolt-config.js';
import { HELLO_SERVICE, spawnProviders, stockRegistry, type ProviderProcess } from '../support/sofa.js';
import { startZooKeeper, type ZooKeeper } from '../support/zookeeper.js';
import { waitFor } from '../support/wait-for.js';

let zk: ZooKeeper;
let stable: ProviderProcess;
let leaving: ProviderProcess;
let variants: ProviderProcess;
const later: ProviderProcess[] = [];

before(async () => {
  zk = await startZooKeeper();
  [stable, leaving, variants] = await Promise.all([
    spawnProviders({ zookeeper: zk.connectString, providers: [{ name: 'v1-a', publish: true }] }),
    spawnProviders({ zookeeper: zk.connectString, providers: [{ name: 'v1-b', publish: true }] }),
    // Provider URLs as SOFA servers publish them, registered with the stock registry: another version,
    // another group, disabled, and a weight of 50 (the stock server itself always publishes weight 100).
    spawnProviders({
      zookeeper: zk.connectString,
      providers: [
        { name: 'v2', register: 'version=2.0&group=SOFA&weight=100' },
        { name: 'other-group', register: 'version=1.0&group=GRAY&weight=100' },
        { name: 'disabled', register: 'version=1.0&group=SOFA&weight=100&enabled=false' },
        { name: 'weighted', register: 'version=1.0&group=SOFA&weight=50' },
      ],
    }),
  ]);
});

after(async () => {
  await Promise.all([stable, leaving, variants, ...later].map((p) => p?.close()));
  await zk.stop();
});

const ports = (instances: readonly { readonly port: number }[]) => instances.map((e) => e.port).sort();

test('the stock registry and xmesh\'s ZooKeeper registry list the same providers for version 1.0 / group SOFA', async () => {
  const xmesh = new ZooKeeperRegistry({ servers: zk.connectString, version: '1.0', group: 'SOFA', sessionTimeoutMs: 10_000 });
  let listed: readonly RegistryInstance[] = [];
  const watch = xmesh.watchService(HELLO_SERVICE, (instances) => (listed = instances));
  const registry = stockRegistry(zk.connectString);
  try {
    await watch.ready;
    const expected = [stable.ports['v1-a']!, leaving.ports['v1-b']!, variants.ports.weighted!].sort();
    await waitFor(() => ports(listed), (p) => p.length === 3, 'the xmesh registry to list three providers');
    assert.deepEqual(ports(listed), expected, 'version 2.0, group GRAY and enabled=false are filtered out');
    assert.equal(listed.find((e) => e.port === variants.ports.weighted)?.weight, 50, 'the published weight');
    assert.equal(listed.find((e) => e.port === stable.ports['v1-a'])?.weight, 100, 'SOFA servers publish weight 100');
    assert.deepEqual(listed.find((e) => e.port === stable.ports['v1-a'])?.metadata, { version: '1.0', group: 'SOFA', serialization: 'hessian2' });

    await registry.ready();
    let stock: number[] = [];
    registry.subscribe({ interfaceName: HELLO_SERVICE, version: '1.0', group: 'SOFA' }, (list: string[]) => {
      stock = list.map((url) => Number(new URL(url).port)).sort();
    });
    await waitFor(() => stock, (p) => p.length === expected.length, "the stock registry's list");
    assert.deepEqual(stock, ports(listed));
  } finally {
    watch.close();
    await xmesh.close();
    await registry.close();
  }
});

test('an EDS cluster with registry.zookeeper_cluster: calls reach the matching providers; a killed one leaves; ZooKeeper lost keeps the last good set', async () => {
  const config = boltConfig({
    virtualHosts: [{ name: 'hello', domains: [HELLO_SERVICE], routes: [{ match: { prefix: '/' }, route: { cluster: 'hello' } }] }],
    clusters: {},
    rawClusters: zookeeperClusters('hello', zk.connectString, HELLO_SERVICE, { version: '1.0', group: 'SOFA' }),
  });
  const mesh = await createMesh({ config });
  const client = new MeshRpcClient(mesh);
  const endpoints = () => clusterEndpoints(mesh, 'hello');
  try {
    const consumer = client.createConsumer({ interfaceName: HELLO_SERVICE });
    await waitFor(endpoints, (e) => e.length === 3, 'three providers');
    const seen = new Set<unknown>();
    for (let i = 0; i < 30; i++) seen.add(await consumer.invoke('whoami', []));
    assert.deepEqual([...seen].sort(), ['v1-a', 'v1-b', 'weighted']);

    await leaving.kill();
    await waitFor(endpoints, (e) => e.length === 2, 'the killed provider\'s ephemeral node to vanish');
    assert.ok(!endpoints().some((e) => e.port === leaving.ports['v1-b']));
    for (let i = 0; i < 10; i++) assert.notEqual(await consumer.invoke('whoami', []), 'v1-b');

    await zk.kill();
    for (let i = 0; i < 5; i++) assert.notEqual(await consumer.invoke('whoami', []), 'v1-b');
    assert.equal(endpoints().length, 2, 'the last good endpoints are kept while ZooKeeper is away');
    await zk.start();
    const back = await spawnProviders({ zookeeper: zk.connectString, providers: [{ name: 'v1-c', publish: true }] });
    later.push(back);
    await waitFor(endpoints, (e) => e.some((x) => x.port === back.ports['v1-c']), 'a provider published after ZooKeeper came back', 30_000);
  } finally {
    await client.close();
    await mesh.close();
  }
});

test('an unreachable ZooKeeper delays createMesh by its connect bound (5 s), not by its session timeout', async () => {
  const config = boltConfig({
    virtualHosts: [{ name: 'hello', domains: [HELLO_SERVICE], routes: [{ match: { prefix: '/' }, route: { cluster: 'hello' } }] }],
    clusters: {},
    // Nothing listens on port 1; a 120 s session timeout was the start-up bound before.
    rawClusters: zookeeperClusters('hello', '127.0.0.1:1', HELLO_SERVICE, { session_timeout: '120s' }),
  });
  const started = performance.now();
  const mesh = await createMesh({ config });
  try {
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 60_000, `createMesh took ${Math.round(elapsed)} ms`);
    assert.equal(clusterEndpoints(mesh, 'hello').length, 0);
  } finally {
    await mesh.close();
  }
});
