// The client's mode switch against a real xmesh sidecar: sidecar mode for the grpc-js drop-in and
// for fetch, per-cluster overrides, the ramp, XMESH_MODE, and live flips under load.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { createMesh, type Mesh } from '@xmesh/client';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { closedPort, loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { bootstrap } from '../support/mesh-config.js';
import { runConcurrently, unary } from '../support/grpc-call.js';
import { waitFor } from '../support/wait.js';

const { EchoClient: EchoCtor } = loadEcho();
const TARGET = 'echo.svc:50051';

describe('mode switch through the xmesh sidecar', () => {
  let stable: EchoServer;
  let canary: EchoServer;
  let web: HttpServer;
  let webAddress: string;
  let sidecar: Sidecar;
  let config: (stableAddress: string) => object;

  const viaSidecar = () => sidecar.stats.downstream_rq_total;
  const canaryMetadata = () => {
    const md = new grpc.Metadata();
    md.set('x-canary', 'yes');
    return md;
  };

  before(async () => {
    stable = await startEchoServer('stable');
    canary = await startEchoServer('canary');
    web = createHttpServer((req, res) => res.end(`web ${req.url} host=${req.headers.host}`));
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    webAddress = `127.0.0.1:${(web.address() as { port: number }).port}`;
    config = (stableAddress) => bootstrap({
      routes: [
        { prefix: '/web', cluster: 'web' },
        { prefix: '/', headers: { 'x-canary': 'yes' }, cluster: 'canary' },
        { prefix: '/', cluster: 'stable' },
      ],
      clusters: { stable: [stableAddress], canary: [canary.address], web: [webAddress] },
      http2: ['stable', 'canary'],
    });
    sidecar = await startSidecar({ config: config(stable.address), listen: '127.0.0.1:0', admin: false });
  });

  after(async () => {
    await sidecar.close();
    await Promise.all([stable.close(), canary.close()]);
    web.close();
  });

  async function meshWith(options: Partial<Parameters<typeof createMesh>[0]>, stableAddress = stable.address): Promise<{ mesh: Mesh; echo: EchoClient }> {
    const mesh = await createMesh({ config: config(stableAddress), env: {}, ...options, sidecar: { address: sidecar.target, ...options.sidecar } });
    return { mesh, echo: mesh.grpcClient(EchoCtor, TARGET) as EchoClient };
  }

  test('sidecar mode: grpc-js drop-in calls go through the sidecar with the logical authority, and skip the app-side balancing', async () => {
    // The app's own config points `stable` at a closed port: only the sidecar's routing can reach it.
    const { mesh, echo } = await meshWith({ mode: 'sidecar' }, `127.0.0.1:${await closedPort()}`);
    const before = viaSidecar();
    const replies = await runConcurrently(200, 16, () => unary(echo, { message: 'm' }));
    assert.ok(replies.every((r) => r.server.startsWith('stable@')));
    const toCanary = await unary(echo, { message: 'c' }, {}, 'Echo', canaryMetadata());
    assert.ok(toCanary.server.startsWith('canary@'), toCanary.server);
    assert.equal(viaSidecar() - before, 201);
    assert.equal(canary.lastMetadata?.get('x-canary')[0], 'yes');
    // The app's stats count what it saw, under the sidecar mode; no cluster of its own was used.
    const store = mesh.observability.store;
    assert.equal(store.value('xmesh.sidecar.upstream_rq_total'), 201);
    assert.equal(store.value('xmesh.sidecar.upstream_rq_200'), 201);
    assert.equal(store.value('cluster.stable.upstream_rq_total'), 0);
    echo.close();
    await mesh.close();
  });

  test("sidecar mode: server-streaming and bidi calls go through the sidecar, without grpc-js's Client layer", async () => {
    const { mesh, echo } = await meshWith({ mode: 'sidecar' }, `127.0.0.1:${await closedPort()}`);
    const stockStream = new EchoCtor(stable.address, grpc.credentials.createInsecure()) as EchoClient;
    try {
      const before = viaSidecar();
      const replies = echo.serverStream({ message: 's', count: 3 });
      const received: string[] = [];
      replies.on('data', (reply: { message: string; server: string }) => received.push(`${reply.message}@${reply.server.split('@')[0]}`));
      const [status] = (await once(replies, 'status')) as [grpc.StatusObject];
      assert.equal(status.code, grpc.status.OK);
      assert.deepEqual(received, ['s#0@stable', 's#1@stable', 's#2@stable']);
      const bidi = echo.bidi();
      const echoed: string[] = [];
      bidi.on('data', (reply: { message: string }) => echoed.push(reply.message));
      bidi.write({ message: 'a' });
      bidi.write({ message: 'b' });
      bidi.end();
      const [bidiStatus] = (await once(bidi, 'status')) as [grpc.StatusObject];
      assert.equal(bidiStatus.code, grpc.status.OK);
      assert.deepEqual(echoed, ['echo:a', 'echo:b']);
      assert.equal(viaSidecar() - before, 2);
      // The call objects are the mesh's, not grpc-js's `Client` streams (a stock client's, for comparison).
      const stock = stockStream.serverStream({ message: 's', count: 0 });
      assert.notEqual(replies.constructor, stock.constructor);
      await once(stock, 'status');
    } finally {
      stockStream.close();
      echo.close();
      await mesh.close();
    }
  });

  test('sidecar mode: an xds:/// target goes to the sidecar carrying its name as :authority, without waiting for a listener the app lacks', async () => {
    const { mesh } = await meshWith({ mode: 'sidecar' });
    const echo = mesh.grpcClient(EchoCtor, `xds:///${TARGET}`) as EchoClient;
    try {
      const before = viaSidecar();
      // The app's config has no listener named like the target: the sidecar routes the call, not the app.
      const reply = await unary(echo, { message: 'x' }, { deadline: Date.now() + 5000 });
      assert.ok(reply.server.startsWith('stable@'), reply.server);
      assert.equal(stable.lastAuthority, TARGET);
      assert.equal(viaSidecar() - before, 1);
    } finally {
      echo.close();
      await mesh.close();
    }
  });

  test('sidecar mode: mesh.fetch goes through the sidecar with Host kept', async () => {
    const { mesh, echo } = await meshWith({ mode: 'sidecar' });
    const before = viaSidecar();
    const res = await mesh.fetch('http://web.svc/web/page?q=1');
    assert.equal(await res.text(), 'web /web/page?q=1 host=web.svc');
    assert.equal(viaSidecar() - before, 1);
    echo.close();
    await mesh.close();
  });

  test('a mesh-originated end reaches fetch as the same local reply in embedded and sidecar mode', async () => {
    // Routes for /web only: any other path has no route, in the app and in the sidecar alike.
    const webOnly = bootstrap({ domains: ['web.svc'], routes: [{ prefix: '/web', cluster: 'web' }], clusters: { web: [webAddress] } });
    const own = await startSidecar({ config: webOnly, listen: '127.0.0.1:0', admin: false });
    const seen: [number, string | null, string][] = [];
    try {
      for (const mode of ['embedded', 'sidecar'] as const) {
        const mesh = await createMesh({ config: webOnly, env: {}, mode, sidecar: { address: own.target } });
        const res = await mesh.fetch('http://web.svc/elsewhere');
        seen.push([res.status, res.headers.get('x-xmesh-error-code'), await res.text()]);
        await mesh.close();
      }
      assert.equal(own.stats.downstream_rq_total, 1, 'the sidecar-mode call went through the sidecar');
    } finally {
      await own.close();
    }
    assert.deepEqual(seen[0], [404, 'XMESH_NO_ROUTE', 'no route\n']);
    assert.deepEqual(seen[1], seen[0]);
  });

  test('sidecar mode with the sidecar unreachable: fetch rejects with the connection error, no local reply', async () => {
    const mesh = await createMesh({ config: config(stable.address), env: {}, mode: 'sidecar', sidecar: { address: `127.0.0.1:${await closedPort()}` } });
    try {
      const err = await mesh.fetch('http://web.svc/web/page').then(() => undefined, (e: Error) => e);
      assert.ok(err instanceof TypeError, 'fetch rejected');
      assert.equal((err.cause as { code?: string }).code, 'ECONNREFUSED');
    } finally {
      await mesh.close();
    }
  });

  test('XMESH_MODE=sidecar in the environment overrides the configured mode', async () => {
    const { mesh, echo } = await meshWith({ mode: 'embedded', env: { XMESH_MODE: 'sidecar' } });
    assert.equal(mesh.mode.mode, 'sidecar');
    const before = viaSidecar();
    await unary(echo, { message: 'e' });
    assert.equal(viaSidecar() - before, 1);
    echo.close();
    await mesh.close();
  });

  test('a per-cluster override sends only that cluster through the sidecar; attempt events carry the mode', async () => {
    const { mesh, echo } = await meshWith({ clusters: { canary: 'sidecar' } });
    const modes = new Map<string, number>();
    const onEnd = (message: unknown) => {
      const m = message as { mode?: string; cluster?: string; endpoint?: string };
      const key = `${m.mode ?? 'embedded'}:${m.cluster}:${m.endpoint === sidecar.target ? 'to-sidecar' : 'to-upstream'}`;
      modes.set(key, (modes.get(key) ?? 0) + 1);
    };
    diagnostics.subscribe('xmesh:attempt:end', onEnd);
    const before = viaSidecar();
    await runConcurrently(50, 8, () => unary(echo, { message: 's' }));
    assert.equal(viaSidecar() - before, 0);
    const replies = await runConcurrently(50, 8, () => unary(echo, { message: 'c' }, {}, 'Echo', canaryMetadata()));
    assert.ok(replies.every((r) => r.server.startsWith('canary@')));
    assert.equal(viaSidecar() - before, 50);
    diagnostics.unsubscribe('xmesh:attempt:end', onEnd);
    // The app's embedded and sidecar calls, and (the sidecar runs in this process) the sidecar's own attempts.
    assert.deepEqual(Object.fromEntries(modes), { 'embedded:stable:to-upstream': 50, 'sidecar:canary:to-sidecar': 50, 'embedded:canary:to-upstream': 50 });
    echo.close();
    await mesh.close();
  });

  test('a cluster marked `xmesh.mode: sidecar` in the config goes to the sidecar until an update removes the mark', async () => {
    const marked = (mode: string | undefined) => {
      const c = config(stable.address) as { static_resources: { clusters: { name: string; metadata?: object }[] } };
      const canaryCluster = c.static_resources.clusters.find((k) => k.name === 'canary')!;
      if (mode !== undefined) canaryCluster.metadata = { filter_metadata: { xmesh: { mode } } };
      return c;
    };
    const mesh = await createMesh({ config: marked('sidecar'), env: {}, sidecar: { address: sidecar.target } });
    const echo = mesh.grpcClient(EchoCtor, TARGET) as EchoClient;
    const before = viaSidecar();
    await unary(echo, { message: 's' });
    await unary(echo, { message: 'c' }, {}, 'Echo', canaryMetadata());
    assert.equal(viaSidecar() - before, 1);
    await mesh.update(marked(undefined));
    await unary(echo, { message: 'c' }, {}, 'Echo', canaryMetadata());
    assert.equal(viaSidecar() - before, 1);
    await assert.rejects(mesh.update(marked('proxy')), /xmesh\.mode/);
    echo.close();
    await mesh.close();
  });

  test('a 50 % ramp sends half the calls (±5 %) through the sidecar', async () => {
    const { mesh, echo } = await meshWith({ sidecar: { percent: 50 } });
    const before = viaSidecar();
    await runConcurrently(2000, 16, () => unary(echo, { message: 'r' }));
    const share = (viaSidecar() - before) / 2000;
    assert.ok(Math.abs(share - 0.5) <= 0.05, `sidecar share ${share}`);
    echo.close();
    await mesh.close();
  });

  test('setMode applies to new calls while an in-flight call finishes where it started', async () => {
    const { mesh, echo } = await meshWith({});
    const changes: string[] = [];
    mesh.on('mode.changed', (e) => changes.push(`${e.mode}/${e.percent}`));
    const before = viaSidecar();
    // Held by the upstream until released: it started in embedded mode and is in flight across the switch.
    const heldBefore = stable.held;
    const slow = unary(echo, { message: 'hold' });
    await waitFor(() => stable.held === heldBefore + 1, 'the call to reach the upstream');
    mesh.setMode({ mode: 'sidecar' });
    await unary(echo, { message: 'after' });
    stable.release();
    assert.equal((await slow).message, 'hold');
    assert.equal(viaSidecar() - before, 1);
    assert.deepEqual(changes, ['sidecar/0']);
    assert.throws(() => mesh.setMode({ sidecar: { percent: -1 } }), /sidecar.percent/);
    assert.equal(mesh.mode.mode, 'sidecar');
    echo.close();
    await mesh.close();
  });

  test('flipping embedded → 50 % → sidecar → embedded under load fails no call', async () => {
    const { mesh, echo } = await meshWith({});
    const phases = [{ mode: 'embedded' as const, sidecar: { percent: 50 } }, { mode: 'sidecar' as const }, { mode: 'embedded' as const, sidecar: { percent: 0 } }];
    // A phase lasts PHASE_CALLS ended calls, not a span of time: every phase carries traffic however
    // slow the machine is. `through[i]` is the sidecar's count when phase i ended.
    const PHASE_CALLS = 120;
    const through: number[] = [];
    let phase = 0;
    let endedInPhase = 0;
    const callEnded = () => {
      if (++endedInPhase < PHASE_CALLS) return;
      endedInPhase = 0;
      through.push(viaSidecar());
      if (phase < phases.length) mesh.setMode(phases[phase]!);
      phase++;
    };
    const failures: string[] = [];
    let calls = 0;
    await runConcurrently(32, 32, async () => {
      while (phase <= phases.length) {
        calls++;
        await unary(echo, { message: `slow:${calls % 3}` }).catch((e: grpc.ServiceError) => failures.push(`${e.code} ${e.details}`));
        callEnded();
      }
    });
    assert.deepEqual(failures, []);
    assert.ok(calls >= PHASE_CALLS * 4, `only ${calls} calls`);
    // Something went through the sidecar during the ramp and the sidecar phase, nothing new after the return to embedded.
    assert.ok(through[1]! > through[0]!, `ramp sent nothing to the sidecar: ${through}`);
    assert.ok(through[2]! > through[1]!, `sidecar phase sent nothing: ${through}`);
    assert.ok(through[3]! - through[2]! <= 32, `calls kept going to the sidecar after the return to embedded: ${through}`);
    echo.close();
    await mesh.close();
  });
});
