// The xmesh sidecar as a proxy: stock grpc-js and HTTP clients through it to real upstreams,
// local replies, upstream session reuse, admin paths and graceful drain.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer as createH2Server, type Http2Server } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { closedPort, loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { bootstrap } from '../support/mesh-config.js';
import { runConcurrently, unary } from '../support/grpc-call.js';
import { waitFor } from '../support/wait.js';

const { EchoClient: EchoCtor } = loadEcho();

/** An HTTP/1.1 upstream answering `<name> <method> <path> host=<host> body=<bytes>`. */
async function startHttpServer(name: string): Promise<{ server: HttpServer; address: string }> {
  const server = createHttpServer((req, res) => {
    let size = 0;
    req.on('data', (c: Buffer) => (size += c.length));
    req.on('end', () => res.end(`${name} ${req.method} ${req.url} host=${req.headers.host} body=${size}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, address: `127.0.0.1:${(server.address() as { port: number }).port}` };
}

/** An h2c upstream counting its sessions. */
async function startH2Server(): Promise<{ server: Http2Server; address: string; sessions: () => number }> {
  const server = createH2Server();
  let sessions = 0;
  server.on('session', () => sessions++);
  server.on('stream', (stream, headers) => {
    stream.respond({ ':status': 200, 'x-upstream': 'h2' });
    stream.end(`h2 ${headers[':path']} ${headers[':authority']}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, address: `127.0.0.1:${(server.address() as { port: number }).port}`, sessions: () => sessions };
}

function h2Get(target: string, path: string, authority: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const session = connect(`http://${target}`);
    session.on('error', reject);
    const stream = session.request({ ':path': path, ':authority': authority });
    let body = '';
    let headers: Record<string, unknown> = {};
    stream.setEncoding('utf8');
    stream.on('response', (h) => (headers = h));
    stream.on('data', (c: string) => (body += c));
    stream.on('end', () => {
      session.close();
      resolve({ status: Number(headers[':status']), headers, body });
    });
    stream.on('error', reject);
    stream.end();
  });
}

describe('xmesh sidecar', () => {
  let stable: EchoServer;
  let canary: EchoServer;
  let web: { server: HttpServer; address: string };
  let h2web: Awaited<ReturnType<typeof startH2Server>>;
  let sidecar: Sidecar;
  let echo: EchoClient;
  let deadPort: number;

  before(async () => {
    stable = await startEchoServer('stable');
    canary = await startEchoServer('canary');
    web = await startHttpServer('web');
    h2web = await startH2Server();
    deadPort = await closedPort();
    const config = bootstrap({
      domains: ['echo.svc', 'echo.svc:*', 'web.svc', 'h2web.svc', 'dead.svc'],
      routes: [
        { prefix: '/dead', cluster: 'dead' },
        { prefix: '/h2', cluster: 'h2web' },
        { prefix: '/web', cluster: 'web' },
        { prefix: '/', headers: { 'x-canary': 'yes' }, cluster: 'canary' },
        { prefix: '/', cluster: 'stable' },
      ],
      clusters: { stable: [stable.address], canary: [canary.address], web: [web.address], h2web: [h2web.address], dead: [`127.0.0.1:${deadPort}`] },
      http2: ['stable', 'canary', 'h2web', 'dead'],
    });
    sidecar = await startSidecar({ config, listen: '127.0.0.1:0', admin: '127.0.0.1:0' });
    echo = new EchoCtor(sidecar.target, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'echo.svc' }) as EchoClient;
  });

  after(async () => {
    echo.close();
    await sidecar.close();
    await Promise.all([stable.close(), canary.close()]);
    web.server.close();
    h2web.server.close();
  });

  test('a stock grpc-js client reaches the routed cluster; metadata and trailers pass through', async () => {
    const md = new grpc.Metadata();
    md.set('x-echo', 'hello');
    let initial: grpc.Metadata | undefined;
    let status: grpc.StatusObject | undefined;
    const reply = await new Promise<{ server: string; message: string }>((resolve, reject) => {
      const call = echo.Echo({ message: 'hi' }, md, (err: Error | null, res: { server: string; message: string }) => (err ? reject(err) : resolve(res)));
      call.on('metadata', (m: grpc.Metadata) => (initial = m));
      call.on('status', (s: grpc.StatusObject) => (status = s));
    });
    assert.equal(reply.message, 'hi');
    assert.ok(reply.server.startsWith('stable@'), reply.server);
    assert.deepEqual(initial?.get('x-echo'), ['hello']);
    await new Promise((r) => setImmediate(r));
    assert.equal(status?.code, grpc.status.OK);
    assert.deepEqual(status?.metadata.get('x-echo-trailer'), ['hello']);
  });

  test('x-request-id: created when absent (generate_request_id defaults to true), kept when sent; traceparent untouched without tracing', async () => {
    await unary(echo, { message: 'id' });
    assert.match(String(stable.lastMetadata?.get('x-request-id')[0]), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual(stable.lastMetadata?.get('traceparent'), []);
    const md = new grpc.Metadata();
    md.set('x-request-id', 'req-5');
    md.set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    await unary(echo, { message: 'id' }, {}, 'Echo', md);
    assert.deepEqual(stable.lastMetadata?.get('x-request-id'), ['req-5']);
    assert.deepEqual(stable.lastMetadata?.get('traceparent'), ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01']);
  });

  test('a header route sends the call to the canary; server streaming is forwarded message by message', async () => {
    const md = new grpc.Metadata();
    md.set('x-canary', 'yes');
    const reply = await unary(echo, { message: 'c' }, {}, 'Echo', md);
    assert.ok(reply.server.startsWith('canary@'), reply.server);
    const messages: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = echo.ServerStream({ message: 's', count: 5 });
      call.on('data', (r: { message: string }) => messages.push(r.message));
      call.on('error', reject);
      call.on('end', resolve);
    });
    assert.deepEqual(messages, ['s#0', 's#1', 's#2', 's#3', 's#4']);
  });

  test('no route answers UNIMPLEMENTED, a refused upstream UNAVAILABLE, both trailers-only with the xmesh code', async () => {
    const other = new EchoCtor(sidecar.target, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'nowhere.svc' }) as EchoClient;
    const noRoute = await unary(other, { message: 'x' }).then(() => undefined, (e: grpc.ServiceError) => e);
    other.close();
    assert.equal(noRoute?.code, grpc.status.UNIMPLEMENTED);
    assert.deepEqual(noRoute?.metadata.get('x-xmesh-error-code'), ['XMESH_NO_ROUTE']);
    const dead = new EchoCtor(sidecar.target, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'dead.svc' }) as EchoClient;
    const refused = await new Promise<grpc.ServiceError>((resolve) => {
      dead.makeUnaryRequest('/dead/Echo', (x: Buffer) => x, (x: Buffer) => x, Buffer.alloc(0), (e: grpc.ServiceError | null) => resolve(e!));
    });
    dead.close();
    assert.equal(refused.code, grpc.status.UNAVAILABLE);
    assert.deepEqual(refused.metadata.get('x-xmesh-error-code'), ['XMESH_CONNECT_FAILED']);
  });

  test('HTTP/1.1 requests route by Host to an HTTP/1.1 upstream, bodies streamed, Host kept', async () => {
    const body = Buffer.alloc(200_000, 1);
    const res = await request(`http://${sidecar.target}/web/upload?x=1`, { method: 'POST', headers: { host: 'web.svc' }, body });
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), `web POST /web/upload?x=1 host=web.svc body=${body.length}`);
    const missing = await request(`http://${sidecar.target}/web`, { headers: { host: 'other.svc' } });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.headers['x-xmesh-error-code'], 'XMESH_NO_ROUTE');
    assert.equal(await missing.body.text(), 'no route\n');
    const dead = await request(`http://${sidecar.target}/dead`, { headers: { host: 'dead.svc' } });
    assert.equal(dead.statusCode, 503);
    assert.match(await dead.body.text(), /^upstream connect error/);
  });

  test('h2c HTTP requests reach an HTTP/2 upstream over one reused session', async () => {
    const before = h2web.sessions();
    const results = await runConcurrently(50, 10, () => h2Get(sidecar.target, '/h2/x', 'h2web.svc'));
    assert.ok(results.every((r) => r.status === 200 && r.body === 'h2 /h2/x h2web.svc' && r.headers['x-upstream'] === 'h2'));
    assert.ok(h2web.sessions() - before <= 1, `${h2web.sessions() - before} upstream sessions`);
    const http1 = await request(`http://${sidecar.target}/h2/y`, { headers: { host: 'h2web.svc' } });
    assert.equal(await http1.body.text(), 'h2 /h2/y h2web.svc');
    assert.equal(h2web.sessions() - before, 1);
  });

  test('many concurrent gRPC calls share one upstream connection and all succeed', async () => {
    const replies = await runConcurrently(500, 32, (i) => unary(echo, { message: `m${i}` }));
    assert.equal(replies.length, 500);
    assert.ok(replies.every((r, i) => r.message === `m${i}` && r.server.startsWith('stable@')));
  });

  test('admin: /ready, /stats with upstream and downstream stats, /clusters, /config_dump', async () => {
    const admin = `http://127.0.0.1:${sidecar.adminAddress!.port}`;
    const ready = await request(`${admin}/ready`);
    assert.equal(ready.statusCode, 200);
    assert.equal(await ready.body.text(), 'LIVE\n');
    const stats = await (await request(`${admin}/stats`)).body.text();
    const stat = (name: string) => Number(new RegExp(`^${name.replaceAll('.', '\\.')}: (\\d+)$`, 'm').exec(stats)?.[1]);
    assert.ok(stat('cluster.stable.upstream_rq_total') >= 504, stats);
    assert.equal(stat('cluster.dead.upstream_rq_total'), 2);
    assert.equal(stat('http.sidecar.downstream_rq_active'), 0);
    assert.equal(stat('http.sidecar.downstream_rq_total'), sidecar.stats.downstream_rq_total);
    assert.equal(sidecar.stats.downstream_rq_total, 561, "requests the tests above sent");
    const clusters = await (await request(`${admin}/clusters`)).body.text();
    assert.ok(clusters.includes(`stable::${stable.address}::health_flags::healthy`), clusters);
    const dump = JSON.parse(await (await request(`${admin}/config_dump?resource=static_clusters`)).body.text()) as { configs: { cluster: { name: string } }[] };
    assert.deepEqual(dump.configs.map((c) => c.cluster.name).sort(), ['canary', 'dead', 'h2web', 'stable', 'web']);
  });
});

