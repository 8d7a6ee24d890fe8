/**
 * Interop (e): a stock provider killed (SIGKILL) in the middle of load. Its ZooKeeper session ends,
 * its ephemeral node vanishes and the mesh drops the endpoint; until then its calls fail over by the
 * route's retry policy (reset, connect-failure) to the other providers: zero failed calls.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMesh } from '@xmesh/client';
import { MeshRpcClient } from '@xmesh/bolt';
import { boltConfig, clusterEndpoints, zookeeperClusters } from '../support/bolt-config.js';
import { failures, runLoad } from '../support/load.js';
import { HELLO_SERVICE, spawnProviders, type ProviderProcess } from '../support/sofa.js';
import { startZooKeeper, type ZooKeeper } from '../support/zookeeper.js';
import { waitFor } from '../support/wait-for.js';

let zk: ZooKeeper;
let providers: ProviderProcess[] = [];

before(async () => {
  zk = await startZooKeeper();
  providers = await Promise.all(['p1', 'p2', 'p3'].map((name) => spawnProviders({ zookeeper: zk.connectString, providers: [{ name, publish: true }] })));
});

after(async () => {
  await Promise.all(providers.map((p) => p.close()));
  await zk.stop();
});

test('a provider killed mid-load: its endpoint goes with its ephemeral node, and no call fails', async () => {
  const config = boltConfig({
    virtualHosts: [{
      name: 'hello',
      domains: [HELLO_SERVICE],
      routes: [{
        match: { prefix: '/' },
        route: {
          cluster: 'hello',
          retry_policy: { retry_on: 'connect-failure,reset,5xx', num_retries: 3, retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }] },
        },
      }],
    }],
    clusters: {},
    rawClusters: zookeeperClusters('hello', zk.connectString, HELLO_SERVICE, {}, { connect_timeout: '0.5s', circuit_breakers: { thresholds: [{ max_retries: 100 }] } }),
  });
  const mesh = await createMesh({ config });
  const client = new MeshRpcClient(mesh);
  const endpoints = () => clusterEndpoints(mesh, 'hello');
  try {
    await waitFor(endpoints, (e) => e.length === 3, 'three providers');
    const consumer = client.createConsumer({ interfaceName: HELLO_SERVICE });
    const seen = new Map<string, number>();
    const killed = providers[1]!;
    const kill = (async () => {
      await new Promise((r) => setTimeout(r, 800));
      await killed.kill();
    })();
    const [load] = await Promise.all([
      runLoad({ concurrency: 8, maxMs: 6_000 }, async () => {
        const who = String(await consumer.invoke('whoami', [], { responseTimeout: 10_000 }));
        seen.set(who, (seen.get(who) ?? 0) + 1);
      }),
      kill,
    ]);
    assert.equal(load.resolved, load.started, 'every call started ended');
    assert.deepEqual(failures(load.calls).map((c) => String(!c.result.ok && c.result.error)), [], 'no call failed');
    assert.ok((seen.get('p2') ?? 0) > 0, 'p2 served calls before it was killed');
    await waitFor(endpoints, (e) => e.length === 2, "the killed provider's node to vanish", 20_000);
    assert.ok(!endpoints().some((e) => e.port === killed.ports.p2));
    const after: string[] = [];
    for (let i = 0; i < 20; i++) after.push(String(await consumer.invoke('whoami', [])));
    assert.deepEqual([...new Set(after)].sort(), ['p1', 'p3']);
    assert.ok(mesh.observability.store.value('cluster.hello.upstream_rq_retry') >= 1, 'calls in flight on p2 were retried');
  } finally {
    await client.close();
    await mesh.close();
  }
});
