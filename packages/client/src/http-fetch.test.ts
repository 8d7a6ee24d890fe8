// HTTP through the mesh with mesh.fetch: HTTP/1.1 and HTTP/2 (h2c) upstreams, logical Host,
// streaming bodies both ways, and mesh errors answered with the sidecar's local replies.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createH2Server, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { createMesh, type Mesh } from '@xmesh/client';
import { bootstrap } from '../../../test/support/mesh-config.js';
import { closedPort } from '../../../test/support/echo-server.js';
import { waitFor } from '../../../test/support/wait.js';

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

/** Chunks of GET /stream the client has read: the server sends the next one only after that, so they cannot coalesce. */
let streamChunksRead = 0;

const HOLD_TOGETHER = 10;
const held: (() => void)[] = [];
let maxHeld = 0;

/** Echoes the request: status 200, headers x-host / x-version / x-method, body = request body; GET /stream sends 3 chunks. */
function handler(name: string) {
  return (req: Req, res: Res) => {
    const host = req.headers[':authority'] ?? req.headers.host;
    const head = { 'x-server': name, 'x-host': String(host), 'x-version': req.httpVersion, 'x-method': String(req.method) };
    if (req.url === '/stream') {
      res.writeHead(200, head);
      let i = 0;
      let since = Date.now();
      const tick = () => {
        if (i === 3) { res.end(); return; }
        // Waits (up to 5 s, so a client that buffers fails instead of hanging) for the last chunk to be read.
        if (streamChunksRead < i && Date.now() - since < 5_000) { setTimeout(tick, 5); return; }
        (res as ServerResponse).write(`chunk${i++};`);
        since = Date.now();
        setTimeout(tick, 5);
      };
      tick();
      return;
    }
    if (req.url === '/v2/hold') {
      // Held until HOLD_TOGETHER requests are here at once (or 1 s passed): counts how many run together.
      held.push(() => res.end('held'));
      maxHeld = Math.max(maxHeld, held.length);
      req.resume();
      const release = () => held.splice(0).forEach((end) => end());
      if (held.length >= HOLD_TOGETHER) release();
      else setTimeout(release, 1_000).unref();
      return;
    }
    if (req.url?.endsWith('/trailers')) {
      res.writeHead(200, { ...head, trailer: 'x-checksum' });
      res.write('body');
      res.addTrailers({ 'x-checksum': `sum-${name}` });
      res.end();
      return;
    }
    if (req.url === '/v1/slow') {
      // Far beyond the caller's 50 ms abort: only the abort can end the request first.
      setTimeout(() => res.end('late'), 30_000).unref();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, head);
      res.end(Buffer.concat(chunks));
    });
  };
}

