// Embedded mode driven by a control plane (`createMesh({ xds })`): calls follow a new weighted split, a NACKed update surfaces as `config.rejected` naming the response that carried the
// bad resource while the old config keeps serving, and `close()` ends the ADS stream and every connection.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ControlPlane, silentLogger } from '@xmesh/control-plane';
import { createMesh, Mesh } from '@xmesh/client';
import type { XdsBootstrap } from '@xmesh/discovery';
import { loadEnvoyProtos } from '@xmesh/xds';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { unary } from '../support/grpc-call.js';
import { echoResources, ECHO_LISTENER } from './echo-resources.js';

const { EchoClient: EchoCtor } = loadEcho();
const protos = loadEnvoyProtos();
const NAMES = ['a', 'b', 'c'] as const;

const bootstrapFor = (port: number, id: string): XdsBootstrap => ({
  xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
  node: { id },
});

/** Calls `n` times; counts replies per server name (the part before `@`). */
async function tally(client: EchoClient, n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const name = (await unary(client, { message: 'x' }, { deadline: Date.now() + 3000 })).server.split('@')[0]!;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

/** Handles of the kinds a mesh opens (sockets, timers), by kind. */
function openHandles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) if (kind === 'TCPSocketWrap' || kind === 'Timeout') counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('createMesh({ xds })', () => {
  const servers: Record<string, EchoServer> = {};
  let plane: ControlPlane;
  let port = 0;
  /** One EDS cluster per server; the default route splits by `weights`. */
  const splitOf = (weights: Partial<Record<(typeof NAMES)[number], number>>) =>
    echoResources({
      endpoints: Object.fromEntries(NAMES.map((n) => [n, [servers[n]!.port]])),
      split: Object.fromEntries(Object.entries(weights).filter(([, w]) => w! > 0)) as Record<string, number>,
    });

  before(async () => {
    for (const name of NAMES) servers[name] = await startEchoServer(name);
    plane = new ControlPlane({ protos, logger: silentLogger });
    plane.setSnapshot('v1', splitOf({ a: 1 }));
    port = await plane.listen(0);
  });
  after(async () => {
    await plane.close();
    await Promise.all(NAMES.map((n) => servers[n]!.close()));
  });

  test('starts without a listener name, watches the one an xds:/// target names, follows a new weighted split, and close() leaves no handles', async () => {
    plane.setSnapshot('v1', splitOf({ a: 1 }));
    await settle();
    const baseline = openHandles();
    const mesh = await createMesh({ xds: bootstrapFor(port, 'embedded-split') });
    const applied: string[] = [];
    mesh.on('config.applied', ({ version }) => applied.push(version));
    assert.deepEqual(Object.keys(mesh.snapshot.listeners), [], 'nothing is watched before a target names it');
    const client = mesh.grpcClient(EchoCtor, `xds:///${ECHO_LISTENER}`) as EchoClient;
    try {
      // The first call waits for the listener its target names, then goes where it routes.
      assert.deepEqual(await tally(client, 20), { a: 20 });
      assert.match(mesh.snapshot.version, /RouteConfiguration=v1/);

      const changedAt = Date.now();
      plane.setSnapshot('v2', splitOf({ b: 50, c: 50 }));
      let seen = await tally(client, 1);
      // Usually within a few calls; the bound only tells a change that is followed from one that is not.
      while (seen['a'] !== undefined && Date.now() - changedAt < 10_000) seen = await tally(client, 1);
      assert.equal(seen['a'], undefined, 'still routed to a ten seconds after the change');
      assert.ok(applied.some((v) => v.includes('RouteConfiguration=v2')), `applied: ${applied.join(', ')}`);

      const counts = await tally(client, 400);
      assert.equal(counts['a'], undefined);
      assert.equal((counts['b'] ?? 0) + (counts['c'] ?? 0), 400);
      // 50/50 over 400 calls: ±60 is more than 6 standard deviations (σ = 10).
      assert.ok(Math.abs((counts['b'] ?? 0) - 200) <= 60, `b got ${counts['b']} of 400`);
    } finally {
      client.close();
      await mesh.close();
    }
    // Sockets finish closing on later turns of the event loop (a busy machine only makes that
    // slower), and handles of earlier tests may still be closing: none of any kind beyond the baseline.
    const extra = () => Object.entries(openHandles()).filter(([kind, n]) => n > (baseline[kind] ?? 0));
    await waitFor(() => plane.streamCount === 0 && extra().length === 0, 10_000).catch(() => undefined);
    assert.equal(plane.streamCount, 0, 'the ADS stream ended');
    assert.deepEqual(extra(), [], `handles left open: ${JSON.stringify(openHandles())} vs ${JSON.stringify(baseline)}`);
  });

  test('with a listener name: a NACKed update emits config.rejected with every error and the old config keeps serving', async () => {
    plane.setSnapshot('good-1', splitOf({ a: 1 }));
    const mesh: Mesh = await createMesh({ xds: bootstrapFor(port, 'embedded-nack'), listener: ECHO_LISTENER });
    const client = mesh.grpcClient(EchoCtor, `${ECHO_LISTENER}:80`) as EchoClient;
    try {
      const rejected = new Promise<{ errors: readonly { path: string; message: string }[]; source: string }>((resolve) => mesh.once('config.rejected', resolve));
      const bad = splitOf({ b: 1 });
      const vh = (bad[1]!['virtual_hosts'] as { routes: unknown[] }[])[0]!;
      vh.routes.unshift({ match: { safe_regex: { regex: '((' } }, route: { cluster: 'a' } });
      plane.setSnapshot('bad-2', bad);
      const event = await rejected;
      // The response NACKed is the one that carried the bad resource, with the version still in force.
      assert.match(event.source, /^xds type\.googleapis\.com\/envoy\.config\.route\.v3\.RouteConfiguration version "good-1" nonce \S+$/);
      assert.equal(event.errors.length, 1);
      assert.match(event.errors[0]!.path, /virtual_hosts\[0\]\.routes\[0\]\.match\.safe_regex\.regex$/);
      assert.deepEqual(await tally(client, 10), { a: 10 });
      assert.match(mesh.snapshot.version, /RouteConfiguration=good-1/);
    } finally {
      client.close();
      await mesh.close();
    }
  });

  test('exactly one of config and xds; no bootstrap is a config error', async () => {
    await assert.rejects(createMesh({}), { code: 'XMESH_CONFIG_INVALID' });
    await assert.rejects(createMesh({ config: splitOf({ a: 1 }), xds: bootstrapFor(port, 'both') }), { code: 'XMESH_CONFIG_INVALID' });
    const saved = BOOTSTRAP_VARS.map((name) => [name, process.env[name]] as const);
    for (const name of BOOTSTRAP_VARS) delete process.env[name];
    try {
      await assert.rejects(createMesh({ xds: true }), { code: 'XMESH_CONFIG_INVALID', message: /no xDS bootstrap/ });
    } finally {
      for (const [name, value] of saved) if (value !== undefined) process.env[name] = value;
    }
  });

  test('a mesh closed while still waiting for its first xDS snapshot rejects followXds with XMESH_CLOSED', async () => {
    const empty = new ControlPlane({ protos, logger: silentLogger });
    const emptyPort = await empty.listen(0);
    const mesh = new Mesh({ listener: 'never-served' });
    try {
      const following = mesh.followXds(bootstrapFor(emptyPort, 'never'));
      await waitFor(() => empty.streamCount === 1);
      await mesh.close();
      await assert.rejects(following, { code: 'XMESH_CLOSED' });
      await waitFor(() => empty.streamCount === 0);
    } finally {
      await mesh.close();
      await empty.close();
    }
  });
});

const BOOTSTRAP_VARS = ['XMESH_XDS_BOOTSTRAP', 'GRPC_XDS_BOOTSTRAP', 'GRPC_XDS_BOOTSTRAP_CONFIG'] as const;

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
