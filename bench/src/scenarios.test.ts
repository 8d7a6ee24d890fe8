import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { echoImplementation, loadEchoService } from '@xmesh/example-quickstart';
import { clockTicksPerSecond, startProcessCpu } from './cpu.js';
import { embeddedBootstrap } from './embedded.js';
import { haproxyConfig } from './haproxy.js';
import { closedLoop } from './load.js';
import { echoUnaryCall } from './echo-calls.js';
import { MIRROR_PERCENT, SCENARIOS, type ScenarioContext } from './scenarios.js';
import type { Workload } from './workload.js';
import { startServerProcess, type ServerProcess } from './server-process.js';
import { hasOpenssl, makeBenchCerts } from './tls-certs.js';

let servers: ServerProcess;
let ctx: ScenarioContext;
const haproxyBin = spawnSync('sh', ['-c', 'command -v haproxy'], { encoding: 'utf8' }).stdout.trim() || undefined;

before(async () => {
  const tmpDir = mkdtempSync(join(tmpdir(), 'xmesh-bench-test-'));
  const files = hasOpenssl() ? makeBenchCerts(tmpDir) : undefined;
  servers = await startServerProcess(3, undefined, files);
  ctx = {
    Echo: loadEchoService(),
    ports: servers.ports,
    haproxy: haproxyBin,
    tmpDir,
    tls: files && servers.tlsPort !== undefined ? { port: servers.tlsPort, files } : undefined,
  };
});

after(async () => {
  await servers.stop();
  rmSync(ctx.tmpDir, { recursive: true, force: true });
});

test('the server process serves three distinct ports from another pid', () => {
  assert.equal(servers.ports.length, 3);
  assert.equal(new Set(servers.ports).size, 3);
  assert.notEqual(servers.pid, process.pid);
  assert.ok(existsSync(`/proc/${servers.pid}`));
});

test('the HAProxy config speaks h2 on both sides, on loopback only; TLS origination verifies the upstream', () => {
  const cfg = haproxyConfig(1111, 2222);
  assert.match(cfg, /bind 127\.0\.0\.1:1111 proto h2/);
  assert.match(cfg, /server upstream 127\.0\.0\.1:2222 proto h2\n/);
  assert.match(cfg, /http-reuse always/);
  assert.match(cfg, /mode http/);
  const tls = haproxyConfig(1111, 2222, { clientPem: '/c.pem', ca: '/ca.pem' });
  assert.match(tls, /server upstream 127\.0\.0\.1:2222 proto h2 ssl crt \/c\.pem ca-file \/ca\.pem verify required alpn h2/);
});