describe('HTTP through the mesh', () => {
  const h1 = createServer(handler('h1'));
  const h2 = createH2Server(handler('h2'));
  let mesh: Mesh;

  before(async () => {
    await new Promise<void>((r) => h1.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
    const p1 = (h1.address() as AddressInfo).port;
    const p2 = (h2.address() as AddressInfo).port;
    mesh = await createMesh({
      config: bootstrap({
        domains: ['orders.default.svc', 'h2.default.svc'],
        routes: [{ prefix: '/v2/', cluster: 'h2' }, { prefix: '/stream', cluster: 'h2' }, { prefix: '/v1/', cluster: 'h1' }, { prefix: '/dead/', cluster: 'dead' }],
        clusters: { h1: [`127.0.0.1:${p1}`], h2: [`127.0.0.1:${p2}`], dead: [`127.0.0.1:${await closedPort()}`] },
        http2: ['h2'],
        // HTTP/1.1 clients of the listener get trailers (Envoy drops them by default: see the trailers test).
        hcm: { http_protocol_options: { enable_trailers: true } },
      }),
    });
  });

  after(async () => {
    await mesh.close();
    h1.close();
    h2.close();
  });

  test('HTTP/1.1 upstream gets the logical Host and the body', async () => {
    const res = await mesh.fetch('http://orders.default.svc/v1/orders/42', { method: 'POST', body: 'payload-1' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-server'), 'h1');
    assert.equal(res.headers.get('x-version'), '1.1');
    assert.equal(res.headers.get('x-host'), 'orders.default.svc');
    assert.equal(await res.text(), 'payload-1');
  });

  test('POSTs to one HTTP/2 endpoint run side by side on its connection, not one at a time', async () => {
    maxHeld = 0;
    const replies = await Promise.all(Array.from({ length: HOLD_TOGETHER }, async () => (await mesh.fetch('http://orders.default.svc/v2/hold', { method: 'POST', body: 'x' })).text()));
    assert.deepEqual(new Set(replies), new Set(['held']));
    assert.equal(maxHeld, HOLD_TOGETHER, `${maxHeld} POSTs were under way at once`);
  });

  test('response trailers reach the caller from HTTP/1.1 and HTTP/2 upstreams with enable_trailers (undici 7 hands HTTP/2 ones to handlers as {}); without it they are dropped, as a sidecar drops them for its HTTP/1.1 clients', async () => {
    for (const [path, server] of [['/v1/trailers', 'h1'], ['/v2/trailers', 'h2']]) {
      const res = await request(`http://orders.default.svc${path}`, { dispatcher: mesh.dispatcher });
      assert.equal(await res.body.text(), 'body', server);
      assert.deepEqual(res.trailers, { 'x-checksum': `sum-${server}` }, server);
    }
    const plain = await createMesh({
      config: bootstrap({
        routes: [{ prefix: '/v2/', cluster: 'h2' }, { prefix: '/v1/', cluster: 'h1' }],
        clusters: { h1: [`127.0.0.1:${(h1.address() as AddressInfo).port}`], h2: [`127.0.0.1:${(h2.address() as AddressInfo).port}`] },
        http2: ['h2'],
      }),
    });
    try {
      for (const [path, server] of [['/v1/trailers', 'h1'], ['/v2/trailers', 'h2']]) {
        const res = await request(`http://orders.default.svc${path}`, { dispatcher: plain.dispatcher });
        assert.equal(await res.body.text(), 'body', server);
        assert.deepEqual(res.trailers, {}, server);
      }
    } finally {
      await plain.close();
    }
  });

  test('HTTP/2 upstream gets the logical authority', async () => {
    const res = await mesh.fetch('http://orders.default.svc/v2/orders/42');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-version'), '2.0');
    assert.equal(res.headers.get('x-host'), 'orders.default.svc');
    await res.arrayBuffer();
  });

  test('streaming request body reaches the upstream whole', async () => {
    const parts = ['a', 'bb', 'ccc'];
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = parts.shift();
        if (next === undefined) controller.close();
        else {
          await new Promise((r) => setTimeout(r, 5));
          controller.enqueue(new TextEncoder().encode(next));
        }
      },
    });
    const res = await mesh.fetch('http://orders.default.svc/v1/upload', { method: 'PUT', body, duplex: 'half' } as never);
    assert.equal(await res.text(), 'abbccc');
  });

  test('streaming response body arrives in chunks (HTTP/2)', async () => {
    streamChunksRead = 0;
    const res = await mesh.fetch('http://orders.default.svc/stream');
    const seen: string[] = [];
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      seen.push(Buffer.from(chunk).toString());
      streamChunksRead = seen.join('').split(';').length - 1;
    }
    assert.equal(seen.join(''), 'chunk0;chunk1;chunk2;');
    // The server wrote each chunk only once the previous one was read here: a client that buffered
    // the response whole would get it in one piece, after the server's 5 s waits.
    assert.equal(seen.length, 3, `expected three chunks, got ${JSON.stringify(seen)}`);
  });

  test('no route: a 404 local reply, as the sidecar (and Envoy) answers', async () => {
    const res = await mesh.fetch('http://unknown.default.svc/v1/x');
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('x-xmesh-error-code'), 'XMESH_NO_ROUTE');
    assert.equal(res.headers.get('content-type'), 'text/plain');
    assert.equal(await res.text(), 'no route\n');
  });

  test('no route for a request with a Node stream body: the local reply, and the caller\'s stream closed without an uncaught error', async () => {
    const escaped: unknown[] = [];
    const onUncaught = (error: unknown) => void escaped.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const body = new Readable({ read() {} });
      const res = await request('http://unknown.default.svc/v1/x', { method: 'POST', body, dispatcher: mesh.dispatcher });
      assert.equal(res.statusCode, 404);
      await res.body.text();
      await new Promise((r) => setImmediate(r));
      assert.equal(body.destroyed, true, 'the body the mesh will never send is closed');
      assert.deepEqual(escaped, []);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  test('a refused connection: a 503 local reply with Envoy\'s wording', async () => {
    const res = await mesh.fetch('http://orders.default.svc/dead/x');
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('x-xmesh-error-code'), 'XMESH_CONNECT_FAILED');
    assert.equal(await res.text(), 'upstream connect error or disconnect/reset before headers. reset reason: connection failure\n');
    assert.equal(mesh.observability.store.value('cluster.dead.upstream_rq_503'), 1);
  });

  test("the caller's abort still rejects: it is not the mesh's reply", async () => {
    const err = await mesh.fetch('http://orders.default.svc/v1/slow', { signal: AbortSignal.timeout(50) }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof Error);
    assert.match((err as Error).name, /AbortError|TimeoutError/);
  });
});

