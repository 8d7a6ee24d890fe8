// Embedded mode reading the etcd registry directly (real etcd, real gRPC servers): registrations,
// weight and health changes reach the picker; a SIGKILLed replica leaves within its TTL; etcd
// stopped and restarted under load and a rolling restart of three replicas cost no call.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createMesh, type Mesh } from '@xmesh/client';
import { registerService, shutdownGracefully, type Registration } from '@xmesh/registry-etcd';
import { startEtcd, type EtcdCluster } from '../support/etcd-server.js';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { runConcurrently, unary } from '../support/grpc-call.js';
import { eventually, shareOf, sleep, startLoad } from '../support/steady-load.js';
import { REGISTRY_LISTENER, registryResources } from '../support/registry-config.js';

const { EchoClient: EchoCtor } = loadEcho();

interface Replica {
  readonly server: EchoServer;
  readonly registration: Registration;
}

describe('embedded mode on the etcd registry', () => {
  let etcd: EtcdCluster;
  let mesh: Mesh;
  let client: EchoClient;
  const replicas = new Map<string, Replica>();

  const startReplica = async (name: string, ttlSeconds = 10): Promise<Replica> => {
    const server = await startEchoServer(name);
    const registration = await registerService({ etcd: etcd.url, service: 'echo', address: '127.0.0.1', port: server.port, ttlSeconds });
    const replica = { server, registration };
    replicas.set(name, replica);
    return replica;
  };
  const stopReplica = async (name: string) => {
    const replica = replicas.get(name)!;
    replicas.delete(name);
    await shutdownGracefully(replica.registration, { propagationMs: 500, close: () => replica.server.close() });
  };
  const endpointPorts = () => (mesh.state() as { clusters: ReadonlyMap<string, { endpoints: readonly { port: number }[] }> }).clusters.get('echo')!.endpoints.map((e) => e.port);
  const callMany = async (n: number) => (await runConcurrently(n, 16, () => unary(client, { message: 'x' }, { deadline: Date.now() + 5000 }))).map((r) => r.server);

  before(async () => {
    etcd = await startEtcd();
    for (const name of ['a', 'b', 'c']) await startReplica(name);
    mesh = await createMesh({ config: registryResources(etcd.endpoints), listener: REGISTRY_LISTENER });
    client = mesh.grpcClient(EchoCtor, `${REGISTRY_LISTENER}:80`) as EchoClient;
  });

  after(async () => {
    client?.close();
    await mesh?.close();
    for (const { server, registration } of replicas.values()) {
      await registration.deregister();
      await server.close();
    }
    await etcd?.stop();
  });

  test('starts with every registered replica, and weight and health changes reach the picker', async () => {
    assert.equal(endpointPorts().length, 3, 'createMesh resolved with the registry\'s first listing');
    let landed = await callMany(600);
    for (const name of ['a', 'b', 'c']) assert.ok(Math.abs(shareOf(landed, name) - 1 / 3) < 0.05, `${name}: ${shareOf(landed, name)}`);

    await replicas.get('a')!.registration.update({ weight: 3 });
    await replicas.get('c')!.registration.update({ healthy: false });
    await eventually('the new weight and health in the picker', () => {
      const endpoints = (mesh.state() as { clusters: ReadonlyMap<string, { endpoints: readonly { port: number; weight: number; healthStatus: string }[] }> }).clusters.get('echo')!.endpoints;
      return endpoints.some((e) => e.weight === 3) && endpoints.some((e) => e.healthStatus === 'UNHEALTHY');
    });
    landed = await callMany(800);
    assert.equal(shareOf(landed, 'c'), 0, 'an unhealthy instance gets no call');
    assert.ok(Math.abs(shareOf(landed, 'a') - 0.75) < 0.05, `a (weight 3 of 4): ${shareOf(landed, 'a')}`);
    await replicas.get('a')!.registration.update({ weight: 1 });
    await replicas.get('c')!.registration.update({ healthy: true });
    await eventually('back to equal weights', () => callMany(1).then(() => true) && endpointPorts().length === 3);
  });

  test('a replica killed with SIGKILL leaves the pool within its lease TTL (2 s)', async () => {
    const child = spawn(process.execPath, ['--conditions=xmesh-source', '--import', 'tsx', join(import.meta.dirname, 'echo-replica.ts'), etcd.url, 'echo', 'doomed', '2'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => {
          const m = /registered (\d+)/.exec(d.toString());
          if (m) resolve(Number(m[1]));
        });
        child.once('exit', (code) => reject(new Error(`replica exited (${code})`)));
      });
      await eventually('the new replica in the pool', () => endpointPorts().includes(port));
      const killedAt = Date.now();
      child.kill('SIGKILL');
      const tookMs = await eventually('the killed replica out of the pool', () => !endpointPorts().includes(port), 15_000);
      // Generous on the side a loaded machine moves (etcd checks expiry every 500 ms, then revokes and notifies
      // the watch): the bound only catches a replica that outlives its lease by far.
      assert.ok(Date.now() - killedAt <= 2_000 + 8_000, `left after ${tookMs} ms (TTL 2 s)`);
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('etcd stopped and restarted under load: no call fails, the endpoints are kept, changes are followed after', async () => {
    const load = startLoad(client, 8);
    try {
      await sleep(300);
      await etcd.members[0]!.kill();
      await sleep(1_500);
      assert.equal(endpointPorts().length, 3, 'the last good endpoints stay while etcd is down');
      await etcd.members[0]!.restart();
      await sleep(500);
    } finally {
      await load.stop();
    }
    assert.deepEqual(load.failures, []);
    assert.ok(load.landed.length > 100, `only ${load.landed.length} calls`);
    const d = await startReplica('d');
    await eventually('a replica registered after the restart in the pool', () => endpointPorts().includes(d.server.port), 15_000);
    await stopReplica('d');
    await eventually('and out again', () => !endpointPorts().includes(d.server.port));
  });

  test('a rolling restart of the three replicas at concurrency 16 costs no call', async () => {
    const load = startLoad(client, 16);
    const before = [...replicas.keys()];
    try {
      // One at a time, as a deployment replaces them: the old one leaves (deregistered, drained), then its successor joins.
      for (const name of before) {
        await stopReplica(name);
        const next = `${name}2`;
        await startReplica(next);
        await eventually(`${next} in the pool`, () => endpointPorts().includes(replicas.get(next)!.server.port));
      }
      await sleep(300);
    } finally {
      await load.stop();
    }
    assert.deepEqual(load.failures, [], `${load.failures.length} of ${load.failures.length + load.landed.length} calls failed`);
    const tail = load.landed.slice(-200);
    assert.ok(tail.every((s) => /^[abc]2@/.test(s)), 'the last calls all went to the new replicas');
    assert.ok(load.landed.length > 200, `only ${load.landed.length} calls`);
  });
});
