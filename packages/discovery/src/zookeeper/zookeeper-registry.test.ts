/**
 * ZooKeeperRegistry as a ServiceRegistry, on a real ZooKeeper whose provider nodes are written the
 * way sofa-rpc-node publishes them: watchAll hands on only the interfaces whose lists changed (what
 * the control plane serves as one resource each), watchService follows one interface, and a
 * registry that cannot reach ZooKeeper settles its watches within its connect bound.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import zookeeper from 'node-zookeeper-client';
import type { MeshError } from '@xmesh/core';
import type { RegistryInstance } from '../registry/registry.js';
import { ZooKeeperRegistry } from './zookeeper-registry.js';
import { startZooKeeper, type ZooKeeper } from '../../../../test/support/zookeeper.js';
import { waitFor } from '../../../../test/support/wait-for.js';

type ZkClient = ReturnType<typeof zookeeper.createClient>;

let zk: ZooKeeper;
let writer: ZkClient;

before(async () => {
  zk = await startZooKeeper();
  writer = zookeeper.createClient(zk.connectString);
  await new Promise<void>((resolve) => {
    writer.once('connected', () => resolve());
    writer.connect();
  });
});

after(async () => {
  writer.close();
  await zk.stop();
});

/** A provider node as sofa-rpc-node names it (the URL, encoded, under `<root>/<interface>/providers`). */
function providerPath(iface: string, port: number, query = ''): string {
  const url = `bolt://127.0.0.1:${port}?interface=${iface}&version=1.0&group=SOFA&weight=100&serialization=hessian2${query}`;
  return `/sofa-rpc/${iface}/providers/${encodeURIComponent(url)}`;
}

function publish(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    writer.mkdirp(path.slice(0, path.lastIndexOf('/')), (error) => {
      if (error) return reject(error);
      writer.create(path, zookeeper.CreateMode.EPHEMERAL, (e) => (e ? reject(e) : resolve()));
    });
  });
}

function unpublish(path: string): Promise<void> {
  return new Promise((resolve, reject) => writer.remove(path, -1, (e) => (e ? reject(e) : resolve())));
}

const ports = (list: readonly RegistryInstance[] | undefined) => (list ?? []).map((i) => i.port).sort((a, b) => a - b);

test('watchAll: the first call lists every interface; later ones carry only the interfaces that changed', async () => {
  await publish(providerPath('a.Service', 1001));
  await publish(providerPath('b.Service', 2001));
  await publish(providerPath('b.Service', 2002, '&enabled=false'));
  const registry = new ZooKeeperRegistry({ servers: zk.connectString, version: '1.0', group: 'SOFA' });
  const calls: ReadonlyMap<string, readonly RegistryInstance[]>[] = [];
  const watch = registry.watchAll((changed) => calls.push(changed));
  try {
    await watch.ready;
    const seen = new Map<string, readonly RegistryInstance[]>();
    for (const call of calls) for (const [service, list] of call) seen.set(service, list);
    assert.deepEqual(ports(seen.get('a.Service')), [1001]);
    assert.deepEqual(ports(seen.get('b.Service')), [2001], 'enabled=false is not served');

    let from = calls.length;
    await publish(providerPath('a.Service', 1002));
    await waitFor(() => calls.length, (n) => n > from, 'a change of a.Service');
    assert.deepEqual(calls.slice(from).map((c) => [...c.keys()]), [['a.Service']], 'only the changed interface');
    assert.deepEqual(ports(calls[calls.length - 1]!.get('a.Service')), [1001, 1002]);

    from = calls.length;
    await unpublish(providerPath('b.Service', 2001));
    await waitFor(() => calls.length, (n) => n > from, 'b.Service emptied');
    assert.deepEqual(calls.slice(from).map((c) => [...c.entries()].map(([s, l]) => [s, ports(l)])), [[['b.Service', []]]]);

    from = calls.length;
    await publish(providerPath('c.Service', 3001));
    await waitFor(() => calls.length, (n) => n > from, 'a new interface');
    assert.deepEqual(calls.slice(from).map((c) => [...c.entries()].map(([s, l]) => [s, ports(l)])), [[['c.Service', [3001]]]]);
  } finally {
    watch.close();
    await registry.close();
  }
});

test('watchService follows one interface: providers added and gone, other interfaces unheard', async () => {
  const registry = new ZooKeeperRegistry({ servers: zk.connectString });
  let heard: readonly RegistryInstance[] | undefined;
  let calls = 0;
  const watch = registry.watchService('d.Service', (list) => {
    heard = list;
    calls++;
  });
  try {
    await watch.ready;
    assert.deepEqual(ports(heard), [], 'an interface no provider ever published has none');
    await publish(providerPath('d.Service', 4001));
    await waitFor(() => ports(heard), (p) => p.length === 1, 'the provider published after the first listing');
    const before = calls;
    await publish(providerPath('e.Service', 5001));
    await unpublish(providerPath('d.Service', 4001));
    await waitFor(() => ports(heard), (p) => p.length === 0, 'the provider gone');
    assert.equal(calls, before + 1, 'e.Service is not followed');
    assert.deepEqual(heard, []);
  } finally {
    watch.close();
    await registry.close();
  }
});

test('no ZooKeeper to reach: watches settle within the connect bound, empty, the failure reported', async () => {
  const errors: MeshError[] = [];
  // Nothing listens on port 1; the session timeout (120 s) is not what start-up waits for.
  const registry = new ZooKeeperRegistry({ servers: '127.0.0.1:1', sessionTimeoutMs: 120_000, connectTimeoutMs: 300, onError: (e) => errors.push(e) });
  let heard: readonly RegistryInstance[] | undefined;
  const started = Date.now();
  const one = registry.watchService('a.Service', (list) => (heard = list));
  const all = registry.watchAll(() => undefined);
  try {
    await Promise.all([one.ready, all.ready]);
    assert.ok(Date.now() - started < 20_000, `settled after ${Date.now() - started} ms`);
    assert.deepEqual(heard ?? [], []);
    assert.equal(errors[0]?.code, 'XMESH_REGISTRY_UNAVAILABLE');
  } finally {
    one.close();
    all.close();
    await registry.close();
  }
});
