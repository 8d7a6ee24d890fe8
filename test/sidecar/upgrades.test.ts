// WebSocket upgrades through `upgrade_configs` (HCM and route level), with a stock WebSocket client and server
// (`ws`): an echo through the sidecar and through the embedded mesh (undici's WebSocket on mesh.dispatcher);
// a request carrying Upgrade where no upgrade is enabled gets 403 as Envoy answers it (no body, the connection
// closed) and never reaches the upstream; `Upgrade: h2c` is served as plain HTTP/1.1, as Envoy serves it; an
// idle tunnel ends at the route's idle_timeout.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { WebSocket as UndiciWebSocket } from 'undici';
import { createMesh, type Mesh } from '@xmesh/client';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { lbEndpoints } from '../support/mesh-config.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

function config(upstream: string, hcmUpgrades: object[] | undefined): object {
  return {
    static_resources: {
      listeners: [{
        name: 'mesh',
        address: { socket_address: { address: '127.0.0.1', port_value: 15001 } },
        filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
          '@type': HCM,
          stat_prefix: 'mesh',
          ...(hcmUpgrades === undefined ? {} : { upgrade_configs: hcmUpgrades }),
          route_config: { name: 'mesh', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [
            { match: { prefix: '/off' }, route: { cluster: 'ws', upgrade_configs: [{ upgrade_type: 'WebSocket', enabled: false }] } },
            { match: { prefix: '/on' }, route: { cluster: 'ws', upgrade_configs: [{ upgrade_type: 'websocket' }] } },
            { match: { prefix: '/idle' }, route: { cluster: 'ws', idle_timeout: '0.3s', upgrade_configs: [{ upgrade_type: 'websocket' }] } },
            { match: { prefix: '/' }, route: { cluster: 'ws' } },
          ] }] },
          http_filters: [ROUTER],
        } }] }],
      }],
      clusters: [{ name: 'ws', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'ws', endpoints: [{ lb_endpoints: lbEndpoints([upstream]) }] } }],
    },
  };
}

/** Opens a `ws` client; resolves once open, or with the status it was refused with. */
function open(url: string, host: string): Promise<{ socket: WebSocket } | { refused: number }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers: { host } });
    socket.once('open', () => resolve({ socket }));
    socket.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve({ refused: res.statusCode ?? 0 });
    });
    socket.once('error', reject);
  });
}

function echo(socket: WebSocket | UndiciWebSocket, message: string): Promise<string> {
  return new Promise((resolve) => {
    if (socket instanceof WebSocket) socket.once('message', (data) => resolve(String(data)));
    else socket.addEventListener('message', (event) => resolve(String(event.data)), { once: true });
    socket.send(message);
  });
}