describe('HTTP local replies and the requests behind them', () => {
  const seen: string[] = [];
  /** Responses to /slow, held until the test releases them. */
  const heldSlow: ServerResponse[] = [];
  const releaseSlow = () => {
    for (const res of heldSlow.splice(0)) res.end('slow done');
  };
  const server = createServer((req, res) => {
    seen.push(req.url ?? '');
    if (req.url === '/slow') heldSlow.push(res);
    else res.end('ok');
  });
  let port = 0;

  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });

  after(() => {
    releaseSlow();
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });

  /** One upstream connection; `/quick` has a 0.1 s route timeout, `/slow` the default. */
  async function meshWithOneConnection(): Promise<Mesh> {
    const config = bootstrap({ routes: [{ prefix: '/quick', cluster: 'one' }, { prefix: '/', cluster: 'one' }], clusters: { one: [`127.0.0.1:${port}`] } }) as {
      static_resources: { listeners: { filter_chains: { filters: { typed_config: { route_config: { virtual_hosts: { routes: { route: Record<string, unknown> }[] }[] } } }[] }[] }[] };
    };
    config.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.route_config.virtual_hosts[0]!.routes[0]!.route.timeout = '0.1s';
    return createMesh({ config, env: {}, transport: { httpOptions: { connections: 1 } } });
  }

  test('a request that timed out while queued for a connection gets its 504 and is never sent', async () => {
    const mesh = await meshWithOneConnection();
    try {
      seen.length = 0;
      // /slow holds the only connection until released, so /quick can only wait in the pool.
      const slow = mesh.fetch('http://one.svc/slow');
      await waitFor(() => seen.includes('/slow'), '/slow to reach the upstream');
      const quick = await mesh.fetch('http://one.svc/quick');
      assert.equal(quick.status, 504);
      assert.equal(quick.headers.get('x-xmesh-error-code'), 'XMESH_TIMEOUT');
      assert.equal(await quick.text(), 'upstream request timeout\n');
      releaseSlow();
      assert.equal(await (await slow).text(), 'slow done');
      // The connection is free again: a request queued behind /slow would have gone out before this one.
      assert.equal(await (await mesh.fetch('http://one.svc/next')).text(), 'ok');
      assert.deepEqual(seen, ['/slow', '/next']);
    } finally {
      await mesh.close();
    }
  });

  test('closing the mesh under a request in flight rejects it; no upstream reset is invented', async () => {
    const mesh = await meshWithOneConnection();
    seen.length = 0;
    const slow = mesh.fetch('http://one.svc/slow');
    await waitFor(() => seen.includes('/slow'), '/slow to reach the upstream');
    await mesh.close();
    const outcome = await slow.then((res) => `resolved ${res.status}`, (err: Error) => `rejected ${err.name}`);
    assert.equal(outcome, 'rejected TypeError');
  });
});
