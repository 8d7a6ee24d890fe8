// The API a Node team expects, on real servers: the app's prom-client registry shows xmesh's
// metrics; `close({ drain })` lets calls in flight finish and refuses new ones; per-call
// `timeoutMs`, `maxRetries`, `retryOn` on fetch, the fast unary API and grpc-js clients; `fetch`
// takes a global Request.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { Counter, Registry } from 'prom-client';
import { createMesh, isMeshError } from '@xmesh/client';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { unary } from '../support/grpc-call.js';
import { bootstrap } from '../support/mesh-config.js';
import { within } from '../support/within.js';

const { EchoClient: EchoCtor } = loadEcho();

/** An HTTP upstream: `/slow/<ms>` answers after that long, `/hang` never, `/flaky` answers 503 to every other request, the rest echoes. */
class Upstream {
  readonly server: Server;
  received = 0;
  flakyCalls = 0;
  private readonly hung = new Set<ServerResponse>();

  constructor() {
    this.server = createServer((request, response) => this.handle(request, response));
  }

  async start(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const response of this.hung) response.destroy();
    this.server.closeAllConnections();
    this.server.close();
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    this.received++;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = request.url ?? '/';
      const slow = /^\/slow\/(\d+)$/.exec(url);
      if (slow) {
        setTimeout(() => response.end(`slow ${slow[1]}`), Number(slow[1]));
        return;
      }
      if (url === '/hang') {
        this.hung.add(response);
        return;
      }
      if (url === '/flaky') {
        this.flakyCalls++;
        response.statusCode = this.flakyCalls % 2 === 1 ? 503 : 200;
        response.end(`flaky ${this.flakyCalls}`);
        return;
      }
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ method: request.method, url, body: Buffer.concat(chunks).toString(), header: request.headers['x-app'] ?? null }));
    });
  }
}


