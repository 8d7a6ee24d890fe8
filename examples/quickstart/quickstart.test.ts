import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import { loadEchoService, type EchoReply } from './echo-service.js';
import { loadQuickstartConfig, meshYamlPath } from './mesh-config.js';
import { DEFAULT_PORTS, parsePorts, startServers } from './servers.js';

test('the servers answer as themselves on their own ports', async () => {
  const servers = await startServers();
  try {
    const Echo = loadEchoService();
    for (const s of servers.echo) {
      const client = new Echo(s.address, credentials.createInsecure());
      const reply = await new Promise<EchoReply>((resolve, reject) =>
        client.echo({ message: 'hi', payload: Buffer.from([1, 2, 3]) }, (err, r) => (err || !r ? reject(err) : resolve(r))),
      );
      client.close();
      assert.equal(reply.server, `${s.name}@127.0.0.1:${s.port}`);
      assert.equal(reply.message, 'hi');
      assert.deepEqual([...reply.payload], [1, 2, 3]);
    }
    const res = await fetch(`http://${servers.web.address}/hello`);
    assert.deepEqual(await res.json(), { server: `web@${servers.web.address}`, method: 'GET', path: '/hello', host: servers.web.address });
  } finally {
    await servers.close();
  }
});

test('mesh.yaml keeps its fixed ports; the loaded copy carries the real ones', async () => {
  const text = readFileSync(meshYamlPath(), 'utf8');
  for (const port of [...DEFAULT_PORTS.echo, DEFAULT_PORTS.web]) assert.match(text, new RegExp(`port_value: ${port} `));
  const servers = await startServers();
  try {
    const { bootstrap, clusterOf } = loadQuickstartConfig(servers);
    const [a, b, c] = servers.echo;
    assert.deepEqual(
      [...clusterOf].sort(),
      [
        [a?.address, 'echo-stable'],
        [b?.address, 'echo-stable'],
        [c?.address, 'echo-canary'],
        [servers.web.address, 'web'],
      ].sort(),
    );
    const json = JSON.stringify(bootstrap);
    for (const port of [...DEFAULT_PORTS.echo, DEFAULT_PORTS.web]) assert.ok(!json.includes(`"port_value":${port}}`), `port ${port} replaced`);
    assert.ok(json.includes('"port_value":15001'), 'the listener port is left alone');
  } finally {
    await servers.close();
  }
});

test('parsePorts accepts four ports and rejects anything else', () => {
  assert.deepEqual(parsePorts('1,2,3,4'), { echo: [1, 2, 3], web: 4 });
  assert.throws(() => parsePorts('1,2,3'), /expected four ports/);
  assert.throws(() => parsePorts('1,2,3,70000'), /expected four ports/);
});

test('the app routes x-canary calls to the canary, streams, fetches, and exits 0', async () => {
  const app = fileURLToPath(new URL('./app.ts', import.meta.url));
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['--conditions=xmesh-source', '--import', 'tsx', app], { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }),
    );
  });
  assert.equal(code, 0, stderr);
  const calls = stdout.split('\n').filter((l) => /^#\d{3} /.test(l));
  assert.equal(calls.length, 16, 'the first 12 plain calls and the 4 canary calls are printed');
  const canary = calls.filter((l) => l.includes('[x-canary: always]'));
  assert.equal(canary.length, 4);
  for (const line of canary) assert.match(line, /echo-c@127\.0\.0\.1:\d+ \(cluster echo-canary\)/);
  for (const line of calls) assert.match(line, /^#\d{3} echo-[abc]@127\.0\.0\.1:\d+ \(cluster echo-(stable|canary)\)/);
  assert.equal((stdout.match(/^ {2}stream #\d from echo-/gm) ?? []).length, 3);
  assert.equal((stdout.match(/^ {2}200 from web@127\.0\.0\.1:\d+ \(Host: web\.default\.svc\)/gm) ?? []).length, 3);
  const split = /echo-canary +(\d+) +\d+%\n +echo-stable +(\d+)/.exec(stdout);
  assert.ok(split, 'the split summary is printed');
  const canaryShare = Number(split[1]) / (Number(split[1]) + Number(split[2]));
  assert.ok(canaryShare > 0.1 && canaryShare < 0.32, `canary share ${canaryShare} is far from the configured 20 %`);
  assert.match(stdout, /\nok\n$/);
});
