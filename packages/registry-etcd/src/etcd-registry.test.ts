import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import type { MeshError } from '@xmesh/core';
import type { RegistryInstance } from '@xmesh/discovery';
import { startEtcd, type EtcdCluster } from '../../../test/support/etcd-server.js';
import { EtcdRegistry, registerService, instanceKey } from './index.js';

/** Records a watch's updates; `until` waits for one that satisfies `check`. */
class Updates {
  readonly seen: (readonly RegistryInstance[])[] = [];
  private waiters: (() => void)[] = [];
  readonly listener = (list: readonly RegistryInstance[]) => {
    this.seen.push(list);
    for (const w of this.waiters.splice(0)) w();
  };
  get last(): readonly RegistryInstance[] | undefined {
    return this.seen[this.seen.length - 1];
  }
  async until(check: (list: readonly RegistryInstance[]) => boolean, timeoutMs = 10_000): Promise<readonly RegistryInstance[]> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const last = this.last;
      if (last !== undefined && check(last)) return last;
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no matching update within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }
}

const ports = (list: readonly RegistryInstance[] | undefined) => (list ?? []).map((i) => i.port).sort();

describe('etcd registry (real etcd)', () => {
  let etcd: EtcdCluster;
  let raw: Etcd3;
  const errors: MeshError[] = [];
  let registry: EtcdRegistry;

  before(async () => {
    etcd = await startEtcd();
    raw = new Etcd3({ hosts: etcd.endpoints.map((e) => `http://${e}`) });
    registry = new EtcdRegistry({ endpoints: etcd.url, onError: (e) => errors.push(e) });
  });
  after(async () => {
    await registry?.close();
    raw?.close();
    await etcd?.stop();
  });

  it('lists, then follows registrations, in-place updates and deregistration of one service', async () => {
    const updates = new Updates();
    const watch = registry.watchService('greeter', updates.listener);
    await watch.ready;
    assert.deepEqual(updates.seen, [[]], 'the first listing is handed on even when empty');
    const one = await registerService({ etcd: etcd.endpoints, service: 'greeter', address: '127.0.0.1', port: 7001, zone: 'z1', metadata: { version: 'v1' } });
    const two = await registerService({ etcd: etcd.url, service: 'greeter', address: '127.0.0.1', port: 7002 });
    await updates.until((l) => l.length === 2);
    const leaseBefore = (await raw.get(one.key).exec()).kvs[0]!.lease;
    await one.update({ weight: 7, healthy: false });
    const updated = await updates.until((l) => l.some((i) => i.port === 7001 && i.weight === 7));
    assert.deepEqual(updated.find((i) => i.port === 7001), { id: '127.0.0.1:7001', address: '127.0.0.1', port: 7001, weight: 7, zone: 'z1', healthy: false, metadata: { version: 'v1' } });
    assert.equal((await raw.get(one.key).exec()).kvs[0]!.lease, leaseBefore, 'updated in place, under the same lease');
    await assert.rejects(one.update({ weight: 0 }), /weight must be an integer/);
    await one.deregister();
    await one.deregister();
    assert.deepEqual(ports(await updates.until((l) => l.length === 1)), [7002]);
    assert.equal(await raw.get(one.key).string(), null, 'the key went with the lease');
    await two.deregister();
    await updates.until((l) => l.length === 0);
    watch.close();
  });

  it('a process killed with SIGKILL leaves the list when its lease expires (TTL 2 s)', async () => {
    const updates = new Updates();
    const watch = registry.watchService('crashy', updates.listener);
    await watch.ready;
    const child = spawn(process.execPath, ['--conditions=xmesh-source', '--import', 'tsx', join(import.meta.dirname, '..', 'test', 'register-and-wait.ts'), etcd.url, 'crashy', '7100', '2'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('registered')) resolve(); });
        child.once('exit', (code) => reject(new Error(`the registering process exited (${code})`)));
      });
      await updates.until((l) => l.length === 1);
      const killedAt = Date.now();
      child.kill('SIGKILL');
      await updates.until((l) => l.length === 0, 15_000);
      const tookMs = Date.now() - killedAt;
      // The lease ends it, not the closed connection: not before most of the TTL (the last keep-alive may
      // have been up to a third of it earlier). The upper bound only catches an entry that outlives its lease
      // by far: etcd checks expiry every 500 ms, and on a loaded machine its revocation and the watch event lag.
      assert.ok(tookMs >= 1_000, `left after ${tookMs} ms, before its lease could expire`);
      assert.ok(tookMs <= 2_000 + 8_000, `left after ${tookMs} ms`);
    } finally {
      child.kill('SIGKILL');
      watch.close();
    }
  });

  it('skips hostile values and keys, keeping the valid instances, and reports each', async () => {
    const updates = new Updates();
    const watch = registry.watchService('hostile', updates.listener);
    await watch.ready;
    const good = await registerService({ etcd: etcd.url, service: 'hostile', address: '127.0.0.1', port: 7200 });
    errors.length = 0;
    const key = (id: string) => instanceKey('/xmesh/services/', 'hostile', id);
    await raw.put(key('not-json')).value('{nope');
    await raw.put(key('bad-port')).value(JSON.stringify({ address: '127.0.0.1', port: 70000 }));
    await raw.put(key('array')).value('[1,2]');
    await raw.put(key('huge')).value(JSON.stringify({ address: '127.0.0.1', port: 7201, metadata: { x: 'y'.repeat(20_000) } }));
    await raw.put(key('proto')).value('{"address":"127.0.0.1","port":7202,"metadata":{"__proto__":"x","constructor":"y"}}');
    await raw.put(key('nested/id')).value(JSON.stringify({ address: '127.0.0.1', port: 7203 }));
    const list = await updates.until((l) => l.some((i) => i.port === 7202));
    assert.deepEqual(ports(list), [7200, 7202]);
    assert.equal(Object.getPrototypeOf(list.find((i) => i.port === 7202)!.metadata), Object.prototype);
    assert.ok(errors.length >= 4, `reported ${errors.length}`);
    assert.ok(errors.every((e) => e.code === 'XMESH_REGISTRY_UNAVAILABLE'));
    // A valid instance overwritten with garbage is no longer usable.
    await raw.put(good.key).value('garbage');
    assert.deepEqual(ports(await updates.until((l) => !l.some((i) => i.port === 7200))), [7202]);
    await good.deregister();
    watch.close();
  });

  it('follows only the services watched, and stops when the last watch closes; bursts are coalesced', async () => {
    const updates = new Updates();
    const first = registry.watchService('wanted', updates.listener);
    const second = registry.watchService('wanted', () => undefined);
    await first.ready;
    assert.deepEqual(registry.followedServices.filter((s) => s === 'wanted' || s === 'unwanted'), ['wanted']);
    const before = updates.seen.length;
    const burst = await Promise.all(Array.from({ length: 30 }, (_, i) => registerService({ etcd: etcd.url, service: 'wanted', address: '127.0.0.1', port: 7300 + i })));
    const noise = await registerService({ etcd: etcd.url, service: 'unwanted', address: '127.0.0.1', port: 7400 });
    await updates.until((l) => l.length === 30);
    assert.ok(updates.seen.length - before < 30, `30 registrations gave ${updates.seen.length - before} updates`);
    assert.ok(updates.seen.every((l) => l.every((i) => i.port !== 7400)), 'another service never shows up');
    first.close();
    assert.ok(registry.followedServices.includes('wanted'), 'still followed for the other watch');
    second.close();
    assert.ok(!registry.followedServices.includes('wanted'));
    await Promise.all([...burst, noise].map((r) => r.deregister()));
  });

  it('watchAll hands on every service first, then each changed service', async () => {
    const a = await registerService({ etcd: etcd.url, service: 'all-a', address: '127.0.0.1', port: 7500 });
    const seen: ReadonlyMap<string, readonly RegistryInstance[]>[] = [];
    const watch = registry.watchAll((changed) => seen.push(changed));
    await watch.ready;
    assert.deepEqual(ports(seen[0]!.get('all-a')), [7500]);
    const b = await registerService({ etcd: etcd.url, service: 'all-b', address: '127.0.0.1', port: 7501 });
    const end = Date.now() + 10_000;
    while (!seen.some((m) => m.has('all-b')) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    const update = seen.find((m) => m.has('all-b'))!;
    assert.deepEqual([...update.keys()], ['all-b'], 'only the changed service');
    await a.deregister();
    await b.deregister();
    watch.close();
  });

  it('keeps the last list while etcd is down, and follows changes again once it is back', async () => {
    const updates = new Updates();
    const watch = registry.watchService('survivor', updates.listener);
    await watch.ready;
    const kept = await registerService({ etcd: etcd.url, service: 'survivor', address: '127.0.0.1', port: 7600, ttlSeconds: 5 });
    let late: Awaited<ReturnType<typeof registerService>> | undefined;
    try {
      await updates.until((l) => l.length === 1);
      const listedAt = updates.seen.length - 1;
      const member = etcd.members[0]!;
      await member.kill();
      await new Promise((r) => setTimeout(r, 1_500));
      assert.deepEqual(ports(updates.last), [7600], 'nothing changed while etcd was down');
      await member.restart();
      late = await registerService({ etcd: etcd.url, service: 'survivor', address: '127.0.0.1', port: 7601 });
      assert.deepEqual(ports(await updates.until((l) => l.length === 2, 15_000)), [7600, 7601]);
      assert.ok(updates.seen.slice(listedAt).every((l) => l.length > 0), 'never an empty list on the way');
    } finally {
      await kept.deregister();
      await late?.deregister();
    }
    watch.close();
  });
});