describe('protocol upgrades', () => {
  let http: Server;
  let wss: WebSocketServer;
  let upstream: string;
  /** WebSocket connections the upstream accepted, and plain requests it answered. */
  let accepted = 0;
  let plain: string[] = [];

  before(async () => {
    http = createServer((req, res) => {
      plain.push(`${req.method} ${req.url} upgrade=${req.headers.upgrade ?? '-'}`);
      res.end('plain');
    });
    wss = new WebSocketServer({ server: http });
    wss.on('connection', (socket) => {
      accepted++;
      socket.on('message', (data, binary) => socket.send(binary ? data : `echo:${String(data)}`));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    upstream = `127.0.0.1:${(http.address() as { port: number }).port}`;
  });
  after(async () => {
    wss.close();
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });

  describe('upgrade_configs: websocket on the listener', () => {
    let sidecar: Sidecar;
    let mesh: Mesh;
    before(async () => {
      sidecar = await startSidecar({ config: config(upstream, [{ upgrade_type: 'websocket' }]), listen: '127.0.0.1:0', admin: false });
      mesh = await createMesh({ config: config(upstream, [{ upgrade_type: 'websocket' }]) });
    });
    after(async () => {
      await sidecar.close();
      await mesh.close();
    });

    test('sidecar: a ws client echoes text and binary messages through the sidecar, then closes cleanly', async () => {
      const before = accepted;
      const opened = await open(`ws://${sidecar.target}/chat`, 'ws.svc');
      assert.ok('socket' in opened, `refused: ${JSON.stringify(opened)}`);
      const { socket } = opened;
      assert.equal(await echo(socket, 'hello'), 'echo:hello');
      assert.equal(await echo(socket, 'x'.repeat(200_000)), `echo:${'x'.repeat(200_000)}`);
      const binary = await new Promise<Buffer>((resolve) => {
        socket.once('message', (data) => resolve(data as Buffer));
        socket.send(Buffer.from([0, 1, 2, 255]));
      });
      assert.deepEqual([...binary], [0, 1, 2, 255]);
      const code = await new Promise<number>((resolve) => {
        socket.once('close', (c) => resolve(c));
        socket.close(1000, 'bye');
      });
      assert.equal(code, 1000);
      assert.equal(accepted, before + 1);
    });

    test('embedded: undici\'s WebSocket on mesh.dispatcher echoes through the mesh', async () => {
      const socket = new UndiciWebSocket('ws://ws.svc/chat', { dispatcher: mesh.dispatcher });
      await new Promise<void>((resolve, reject) => {
        socket.addEventListener('open', () => resolve(), { once: true });
        socket.addEventListener('error', () => reject(new Error('the WebSocket failed')), { once: true });
      });
      assert.equal(await echo(socket, 'through the mesh'), 'echo:through the mesh');
      socket.close();
    });

    test('a route turning the upgrade off answers 403 in both modes; non-upgrade requests still pass', async () => {
      assert.deepEqual(await open(`ws://${sidecar.target}/off`, 'ws.svc'), { refused: 403 });
      const embedded = new UndiciWebSocket('ws://ws.svc/off', { dispatcher: mesh.dispatcher });
      const refused = await new Promise<boolean>((resolve) => {
        embedded.addEventListener('open', () => resolve(false), { once: true });
        embedded.addEventListener('error', () => resolve(true), { once: true });
      });
      assert.ok(refused);
      const res = await mesh.fetch('http://ws.svc/off');
      assert.deepEqual([res.status, await res.text()], [200, 'plain']);
    });
  });

  describe('no upgrade_configs on the listener', () => {
    let sidecar: Sidecar;
    before(async () => {
      sidecar = await startSidecar({ config: config(upstream, undefined), listen: '127.0.0.1:0', admin: false });
    });
    after(() => sidecar.close());

    test('a request carrying Upgrade gets 403 with no body, the connection closed, the upstream never asked', async () => {
      const before = { accepted, plain: plain.length };
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect(sidecar.address.port, '127.0.0.1');
        let data = '';
        socket.setEncoding('latin1');
        socket.on('data', (chunk: string) => (data += chunk));
        socket.on('close', () => resolve(data));
        socket.on('error', reject);
        socket.write('GET /chat HTTP/1.1\r\nhost: ws.svc\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\nGET /smuggled HTTP/1.1\r\nhost: ws.svc\r\n\r\n');
      });
      assert.match(raw, /^HTTP\/1\.1 403 Forbidden\r\n/);
      assert.match(raw, /\r\ncontent-length: 0\r\n/);
      assert.match(raw, /\r\nconnection: close\r\n/);
      assert.equal(raw.split('HTTP/1.1 ').length - 1, 1, 'one answer: the bytes after the request are not read as another');
      assert.deepEqual({ accepted, plain: plain.length }, before);
      assert.equal(sidecar.mesh.observability.store.value('http.mesh.downstream_rq_ws_on_non_ws_route'), 1);
      assert.deepEqual(await open(`ws://${sidecar.target}/chat`, 'ws.svc'), { refused: 403 });
    });

    test('a route turning the upgrade on allows it without the listener\'s (Envoy\'s rule)', async () => {
      const opened = await open(`ws://${sidecar.target}/on`, 'ws.svc');
      assert.ok('socket' in opened);
      assert.equal(await echo(opened.socket, 'route says yes'), 'echo:route says yes');
      opened.socket.close();
    });

    test('an idle tunnel ends at the route\'s idle_timeout', async () => {
      const opened = await open(`ws://${sidecar.target}/idle`, 'ws.svc');
      assert.ok('socket' in opened);
      const started = Date.now();
      await new Promise<void>((resolve) => opened.socket.once('close', () => resolve()));
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 250 && elapsed < 10_000, `closed after ${elapsed} ms (idle_timeout 300 ms)`);
    });

    test('`Upgrade: h2c` (curl --http2 on http://) is served as a plain HTTP/1.1 request, the upgrade dropped', async () => {
      plain = [];
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect(sidecar.address.port, '127.0.0.1');
        let data = '';
        socket.setEncoding('latin1');
        socket.on('data', (chunk: string) => {
          data += chunk;
          if (data.includes('plain')) socket.end();
        });
        socket.on('close', () => resolve(data));
        socket.on('error', reject);
        socket.write('GET /h2c HTTP/1.1\r\nhost: ws.svc\r\nconnection: Upgrade, HTTP2-Settings\r\nupgrade: h2c\r\nhttp2-settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n');
      });
      assert.match(raw, /^HTTP\/1\.1 200 OK\r\n/);
      assert.deepEqual(plain, ['GET /h2c upgrade=-']);
    });
  });
});
