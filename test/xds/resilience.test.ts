// The ADS client when the control plane goes away: calls keep flowing on the last good snapshot,
// the stream comes back with backoff and config resumes; a restart with the control plane down
// starts from the on-disk cache.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane, silentLogger } from '@xmesh/control-plane';
import { XdsClient, type XdsBootstrap } from '@xmesh/discovery';
import { createMesh, type Mesh } from '@xmesh/client';
import { loadEnvoyProtos, type MeshSnapshot } from '@xmesh/xds';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { unary } from '../support/grpc-call.js';
import { echoResources, ECHO_LISTENER } from './echo-resources.js';

const { EchoClient: EchoCtor } = loadEcho();
const protos = loadEnvoyProtos();

const bootstrapFor = (port: number, id: string): XdsBootstrap => ({
  xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
  node: { id },
});

async function meshFrom(ads: XdsClient): Promise<Mesh> {
  const mesh = await createMesh({ config: await ads.ready(), listener: ECHO_LISTENER });
  // onSnapshot replays the current snapshot, so one that arrived while the mesh was starting is not lost.
  ads.onSnapshot((s) => {
    if (s !== mesh.snapshot) void mesh.update(s).catch(() => undefined);
  });
  return mesh;
}

describe('ADS client resilience', () => {
  const servers: Record<string, EchoServer> = {};
  const dir = mkdtempSync(join(tmpdir(), 'xmesh-ads-'));
  const only = (name: string) => echoResources({ endpoints: { echo: [servers[name]!.port] }, split: { echo: 1 } });

  before(async () => {
    for (const name of ['one', 'two']) servers[name] = await startEchoServer(name);
  });
  after(async () => {
    await Promise.all(Object.values(servers).map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  test('control plane killed mid-load and restarted: zero failed calls, config resumes', async () => {
    let plane = new ControlPlane({ protos, logger: silentLogger });
    plane.setSnapshot('v1', only('one'));
    const port = await plane.listen(0);
    const ads = new XdsClient({ protos, bootstrap: bootstrapFor(port, 'resilience') , listeners: [ECHO_LISTENER] }).start();
    const mesh = await meshFrom(ads);
    const echo = mesh.grpcClient(EchoCtor, `${ECHO_LISTENER}:80`) as EchoClient;
    const landed: string[] = [];
    const failures: string[] = [];
    let running = true;
    const load = Promise.all(Array.from({ length: 8 }, async () => {
      while (running) {
        try {
          landed.push((await unary(echo, { message: 'load' }, { deadline: Date.now() + 3000 })).server.split('@')[0]!);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    }));
    try {
      await waitFor(() => landed.length > 200);
      const connection: boolean[] = [];
      ads.on('connection', (c) => connection.push(c.connected));
      await plane.close();
      const atKill = landed.length;
      await waitFor(() => connection.includes(false));
      await waitFor(() => landed.length > atKill + 500);

      plane = new ControlPlane({ protos, logger: silentLogger });
      plane.setSnapshot('v2', only('two'));
      await plane.listen(port);
      await waitFor(() => landed.slice(-50).every((s) => s === 'two') && landed.slice(-50).length === 50, 10_000);
      assert.ok(connection.includes(true), 'the stream came back');
    } finally {
      running = false;
      await load;
      echo.close();
      await mesh.close();
      await ads.close();
      await plane.close();
    }
    assert.deepEqual(failures, []);
    assert.ok(landed.includes('one') && landed.includes('two'));
  });

  test('a NACKed update leaves the old config serving', async () => {
    // Two clusters, both always served; the route decides which one gets the calls.
    const routedTo = (cluster: string, badRegex = false) => {
      const set = echoResources({ endpoints: { echo: [servers['one']!.port], echo2: [servers['two']!.port] }, split: { [cluster]: 1 } });
      if (badRegex) {
        const vh = (set[1]!['virtual_hosts'] as { routes: unknown[] }[])[0]!;
        vh.routes.unshift({ match: { safe_regex: { regex: '((' } }, route: { cluster: 'echo' } });
      }
      return set;
    };
    const plane = new ControlPlane({ protos, logger: silentLogger });
    plane.setSnapshot('good-1', routedTo('echo'));
    const port = await plane.listen(0);
    const ads = new XdsClient({ protos, bootstrap: bootstrapFor(port, 'nack'), listeners: [ECHO_LISTENER], wildcardClusters: true }).start();
    const mesh = await meshFrom(ads);
    const echo = mesh.grpcClient(EchoCtor, `${ECHO_LISTENER}:80`) as EchoClient;
    try {
      const nacked = new Promise<{ version: string; message: string }>((resolve) => plane.once('nack', resolve));
      // Would send every call to echo2, but one of its routes has an invalid RE2 regex: rejected whole.
      plane.setSnapshot('bad-2', routedTo('echo2', true));
      const nack = await nacked;
      assert.equal(nack.version, 'good-1', 'the NACK names the version still in force');
      assert.match(nack.message, /RouteConfiguration "echo-routes"\.virtual_hosts\[0\]\.routes\[0\]\.match\.safe_regex\.regex: invalid RE2 regex/);
      for (let i = 0; i < 20; i++) assert.match((await unary(echo, { message: 'n' }, { deadline: Date.now() + 3000 })).server, /^one@/);
      assert.match(ads.snapshot!.version, /RouteConfiguration=good-1/);

      plane.setSnapshot('good-3', routedTo('echo2'));
      await waitFor(() => ads.snapshot!.version.includes('RouteConfiguration=good-3'));
      await waitFor(() => mesh.snapshot.version === ads.snapshot!.version);
      assert.match((await unary(echo, { message: 'n' }, { deadline: Date.now() + 3000 })).server, /^two@/);
    } finally {
      echo.close();
      await mesh.close();
      await ads.close();
      await plane.close();
    }
  });

  test('cache cold start: with the control plane down, a restart starts from the cache (warning with its age)', async () => {
    const cachePath = join(dir, 'xds-cache.json');
    const plane = new ControlPlane({ protos, logger: silentLogger });
    plane.setSnapshot('cached-v1', only('one'));
    const port = await plane.listen(0);
    const first = new XdsClient({ protos, bootstrap: bootstrapFor(port, 'cache'), listeners: [ECHO_LISTENER], cachePath, wallClock: () => 1_000_000 }).start();
    await new Promise<MeshSnapshot>((resolve) => first.once('snapshot', resolve));
    // The cache is written asynchronously, atomically (temp file + rename): wait for the file itself.
    await waitFor(() => existsSync(cachePath));
    await first.close();
    await plane.close();

    const warnings: string[] = [];
    const restarted = new XdsClient({ protos, bootstrap: bootstrapFor(port, 'cache'), listeners: [ECHO_LISTENER], cachePath, wallClock: () => 1_042_000 });
    restarted.on('warning', (w) => warnings.push(w));
    restarted.start();
    try {
      assert.ok(restarted.snapshot, 'a snapshot from the cache, before any control plane answered');
      assert.match(warnings[0] ?? '', /starting from cached xDS resources .*saved 42 s ago/);
      const mesh = await meshFrom(restarted);
      const echo = mesh.grpcClient(EchoCtor, `${ECHO_LISTENER}:80`) as EchoClient;
      try {
        const reply = await unary(echo, { message: 'cold' }, { deadline: Date.now() + 3000 });
        assert.match(reply.server, /^one@/);
      } finally {
        echo.close();
        await mesh.close();
      }
    } finally {
      await restarted.close();
    }
  });
});

async function waitFor(cond: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
