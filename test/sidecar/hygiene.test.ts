// Request hygiene and typed outcomes at the sidecar, against raw sockets and stock clients:
// absolute-form targets are routed by their authority (which replaces Host, RFC 9112 §3.2.2, as
// Envoy's allow_absolute_url), two Host headers are a 400, HTTP/1.0 is a 426 unless accepted, and an
// upstream that breaks HTTP (status 0, `000`, 600, 1xx as final, an unparsable status line, a missing
// or invalid `:status`) gets the sidecar's local reply (502, XMESH_UPSTREAM_PROTOCOL), never a crash.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { connect as connectH2 } from 'node:http2';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { startRawUpstream, type RawUpstream } from './support/raw-h2.js';
import { rawExchange } from './support/raw-client.js';
import { cluster } from './support/topology.js';
import { within } from './support/waits.js';

/** What a raw HTTP/1.1 exchange got back before the sidecar closed the connection. */
async function ask(port: number, text: string): Promise<string> {
  return (await rawExchange(port, text, 5000)) ?? 'the connection stayed open';
}

/** An upstream answering `<name> host=<Host> path=<url>`. */
async function namedUpstream(name: string): Promise<{ server: Server; address: string }> {
  const server = createHttpServer((req, res) => res.end(`${name} host=${req.headers.host} path=${req.url}`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, address: `127.0.0.1:${(server.address() as { port: number }).port}` };
}

function bootstrap(vhosts: { domains: string[]; routes: { prefix: string; cluster: string }[] }[], clusters: object[], hcm: Record<string, unknown> = {}): object {
  return {
    static_resources: {
      listeners: [{
        name: 'mesh',
        filter_chains: [{ filters: [{
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
            stat_prefix: 'mesh',
            route_config: { name: 'mesh', virtual_hosts: vhosts.map((v, i) => ({ name: `v${i}`, domains: v.domains, routes: v.routes.map((r) => ({ match: { prefix: r.prefix }, route: { cluster: r.cluster } })) })) },
            http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
            ...hcm,
          },
        }] }],
      }],
      clusters,
    },
  };
}