test('the TLS server requires a client certificate: a plaintext stock client fails against it', async (t) => {
  if (ctx.tls === undefined) return t.skip('openssl is not available');
  const grpcJs = await import('@grpc/grpc-js');
  const client = new ctx.Echo(`127.0.0.1:${ctx.tls.port}`, grpcJs.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  try {
    const r = await closedLoop({ call: echoUnaryCall(client, Buffer.alloc(1)), concurrency: 1, durationMs: 100 });
    assert.equal(r.calls, 0);
    assert.ok(r.errors > 0);
  } finally {
    client.close();
  }
});

test('embedded runs on the mesh default transport (no pin); embedded-grpcjs pins grpc-js on its cluster', () => {
  const clusterOf = (b: Record<string, unknown>) => (b as { static_resources: { clusters: Record<string, unknown>[] } }).static_resources.clusters[0];
  assert.equal(clusterOf(embeddedBootstrap([1]))?.metadata, undefined);
  assert.deepEqual(clusterOf(embeddedBootstrap([1], 'grpc-js'))?.metadata, { filter_metadata: { xmesh: { transport: 'grpc-js' } } });
});

const UNARY_1K: Workload = { kind: 'unary', payloadBytes: 1024 };
const STREAM: Workload = { kind: 'stream', payloadBytes: 100, messages: 10 };

test('the scenario list: direct, the embedded variants, the floor, the round-robin pair, the sidecars (the proxy floor by HAProxy) and the Bolt rows, no duplicates', () => {
  assert.deepEqual(
    SCENARIOS.map((s) => s.name),
    ['direct', 'embedded', 'embedded-mirror', 'embedded-grpcjs', 'embedded-lean-fast', 'h2-floor', 'direct-tls', 'embedded-tls', 'direct-rr-3', 'embedded-3', 'sidecar-haproxy', 'h2-proxy-floor', 'sidecar-haproxy-2hop', 'sidecar-haproxy-tls', 'sidecar-xmesh', 'sidecar-xmesh-2hop', 'bolt-direct', 'bolt-embedded', 'bolt-sidecar-xmesh'],
  );
});

/** Scenarios without a streaming call (reported as not applicable). */
const UNARY_ONLY = new Set(['embedded-lean-fast', 'h2-floor', 'bolt-direct', 'bolt-embedded', 'bolt-sidecar-xmesh']);

for (const scenario of SCENARIOS) {
  test(`${scenario.name}: unary 1 KB and stream calls succeed and its proxies live exactly as long as the scenario`, async (t) => {
    const reason = await scenario.unavailable(ctx);
    if (reason !== undefined) return t.skip(reason);
    const instance = await scenario.start(ctx);
    let proxyCpuMs = 0;
    try {
      const hops = scenario.name.endsWith('-2hop') ? 2 : scenario.name.startsWith('sidecar-') || scenario.name.includes('-sidecar-') || scenario.name === 'h2-proxy-floor' ? 1 : 0;
      assert.equal(instance.proxyPids.length, hops);
      for (const pid of instance.proxyPids) assert.ok(existsSync(`/proc/${pid}`), `proxy ${pid} running`);
      const proxyCpu = startProcessCpu(instance.proxyPids, clockTicksPerSecond());
      const call = instance.callFor(UNARY_1K);
      assert.ok(call !== undefined, 'every scenario makes unary calls');
      const r = await closedLoop({ call, concurrency: 4, durationMs: 300 });
      assert.equal(r.errors, 0);
      // Each of the 4 workers makes at least its first call, however slow the machine.
      assert.ok(r.calls >= 4, `calls ${r.calls}`);
      const stream = instance.callFor(STREAM);
      if (UNARY_ONLY.has(scenario.name)) assert.equal(stream, undefined, 'unary-only scenario');
      else {
        assert.ok(stream !== undefined, 'stream call wired');
        const s = await closedLoop({ call: stream, concurrency: 4, durationMs: 200 });
        assert.equal(s.errors, 0);
        assert.ok(s.calls >= 4, `stream calls ${s.calls}`);
      }
      // /proc counts CPU in 10 ms ticks: keep the proxies busy until they have used at least one.
      for (let round = 0; round < 10 && (proxyCpuMs = proxyCpu()) === 0; round++) {
        const more = await closedLoop({ call, concurrency: 4, durationMs: 200 });
        assert.equal(more.errors, 0);
      }
      if (hops > 0) assert.ok(proxyCpuMs > 0, 'the proxies did some work');
    } finally {
      await instance.close();
    }
    for (const pid of instance.proxyPids) assert.ok(!existsSync(`/proc/${pid}`), `proxy ${pid} stopped`);
  });
}

/** A stock grpc-js Echo server in this process counting the unary calls it answers. */
async function countingEchoServer(): Promise<{ port: number; unaryCalls: () => number; close: () => void }> {
  const server = new grpc.Server();
  const echo = echoImplementation('shadow', () => 'shadow');
  let unaryCalls = 0;
  server.addService(ctx.Echo.service, {
    ...echo,
    Echo: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      unaryCalls++;
      (echo.Echo as grpc.handleUnaryCall<unknown, unknown>)(call, callback);
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { port, unaryCalls: () => unaryCalls, close: () => server.forceShutdown() };
}

test(`embedded-mirror copies about ${MIRROR_PERCENT} % of the calls to the shadow server, every caller call succeeding`, async (t) => {
  const scenario = SCENARIOS.find((s) => s.name === 'embedded-mirror')!;
  const reason = await scenario.unavailable(ctx);
  if (reason !== undefined) return t.skip(reason);
  const shadow = await countingEchoServer();
  const instance = await scenario.start({ ...ctx, ports: [ctx.ports[0]!, shadow.port, ...ctx.ports.slice(2)] });
  try {
    const call = instance.callFor(UNARY_1K)!;
    const calls = 1000;
    for (let i = 0; i < calls; i++) await call();
    // Copies are fire-and-forget: wait (bounded) until the shadow's count stops moving.
    let seen = -1;
    for (let round = 0; round < 100 && seen !== shadow.unaryCalls(); round++) {
      seen = shadow.unaryCalls();
      await new Promise((r) => setTimeout(r, 100));
    }
    // Binomial(1000, 0.3): standard deviation ≈ 14.5; ±80 is more than 5 of them.
    const expected = (calls * MIRROR_PERCENT) / 100;
    assert.ok(Math.abs(shadow.unaryCalls() - expected) <= 80, `shadow received ${shadow.unaryCalls()} of ${calls} calls`);
  } finally {
    await instance.close();
    shadow.close();
  }
});

test('stopping the server process ends it', async () => {
  const extra = await startServerProcess(1);
  assert.ok(existsSync(`/proc/${extra.pid}`));
  await extra.stop();
  assert.ok(!existsSync(`/proc/${extra.pid}`));
});
