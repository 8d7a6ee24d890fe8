/**
 * Interop (c): providers registered in a real ZooKeeper by unchanged `sofa-rpc-node` servers are
 * seen alike by the stock client's own registry and by xmesh's ZooKeeper endpoint source (enabled,
 * weight, version and group filters as the stock client applies them), and become mesh endpoints
 * that embedded calls reach. A provider that dies leaves with its ephemeral node; a lost ZooKeeper
 * keeps the last good endpoints; providers published after it came back are found.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMesh } from '@xmesh/client';
import { MeshRpcClient } from '@xmesh/bolt';
import { ZooKeeperSource } from '@xmesh/discovery';
import type { Endpoint } from '@xmesh/core';
import { boltConfig, clusterEndpoints, zookeeperCluster } from '../support/bolt-config.js';
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

const ports = (endpoints: readonly Endpoint[]) => endpoints.map((e) => e.port).sort();

test('the stock registry and the xmesh source list the same providers for version 1.0 / group SOFA', async () => {
  const source = new ZooKeeperSource({ servers: zk.connectString, root: '/sofa-rpc', interface: HELLO_SERVICE, version: '1.0', group: 'SOFA', sessionTimeoutMs: 10_000 });
  const registry = stockRegistry(zk.connectString);
  try {
    await source.ready;
    const expected = [stable.ports['v1-a']!, leaving.ports['v1-b']!, variants.ports.weighted!].sort();
    await waitFor(() => ports(source.endpoints), (p) => p.length === 3, 'the xmesh source to list three providers');
    assert.deepEqual(ports(source.endpoints), expected, 'version 2.0, group GRAY and enabled=false are filtered out');
    assert.equal(source.endpoints.find((e) => e.port === variants.ports.weighted)?.weight, 50, 'the published weight');
    assert.equal(source.endpoints.find((e) => e.port === stable.ports['v1-a'])?.weight, 100, 'SOFA servers publish weight 100');

    await registry.ready();
    let stock: number[] = [];
    registry.subscribe({ interfaceName: HELLO_SERVICE, version: '1.0', group: 'SOFA' }, (list: string[]) => {
      stock = list.map((url) => Number(new URL(url).port)).sort();
    });
    await waitFor(() => stock, (p) => p.length === expected.length, "the stock registry's list");
    assert.deepEqual(stock, ports(source.endpoints));
  } finally {
    source.close();
    await registry.close();
  }
});

test('an EDS cluster with xmesh.zookeeper: calls reach the matching providers; a killed one leaves; ZooKeeper lost keeps the last good set', async () => {
  const config = boltConfig({
    virtualHosts: [{ name: 'hello', domains: [HELLO_SERVICE], routes: [{ match: { prefix: '/' }, route: { cluster: 'hello' } }] }],
    clusters: {},
    rawClusters: [zookeeperCluster('hello', { servers: zk.connectString, interface: HELLO_SERVICE, version: '1.0', group: 'SOFA' })],
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