describe('request targets and Host', () => {
  let a: { server: Server; address: string };
  let b: { server: Server; address: string };
  let sidecar: Sidecar;
  let strict: Sidecar;
  let legacy: Sidecar;

  before(async () => {
    a = await namedUpstream('A');
    b = await namedUpstream('B');
    const vhosts = [{ domains: ['a.svc'], routes: [{ prefix: '/', cluster: 'a' }] }, { domains: ['b.svc', 'b.svc:*'], routes: [{ prefix: '/', cluster: 'b' }] }];
    const clusters = [cluster('a', a.address, false), cluster('b', b.address, false)];
    sidecar = await startSidecar({ config: bootstrap(vhosts, clusters), listen: '127.0.0.1:0', admin: false });
    strict = await startSidecar({ config: bootstrap(vhosts, clusters, { http_protocol_options: { allow_absolute_url: false } }), listen: '127.0.0.1:0', admin: false });
    legacy = await startSidecar({ config: bootstrap(vhosts, clusters, { http_protocol_options: { accept_http_10: true, default_host_for_http_10: 'b.svc' } }), listen: '127.0.0.1:0', admin: false });
  });

  after(async () => {
    await Promise.all([sidecar.close(), strict.close(), legacy.close()]);
    a.server.close();
    b.server.close();
  });

  test('an absolute-form target is routed by its authority, which replaces Host upstream', async () => {
    const reply = await ask(sidecar.address.port, 'GET http://b.svc/some/path?q=1 HTTP/1.1\r\nHost: a.svc\r\nConnection: close\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 200/);
    assert.match(reply, /B host=b\.svc path=\/some\/path\?q=1$/);
    const withPort = await ask(sidecar.address.port, 'GET http://user@b.svc:8080 HTTP/1.1\r\nHost: b.svc:8080\r\nConnection: close\r\n\r\n');
    assert.match(withPort, /B host=b\.svc:8080 path=\/$/);
    // A stock client sending a proxy request (absolute-form), as to a forward proxy.
    const viaHttp = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({ host: sidecar.address.host, port: sidecar.address.port, path: 'http://b.svc/from-node', headers: { host: 'b.svc' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(viaHttp, 'B host=b.svc path=/from-node');
  });

  test('with allow_absolute_url: false the target is the path as sent (no route: 404)', async () => {
    const reply = await ask(strict.address.port, 'GET http://b.svc/x HTTP/1.1\r\nHost: a.svc\r\nConnection: close\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 404/);
  });

  test('two Host headers are rejected with 400 and the connection closes; a malformed target is a 400', async () => {
    const reply = await ask(sidecar.address.port, 'GET /x HTTP/1.1\r\nHost: a.svc\r\nHost: b.svc\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 400/);
    assert.match(reply, /connection: close/i);
    const bad = await ask(sidecar.address.port, 'GET ftp:/nowhere HTTP/1.1\r\nHost: a.svc\r\n\r\n');
    assert.match(bad, /^HTTP\/1\.1 400/);
  });

  test('HTTP/1.0 gets 426 unless accept_http_10; then default_host_for_http_10 routes a request without Host', async () => {
    assert.match(await ask(sidecar.address.port, 'GET /x HTTP/1.0\r\nHost: a.svc\r\n\r\n'), /^HTTP\/1\.1 426/);
    const reply = await ask(legacy.address.port, 'GET /old HTTP/1.0\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 200/);
    assert.match(reply, /B host=b\.svc path=\/old$/);
  });
});

describe('upstream status anomalies', () => {
  const lines: Record<string, string> = {
    zero: 'HTTP/1.1 000 Zero', one: 'HTTP/1.1 0 Zero', over: 'HTTP/1.1 600 Big', under: 'HTTP/1.1 99 Small',
    letters: 'HTTP/1.1 abc', garbage: 'hello there', interim: 'HTTP/1.1 101 Switching Protocols',
  };
  const h2Statuses: Record<string, [string, string][]> = { h2zero: [[':status', '0']], h2letters: [[':status', 'abc']], h2over: [[':status', '600']], h2missing: [['content-type', 'text/plain']] };
  const servers: NetServer[] = [];
  const raws: RawUpstream[] = [];
  let sidecar: Sidecar;

  before(async () => {
    const routes: { prefix: string; cluster: string }[] = [];
    const clusters: object[] = [];
    for (const [name, line] of Object.entries(lines)) {
      const server = createNetServer((socket) => {
        socket.on('error', () => undefined);
        socket.once('data', () => socket.end(`${line}\r\ncontent-length: 2\r\n\r\nok`));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers.push(server);
      routes.push({ prefix: `/${name}/`, cluster: name });
      clusters.push(cluster(name, `127.0.0.1:${(server.address() as { port: number }).port}`, false));
    }
    for (const [name, headers] of Object.entries(h2Statuses)) {
      const raw = await startRawUpstream((s) => s.headers(headers, true));
      raws.push(raw);
      routes.push({ prefix: `/${name}/`, cluster: name });
      clusters.push(cluster(name, raw.address, true));
    }
    sidecar = await startSidecar({ config: bootstrap([{ domains: ['*'], routes }], clusters), listen: '127.0.0.1:0', admin: false });
  });

  after(async () => {
    await sidecar.close();
    for (const server of servers) server.close();
    await Promise.all(raws.map((r) => r.close()));
  });

  test('every anomaly is a 502 local reply with XMESH_UPSTREAM_PROTOCOL (undici client)', async () => {
    for (const name of [...Object.keys(lines), ...Object.keys(h2Statuses)]) {
      const res = await within(request(`http://${sidecar.target}/${name}/x`), `the reply for ${name}`);
      const body = await res.body.text();
      assert.equal(res.statusCode, 502, `${name}: ${body}`);
      assert.equal(res.headers['x-xmesh-error-code'], 'XMESH_UPSTREAM_PROTOCOL', name);
    }
  });

  test('a gRPC call to an upstream with an invalid :status ends UNAVAILABLE, typed', async () => {
    for (const name of Object.keys(h2Statuses)) {
      const session = connectH2(`http://${sidecar.target}`);
      session.on('error', () => undefined);
      const stream = session.request({ ':method': 'POST', ':path': `/${name}/svc.S/M`, 'content-type': 'application/grpc', te: 'trailers' });
      stream.on('error', () => undefined);
      const headers = await within(new Promise<Record<string, unknown>>((resolve) => stream.once('response', resolve)), `the reply for ${name}`);
      stream.resume();
      stream.end();
      assert.equal(headers['grpc-status'], String(grpc.status.UNAVAILABLE), name);
      session.close();
    }
  });
});
