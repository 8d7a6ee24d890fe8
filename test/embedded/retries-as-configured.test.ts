// Retries the route asks for, where they used to be skipped silently: an upstream RST_STREAM (or a
// dropped connection) on a gRPC call under `retry_on: reset`, on every gRPC path; and `mesh.fetch` /
// `mesh.dispatcher` requests with a body, which are kept up to the route's buffer limit and sent
// again byte for byte. Upstreams are raw node:http2 / node:http servers that count what they saw.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { constants as h2 } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { isMeshError } from '@xmesh/core';
import { createMesh, type Mesh } from '@xmesh/client';
import { closedPort, loadEcho, type EchoClient } from '../support/echo-server.js';
import { bootstrap } from '../support/mesh-config.js';
import { startHostileGrpcServer, type HostileServer } from '../support/hostile-upstreams.js';

const { EchoClient: EchoCtor } = loadEcho();
const TARGET = 'echo.default.svc:50051';
const REQUEST = Buffer.from([0x0a, 0x01, 0x78]);
const BACKOFF = { base_interval: '0.001s', max_interval: '0.002s' };

type Cfg = {
  static_resources: {
    listeners: ({ per_connection_buffer_limit_bytes?: number; filter_chains: { filters: { typed_config: { route_config: { virtual_hosts: { routes: (Record<string, unknown> & { route: Record<string, unknown> })[] }[] } } }[] }[] })[];
  };
};

/** `spec`'s bootstrap with each route's extra RouteAction fields (`actions[i]`) and Route fields (`routeFields[i]`). */
function configWith(spec: Parameters<typeof bootstrap>[0], actions: Record<string, unknown>[], routeFields: Record<string, unknown>[] = []): Cfg {
  const cfg = bootstrap(spec) as Cfg;
  const routes = cfg.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.route_config.virtual_hosts[0]!.routes;
  actions.forEach((action, i) => Object.assign(routes[i]!.route, action));
  routeFields.forEach((fields, i) => Object.assign(routes[i]!, fields));
  return cfg;
}

describe('gRPC: an upstream reset is retried under retry_on: reset, on every path', () => {
  let upstream: HostileServer;
  let lean: Mesh;
  let grpcJs: Mesh;
  let dropIns: Record<'lean' | 'grpc-js', EchoClient>;

  before(async () => {
    // `<kind>-once-<id>`: the first stream of each id fails that way, later ones are answered.
    upstream = await startHostileGrpcServer((stream, behaviour, count) => {
      if (count > 1) return false;
      if (behaviour.startsWith('rst-once-')) stream.close(h2.NGHTTP2_INTERNAL_ERROR);
      else if (behaviour.startsWith('cancel-once-')) stream.close(h2.NGHTTP2_CANCEL);
      else if (behaviour.startsWith('drop-once-')) stream.session?.destroy();
      else if (behaviour.startsWith('rst-after-headers-')) {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
        setImmediate(() => stream.close(h2.NGHTTP2_INTERNAL_ERROR));
      } else return false;
      return true;
    });
    const config = () => configWith(
      {
        routes: [
          { prefix: '/', headers: { 'x-policy': 'unavailable-only' }, cluster: 'grpc' },
          { prefix: '/', headers: { 'x-policy': '5xx' }, cluster: 'grpc' },
          { prefix: '/', cluster: 'grpc' },
        ],
        clusters: { grpc: [upstream.address] },
      },
      [
        { retry_policy: { retry_on: 'unavailable', num_retries: 2, retry_back_off: BACKOFF } },
        { retry_policy: { retry_on: '5xx', num_retries: 2, retry_back_off: BACKOFF } },
        { retry_policy: { retry_on: 'reset', num_retries: 2, retry_back_off: BACKOFF } },
      ],
    );
    lean = await createMesh({ config: config(), env: {}, transport: { grpc: 'lean' } });
    grpcJs = await createMesh({ config: config(), env: {}, transport: { grpc: 'grpc-js' } });
    dropIns = { lean: lean.grpcClient(EchoCtor, TARGET) as EchoClient, 'grpc-js': grpcJs.grpcClient(EchoCtor, TARGET) as EchoClient };
  });

  after(async () => {
    for (const client of Object.values(dropIns)) client.close();
    await Promise.all([lean.close(), grpcJs.close()]);
    await upstream.close();
  });

  /** One call on `path` with `behaviour`; resolves with its status code. */
  function call(path: string, behaviour: string, policy = 'reset'): Promise<number> {
    const deadline = Date.now() + 5000;
    if (path === 'fast') {
      return lean.unary(TARGET, '/xmesh.echo.Echo/Echo', REQUEST, { metadata: { 'x-behaviour': behaviour, 'x-policy': policy }, deadline }).then(
        () => grpc.status.OK,
        (error: unknown) => (isMeshError(error) ? error.grpcStatus : -1),
      );
    }
    const metadata = new grpc.Metadata();
    metadata.set('x-behaviour', behaviour);
    metadata.set('x-policy', policy);
    return new Promise((resolve) => dropIns[path as 'lean' | 'grpc-js'].Echo({ message: 'x' }, metadata, { deadline }, (error: grpc.ServiceError | null) => resolve(error?.code ?? grpc.status.OK)));
  }

  const PATHS = ['fast', 'lean', 'grpc-js'];
  for (const path of PATHS) {
    test(`${path}: RST_STREAM INTERNAL_ERROR, RST_STREAM CANCEL and a dropped connection before any response are retried (the upstream sees two attempts)`, async () => {
      for (const kind of ['rst', 'cancel', 'drop']) {
        const behaviour = `${kind}-once-${path}`;
        assert.equal(await call(path, behaviour), grpc.status.OK, `${kind} on ${path}`);
        assert.equal(upstream.seen.get(behaviour), 2, `${kind} on ${path}: attempts the upstream saw`);
      }
    });

    test(`${path}: retry_on 5xx retries a reset too; retry_on unavailable does not (a reset carries no grpc-status)`, async () => {
      const fiveXx = `rst-once-5xx-${path}`;
      assert.equal(await call(path, fiveXx, '5xx'), grpc.status.OK);
      assert.equal(upstream.seen.get(fiveXx), 2);
      const unavailable = `rst-once-unavailable-${path}`;
      assert.equal(await call(path, unavailable, 'unavailable-only'), grpc.status.INTERNAL);
      assert.equal(upstream.seen.get(unavailable), 1);
    });

    test(`${path}: a reset after the response headers is not retried (the response had started)`, async () => {
      const behaviour = `rst-after-headers-${path}`;
      assert.equal(await call(path, behaviour), grpc.status.INTERNAL);
      assert.equal(upstream.seen.get(behaviour), 1);
    });
  }
});

