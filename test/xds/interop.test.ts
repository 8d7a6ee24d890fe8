// Interop: a stock @grpc/grpc-js-xds client (xds:/// target, bootstrap from GRPC_XDS_BOOTSTRAP_CONFIG)
// and an xmesh client (ADS client → createMesh/update) consume our control plane; their calls land
// where the snapshot says, in the same proportions.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { ControlPlane, silentLogger } from '@xmesh/control-plane';
import { XdsClient, type XdsBootstrap } from '@xmesh/discovery';
import { createMesh, type Mesh } from '@xmesh/client';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { runConcurrently, unary } from '../support/grpc-call.js';
import { echoResources, ECHO_LISTENER } from './echo-resources.js';

const { EchoClient: EchoCtor } = loadEcho();
/**
 * Weighted clusters are picked at random: over 6 000 calls one standard deviation of a 70 % share is
 * 0.59 %, so the ±3 % bound is five of them and the ±5 % bound between two clients four and a half.
 */
const CALLS = 6000;

function shareOf(servers: string[], name: string): number {
  return servers.filter((s) => s.startsWith(`${name}@`)).length / servers.length;
}

async function callMany(client: EchoClient, n: number, metadata?: grpc.Metadata): Promise<string[]> {
  const replies = await runConcurrently(n, 32, () => unary(client, { message: 'x' }, { deadline: Date.now() + 5000 }, 'Echo', metadata?.clone()));
  return replies.map((r) => r.server);
}

/** Calls until one lands on `name`; resolves with the ms it took, rejects after `limitMs`. */
async function firstLandingOn(client: EchoClient, name: string, limitMs: number): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < limitMs) {
    const reply = await unary(client, { message: 'probe' }, { deadline: Date.now() + 2000 });
    if (reply.server.startsWith(`${name}@`)) return performance.now() - started;
  }
  throw new Error(`no call reached ${name} within ${limitMs} ms`);
}

describe('interop with a stock grpc-js-xds client', () => {
  const servers: Record<string, EchoServer> = {};
  const plane = new ControlPlane({ logger: silentLogger });
  let xdsEcho: EchoClient;
  let bootstrap: XdsBootstrap;
  const resources = (aServer: 'a' | 'a2') => echoResources({
    endpoints: { 'echo-a': [servers[aServer]!.port], 'echo-b': [servers['b']!.port], 'echo-canary': [servers['canary']!.port] },
    split: { 'echo-a': 70, 'echo-b': 30 },
    canary: 'echo-canary',
  });

  before(async () => {
    for (const name of ['a', 'b', 'canary', 'a2']) servers[name] = await startEchoServer(name);
    plane.setSnapshot('v1', resources('a'));
    const port = await plane.listen(0);
    bootstrap = {
      xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'interop-node', cluster: 'interop', locality: { zone: 'a' } },
    };
    // grpc-js-xds reads and caches the bootstrap when the first xds: channel is created.
    process.env['GRPC_XDS_BOOTSTRAP_CONFIG'] = JSON.stringify(bootstrap);
    const xds = await import('@grpc/grpc-js-xds');
    xds.register();
    xdsEcho = new EchoCtor(`xds:///${ECHO_LISTENER}`, grpc.credentials.createInsecure()) as EchoClient;
  });

  after(async () => {
    xdsEcho?.close();
    await plane.close();
    await Promise.all(Object.values(servers).map((s) => s.close()));
  });

  test('a 70/30 weighted split holds within 3 % over 6 000 calls', async () => {
    const landed = await callMany(xdsEcho, CALLS);
    const a = shareOf(landed, 'a');
    const b = shareOf(landed, 'b');
    assert.ok(Math.abs(a - 0.7) <= 0.03, `echo-a got ${(a * 100).toFixed(1)} %`);
    assert.ok(Math.abs(b - 0.3) <= 0.03, `echo-b got ${(b * 100).toFixed(1)} %`);
    assert.equal(a + b, 1, 'no call went elsewhere');
  });

  test('a header routes to the canary cluster', async () => {
    const md = new grpc.Metadata();
    md.set('x-canary', 'true');
    const landed = await callMany(xdsEcho, 100, md);
    assert.equal(shareOf(landed, 'canary'), 1);
  });

  test('an endpoint change is followed at once (here within 10 s, whatever the machine\'s load)', async () => {
    plane.setSnapshot('v2', resources('a2'));
    // Usually well under a second; the bound only tells a change that is followed from one that is not.
    const ms = await firstLandingOn(xdsEcho, 'a2', 10_000);
    assert.ok(ms < 10_000, `took ${ms} ms`);
    const landed = await callMany(xdsEcho, 300);
    assert.equal(shareOf(landed, 'a'), 0, 'the removed endpoint gets no more calls');
    plane.setSnapshot('v3', resources('a'));
    await firstLandingOn(xdsEcho, 'a', 10_000);
  });

  describe('an xmesh client on the same control plane', () => {
    let ads: XdsClient;
    let mesh: Mesh;
    let meshEcho: EchoClient;

    before(async () => {
      ads = new XdsClient({ bootstrap: { ...bootstrap, node: { id: 'xmesh-node' } }, listeners: [ECHO_LISTENER] });
      ads.start();
      mesh = await createMesh({ config: await ads.ready(), listener: ECHO_LISTENER });
      ads.onSnapshot((s) => {
        if (s !== mesh.snapshot) void mesh.update(s).catch(() => undefined);
      });
      meshEcho = mesh.grpcClient(EchoCtor, `${ECHO_LISTENER}:80`) as EchoClient;
    });

    after(async () => {
      meshEcho?.close();
      await mesh?.close();
      await ads?.close();
    });

    test('reaches the same upstreams as grpc-js-xds, in the same proportions', async () => {
      const [viaXds, viaMesh] = await Promise.all([callMany(xdsEcho, CALLS), callMany(meshEcho, CALLS)]);
      for (const name of ['a', 'b']) {
        const x = shareOf(viaXds, name);
        const m = shareOf(viaMesh, name);
        assert.ok(Math.abs(m - (name === 'a' ? 0.7 : 0.3)) <= 0.03, `xmesh: ${name} got ${(m * 100).toFixed(1)} %`);
        assert.ok(Math.abs(x - m) <= 0.05, `${name}: grpc-js-xds ${(x * 100).toFixed(1)} % vs xmesh ${(m * 100).toFixed(1)} %`);
      }
      assert.deepEqual(new Set(viaMesh.map((s) => s.split('@')[1])), new Set(viaXds.map((s) => s.split('@')[1])));
      const md = new grpc.Metadata();
      md.set('x-canary', 'true');
      assert.equal(shareOf(await callMany(meshEcho, 50, md), 'canary'), 1);
    });

    test('follows an endpoint change at once, like grpc-js-xds', async () => {
      plane.setSnapshot('v4', resources('a2'));
      const [x, m] = await Promise.all([firstLandingOn(xdsEcho, 'a2', 10_000), firstLandingOn(meshEcho, 'a2', 10_000)]);
      assert.ok(x < 10_000 && m < 10_000, `grpc-js-xds ${x} ms, xmesh ${m} ms`);
    });
  });
});