async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('the mesh API', () => {
  const upstream = new Upstream();
  let echo: EchoServer;
  let config: object;

  before(async () => {
    const web = await upstream.start();
    echo = await startEchoServer('e');
    config = bootstrap({
      routes: [{ prefix: '/xmesh.echo.', cluster: 'echo' }, { cluster: 'web' }],
      clusters: { web: [web], echo: [echo.address] },
      http2: ['echo'],
    });
  });
  after(async () => {
    await upstream.stop();
    await echo.close();
  });

  test("createMesh({ metrics: { registry } }): one scrape of the app's registry shows its own metrics and the mesh's", async () => {
    const registry = new Registry();
    const appCounter = new Counter({ name: 'app_orders_total', help: 'orders', registers: [registry] });
    appCounter.inc(3);
    const mesh = await createMesh({ config, metrics: { registry } });
    try {
      for (let i = 0; i < 4; i++) assert.equal((await mesh.fetch('http://web.local/ok')).status, 200);
      const text = await registry.metrics();
      assert.match(text, /^app_orders_total 3$/m);
      assert.match(text, /^envoy_cluster_upstream_rq_total\{[^}]*envoy_cluster_name="web"[^}]*\} 4$/m);
      // Gauges the cluster guard keeps are copied in before the scrape reads them.
      assert.match(text, /^envoy_cluster_circuit_breakers_default_rq_open\{[^}]*envoy_cluster_name="web"[^}]*\} 0$/m);
      // The mesh's own exposition is unchanged: only its metrics.
      const own = await mesh.observability.prometheusText();
      assert.doesNotMatch(own, /app_orders_total/);
      assert.match(own, /envoy_cluster_upstream_rq_total/);
    } finally {
      await mesh.close();
    }
  });

  test('close({ drain }) lets calls in flight finish, refuses new ones at once, then closes', async () => {
    const mesh = await createMesh({ config });
    const client = mesh.grpcClient(EchoCtor, 'echo:1') as EchoClient;
    try {
      const before = upstream.received;
      const inFlight = [1, 2, 3].map(() => mesh.fetch('http://web.local/slow/400').then(async (r) => [r.status, await r.text()] as const));
      const grpcInFlight = unary(client, { message: 'slow:400' });
      await waitFor(() => upstream.received >= before + 3, 'the upstream received the three requests');
      const closing = mesh.close({ drain: 10_000 });
      // New calls fail at once while the old ones finish.
      await assert.rejects(mesh.unary('echo:1', '/xmesh.echo.Echo/Echo', new Uint8Array(0)), { code: 'XMESH_CLOSED' });
      const refused = await mesh.fetch('http://web.local/ok').then((r) => r.status, (e: Error) => (isMeshError(e.cause) ? e.cause.code : e.message));
      assert.ok(refused === 'XMESH_CLOSED' || refused === 503, `a new fetch while draining got ${refused}`);
      for (const result of await within(Promise.all(inFlight), 10_000, 'the in-flight fetches')) assert.deepEqual(result, [200, 'slow 400']);
      assert.match((await within(grpcInFlight, 10_000, 'the in-flight gRPC call')).server, /^e@/);
      await within(closing, 10_000, 'close({ drain })');
    } finally {
      client.close();
      await mesh.close();
    }
  });

  test('close({ drain }) aborts what is still running when the drain time passes', async () => {
    const mesh = await createMesh({ config });
    const before = upstream.received;
    const hung = mesh.fetch('http://web.local/hang').then((r) => r.status, (e: Error) => e);
    await waitFor(() => upstream.received >= before + 1, 'the upstream received the request');
    const started = Date.now();
    await within(mesh.close({ drain: 300 }), 10_000, 'close({ drain: 300 })');
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 290, `closed after ${elapsed} ms, before the drain time`);
    const outcome = await within(hung, 10_000, 'the hung call after close');
    assert.ok(outcome instanceof Error || outcome >= 500, `the hung call ended with ${String(outcome)}`);
  });

  test('per-call timeoutMs on fetch, unary and grpc-js call options cuts a call the route would let run', async () => {
    const mesh = await createMesh({ config });
    const client = mesh.grpcClient(EchoCtor, 'echo:1') as EchoClient;
    try {
      let started = Date.now();
      const response = await within(mesh.fetch('http://web.local/slow/3000', { timeoutMs: 200 }), 10_000, 'fetch with timeoutMs');
      assert.equal(response.status, 504);
      assert.equal(response.headers.get('x-xmesh-error-code'), 'XMESH_TIMEOUT');
      assert.ok(Date.now() - started < 2500, 'ended by the 200 ms override, not the upstream');

      const request = (EchoCtor.service as grpc.ServiceDefinition)['Echo']!.requestSerialize({ message: 'slow:3000' });
      started = Date.now();
      await assert.rejects(within(mesh.unary('echo:1', '/xmesh.echo.Echo/Echo', request, { timeoutMs: 200 }), 10_000, 'unary with timeoutMs'), { code: 'XMESH_TIMEOUT' });
      assert.ok(Date.now() - started < 2500);

      started = Date.now();
      await assert.rejects(within(unary(client, { message: 'slow:3000' }, { timeoutMs: 200 } as grpc.CallOptions), 10_000, 'grpc call with timeoutMs'), {
        code: grpc.status.DEADLINE_EXCEEDED,
      });
      assert.ok(Date.now() - started < 2500);
      // Without the option the same call completes (the route timeout is 15 s).
      assert.equal((await mesh.fetch('http://web.local/slow/300')).status, 200);
    } finally {
      client.close();
      await mesh.close();
    }
  });

  test('per-call maxRetries and retryOn retry a route that has no retry policy', async () => {
    const mesh = await createMesh({ config });
    try {
      upstream.flakyCalls = 0;
      assert.equal((await mesh.fetch('http://web.local/flaky')).status, 503, 'no retry policy: the 503 reaches the app');
      upstream.flakyCalls = 0;
      const retried = await mesh.fetch('http://web.local/flaky', { retryOn: ['5xx'], maxRetries: 2 });
      assert.equal(retried.status, 200);
      assert.equal(await retried.text(), 'flaky 2');
      upstream.flakyCalls = 0;
      assert.equal((await mesh.fetch('http://web.local/flaky', { retryOn: ['5xx'], maxRetries: 0 })).status, 503, 'maxRetries 0: no retry');
    } finally {
      await mesh.close();
    }
  });

  test('fetch takes a global Request (method, headers, body) and resolves with a Response', async () => {
    const mesh = await createMesh({ config });
    try {
      const request = new Request('http://web.local/echo', { method: 'POST', body: 'hello mesh', headers: { 'x-app': 'global-request' } });
      const response: Response = await mesh.fetch(request);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { method: 'POST', url: '/echo', body: 'hello mesh', header: 'global-request' });
      const plain = await mesh.fetch(new URL('http://web.local/echo'), { headers: { 'x-app': 'url' } });
      assert.equal(((await plain.json()) as { header: string }).header, 'url');
    } finally {
      await mesh.close();
    }
  });
});