/** What the HTTP upstream saw: the body of every request, by `x-id`. */
interface BodyUpstream {
  readonly address: string;
  readonly bodies: Map<string, Buffer[]>;
  close(): Promise<void>;
}

/** `x-fail`: `503-once` answers the first request of each id 503, `reset-once` resets its connection; both after reading the whole body. */
async function startBodyUpstream(): Promise<BodyUpstream> {
  const bodies = new Map<string, Buffer[]>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => {});
    req.on('end', () => {
      const id = String(req.headers['x-id']);
      const seen = bodies.get(id) ?? [];
      seen.push(Buffer.concat(chunks));
      bodies.set(id, seen);
      const first = seen.length === 1;
      if (first && req.headers['x-fail'] === 'reset-once') {
        req.socket.resetAndDestroy();
        return;
      }
      res.statusCode = first && req.headers['x-fail'] === '503-once' ? 503 : 200;
      res.end(createHash('sha256').update(seen.at(-1)!).digest('hex'));
    });
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('HTTP: a request with a body is retried as configured, the same bytes each time', () => {
  let upstream: BodyUpstream;
  let mesh: Mesh;
  let smallListener: Mesh;
  let dead: string;
  const payload = (seed: number, size = 30_000) => {
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i++) bytes[i] = 32 + ((i * 31 + seed) % 95); // printable ASCII: a string body sends these very bytes
    return bytes;
  };
  const chunksOf = (bytes: Buffer) => [bytes.subarray(0, 1000), bytes.subarray(1000, 20_000), bytes.subarray(20_000)];

  before(async () => {
    upstream = await startBodyUpstream();
    dead = `127.0.0.1:${await closedPort()}`;
    const config = () => configWith(
      {
        domains: ['*'],
        routes: [{ prefix: '/limited/', cluster: 'web' }, { prefix: '/connect/', cluster: 'flaky' }, { prefix: '/', cluster: 'web' }],
        clusters: { web: [upstream.address], flaky: [dead, upstream.address] },
      },
      [
        { retry_policy: { retry_on: '5xx', num_retries: 2, retry_back_off: BACKOFF } },
        { retry_policy: { retry_on: 'connect-failure', num_retries: 2, retry_back_off: BACKOFF } },
        { retry_policy: { retry_on: '5xx,reset', num_retries: 2, retry_back_off: BACKOFF } },
      ],
      [{ per_request_buffer_limit_bytes: 1024 }],
    );
    mesh = await createMesh({ config: config(), env: {} });
    const small = config();
    Object.assign(small.static_resources.listeners[0]!, { per_connection_buffer_limit_bytes: 2048 });
    smallListener = await createMesh({ config: small, env: {} });
  });

  after(async () => {
    await Promise.all([mesh.close(), smallListener.close()]);
    await upstream.close();
  });

  const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

  /** Body shapes a caller may hand `mesh.fetch` or `mesh.dispatcher`, all carrying `bytes`. */
  const shapes: Record<string, (bytes: Buffer, headers: Record<string, string>, path?: string) => Promise<{ status: number; body: string }>> = {
    'fetch, string': async (bytes, headers, path = '/x') => {
      const response = await mesh.fetch(`http://web.default.svc${path}`, { method: 'POST', body: bytes.toString('latin1'), headers: { ...headers, 'content-type': 'text/plain; charset=latin1' } });
      return { status: response.status, body: await response.text() };
    },
    'fetch, Uint8Array': async (bytes, headers, path = '/x') => {
      const response = await mesh.fetch(`http://web.default.svc${path}`, { method: 'POST', body: new Uint8Array(bytes), headers });
      return { status: response.status, body: await response.text() };
    },
    'fetch, ReadableStream': async (bytes, headers, path = '/x') => {
      const chunks = chunksOf(bytes);
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          const next = chunks.shift();
          if (next === undefined) controller.close();
          else controller.enqueue(new Uint8Array(next));
        },
      });
      const response = await mesh.fetch(`http://web.default.svc${path}`, { method: 'POST', body, headers, duplex: 'half' } as never);
      return { status: response.status, body: await response.text() };
    },
    'dispatcher, Node Readable': async (bytes, headers, path = '/x') => {
      const response = await request(`http://web.default.svc${path}`, { method: 'POST', body: Readable.from(chunksOf(bytes)), headers, dispatcher: mesh.dispatcher });
      return { status: response.statusCode, body: await response.body.text() };
    },
    'dispatcher, async generator': async (bytes, headers, path = '/x') => {
      const generate = async function* () {
        for (const chunk of chunksOf(bytes)) {
          await new Promise((resolve) => setImmediate(resolve));
          yield chunk;
        }
      };
      const response = await request(`http://web.default.svc${path}`, { method: 'POST', body: generate() as never, headers, dispatcher: mesh.dispatcher });
      return { status: response.statusCode, body: await response.body.text() };
    },
  };

  let id = 0;
  for (const [shape, send] of Object.entries(shapes)) {
    test(`${shape}: retry_on 5xx and reset resend the whole body; the upstream gets the same bytes on each attempt`, async () => {
      for (const fail of ['503-once', 'reset-once']) {
        const key = `${shape}-${fail}-${id++}`;
        const bytes = payload(id);
        const { status, body } = await send(bytes, { 'x-id': key, 'x-fail': fail });
        assert.equal(status, 200, `${shape} after ${fail}`);
        assert.equal(body, sha(bytes), 'the answered attempt carried the whole body');
        const seen = upstream.bodies.get(key)!;
        assert.equal(seen.length, 2, `${shape} after ${fail}: attempts the upstream saw`);
        assert.deepEqual(seen.map(sha), [sha(bytes), sha(bytes)]);
      }
    });
  }

  test('connect-failure: a body is kept while the first endpoint refuses, and reaches the next one whole', async () => {
    const retriesBefore = mesh.observability.store.value('cluster.flaky.upstream_rq_retry');
    for (let i = 0; i < 4; i++) {
      const key = `connect-${i}`;
      const bytes = payload(100 + i);
      const { status, body } = await shapes['dispatcher, Node Readable']!(bytes, { 'x-id': key }, '/connect/x');
      assert.equal(status, 200);
      assert.equal(body, sha(bytes));
      assert.deepEqual(upstream.bodies.get(key)!.map(sha), [sha(bytes)]);
    }
    assert.ok(mesh.observability.store.value('cluster.flaky.upstream_rq_retry') - retriesBefore >= 1, 'some calls were retried after a refused connection');
  });

  test('a body over the route\'s per_request_buffer_limit_bytes is sent whole but not retried, as Envoy does', async () => {
    for (const shape of ['fetch, string', 'fetch, ReadableStream', 'dispatcher, Node Readable']) {
      const key = `over-route-limit-${shape}`;
      const bytes = payload(7, 4096);
      const { status } = await shapes[shape]!(bytes, { 'x-id': key, 'x-fail': '503-once' }, '/limited/x');
      assert.equal(status, 503, `${shape}: the upstream's answer, not retried`);
      assert.deepEqual(upstream.bodies.get(key)!.map(sha), [sha(bytes)]);
    }
    const small = `within-route-limit`;
    const bytes = payload(8, 512);
    assert.equal((await shapes['fetch, ReadableStream']!(bytes, { 'x-id': small, 'x-fail': '503-once' }, '/limited/x')).status, 200);
    assert.equal(upstream.bodies.get(small)!.length, 2);
  });

  test('the listener\'s per_connection_buffer_limit_bytes caps what a route keeps', async () => {
    const send = async (key: string, size: number) => {
      const response = await request('http://web.default.svc/x', { method: 'POST', body: Readable.from(chunksOf(payload(9, size))), headers: { 'x-id': key, 'x-fail': '503-once' }, dispatcher: smallListener.dispatcher });
      await response.body.text();
      return response.statusCode;
    };
    assert.equal(await send('listener-over', 4096), 503);
    assert.equal(upstream.bodies.get('listener-over')!.length, 1);
    assert.equal(await send('listener-within', 1024), 200);
    assert.equal(upstream.bodies.get('listener-within')!.length, 2);
  });
});