describe('xmesh sidecar drain', () => {
  test('drain lets an in-flight call finish, refuses new connections, and reports DRAINING', async () => {
    const upstream = await startEchoServer('slow');
    const sidecar = await startSidecar({
      config: bootstrap({ routes: [{ prefix: '/', cluster: 'slow' }], clusters: { slow: [upstream.address] }, http2: ['slow'] }),
      listen: '127.0.0.1:0',
      admin: '127.0.0.1:0',
    });
    const client = new EchoCtor(sidecar.target, grpc.credentials.createInsecure()) as EchoClient;
    await unary(client, { message: 'warm' });
    const inFlight = unary(client, { message: 'hold' });
    await waitFor(() => upstream.held === 1, 'the call to reach the upstream');
    const admin = `http://127.0.0.1:${sidecar.adminAddress!.port}`;
    const drained = sidecar.drain(5000);
    const ready = await request(`${admin}/ready`);
    assert.equal(ready.statusCode, 503);
    await ready.body.text();
    const fresh = await request(`http://${sidecar.target}/`, { headers: { host: 'x' } }).then(() => 'answered', (e: Error & { code?: string }) => e.code);
    assert.equal(fresh, 'ECONNREFUSED');
    upstream.release();
    const reply = await inFlight;
    assert.equal(reply.message, 'hold');
    await drained;
    client.close();
    await upstream.close();
  });
});
