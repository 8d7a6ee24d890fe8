// Fault: the control plane process is killed under load and restarted. A mesh following it over ADS
// (`createMesh({ xds })`, 16 calls in flight to a real gRPC backend) keeps its last good config while
// the control plane is down, retries its stream with back-off (counted at the dead port), and applies
// the new version the restarted control plane serves. Every call started resolves, and none fails.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../scripts/free-port.mjs';
import { createMesh } from '@xmesh/client';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { unary } from '../support/grpc-call.js';
import { XmeshProcess } from '../support/xmesh-cli.js';
import { echoResources, ECHO_LISTENER } from './echo-resources.js';

const CONCURRENCY = 16;
const { EchoClient: EchoCtor } = loadEcho();

async function waitFor(condition: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}


/** Stands in for the dead control plane: accepts each connection and drops it at once, counting them. */
async function deadPort(port: number): Promise<{ attempts: () => number; close: () => Promise<void> }> {
  let attempts = 0;
  const server = net.createServer((socket) => {
    attempts++;
    socket.on('error', () => undefined);
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return { attempts: () => attempts, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

let one: EchoServer;
let two: EchoServer;
const dir = mkdtempSync(join(tmpdir(), 'xmesh-cp-restart-'));
before(async () => {
  one = await startEchoServer('one');
  two = await startEchoServer('two');
});
after(async () => {
  await Promise.all([one.close(), two.close()]);
  rmSync(dir, { recursive: true, force: true });
});

test('control plane killed and restarted under load: every call resolves, none fails, the new version applies', { timeout: 120_000 }, async () => {
  const file = join(dir, 'resources.json');
  const serve = (server: EchoServer) => writeFileSync(file, JSON.stringify({ resources: echoResources({ endpoints: { echo: [server.port] }, split: { echo: 1 } }) }, null, 2));
  serve(one);
  const port = await freePort();
  let plane = new XmeshProcess(['control-plane', '--config', file, '--port', String(port)]);
  await plane.waitFor(/ADS listening/);

  const mesh = await createMesh({
    xds: { xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }], node: { id: 'restart-test' } },
    listener: ECHO_LISTENER,
  });
  const echo = mesh.grpcClient(EchoCtor, `${ECHO_LISTENER}:80`) as EchoClient;
  let started = 0;
  let resolved = 0;
  const landed: string[] = [];
  const failures: string[] = [];
  let running = true;
  const load = Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (running) {
      started++;
      try {
        landed.push((await unary(echo, { message: 'load' }, { deadline: Date.now() + 10_000 })).server.split('@')[0]!);
      } catch (err) {
        failures.push((err as Error).message);
      } finally {
        resolved++;
      }
    }
  }));
  let dead: Awaited<ReturnType<typeof deadPort>> | undefined;
  try {
    await waitFor(() => landed.length > 300, 'calls before the kill');
    const versionBefore = mesh.snapshot.version;

    await plane.stop('SIGKILL');
    dead = await deadPort(port);
    const atKill = landed.length;
    const downSince = Date.now();
    // Down for three seconds of wall time and at least 500 calls: the last good config serves them all.
    await waitFor(() => landed.length > atKill + 500 && Date.now() - downSince > 3_000, 'calls while the control plane is down');
    assert.equal(mesh.snapshot.version, versionBefore, 'the last good snapshot stays in force');
    const attempts = dead.attempts();
    assert.ok(attempts >= 1, 'the ADS client tried to reconnect');
    assert.ok(attempts <= 20, `reconnects are spaced by back-off: ${attempts} attempts in ${Date.now() - downSince} ms`);
    await dead.close();
    dead = undefined;

    serve(two);
    plane = new XmeshProcess(['control-plane', '--config', file, '--port', String(port)]);
    await plane.waitFor(/ADS listening/);
    await plane.waitFor(/stream \d+ \(sotw\) from node "restart-test"/, 'stdout', 60_000);
    await waitFor(() => landed.length >= 50 && landed.slice(-50).every((s) => s === 'two'), 'calls on the version served after the restart', 60_000);
    assert.notEqual(mesh.snapshot.version, versionBefore, 'the new version is applied');
  } finally {
    running = false;
    await load;
    echo.close();
    await mesh.close();
    await dead?.close();
    await plane.stop();
  }
  assert.equal(resolved, started, 'every call started resolved');
  assert.deepEqual(failures, [], 'no call failed');
  assert.ok(landed.includes('one') && landed.includes('two'));
});
