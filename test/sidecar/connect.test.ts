// CONNECT through the sidecar, terminated by its route (`upgrade_configs: CONNECT` with `connect_config`), as
// envoy/configs/terminate_http1_connect.yaml configures Envoy: stock node clients (http's CONNECT, http2's
// CONNECT stream) and a raw socket reach a stock node `net` echo server through the tunnel, in both directions,
// half-closes passed on; a refused upstream is a 503; the route's idle_timeout ends a quiet tunnel; a CONNECT
// the listener or route does not enable is a 403 that never reaches the upstream; a route that would forward
// the CONNECT upstream (no connect_config) is a 403 too (not implemented).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect as http2Connect, createServer as createHttp2Server, type ClientHttp2Session } from 'node:http2';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { closedPort } from '../support/echo-server.js';
import { bootstrap } from '../support/mesh-config.js';
import { within } from '../support/within.js';

const TERMINATE = [{ upgrade_type: 'CONNECT', connect_config: {} }];

/**
 * `hcmConnect`: the listener enables CONNECT (as the Envoy config does). Routes: CONNECT with `x-target: down` to a
 * refused port; with `x-target: mixed` to a cluster of a refused port and the echo server, retrying connect
 * failures; with `x-idle` to the echo server with a 300 ms idle_timeout; with `x-route-enabled` (the route itself
 * enabling CONNECT); every other CONNECT to the echo server — unless `catchAll`, where they fall through to a
 * prefix "" route that does not terminate CONNECT.
 */
function config(echo: string, down: string, hcmConnect: boolean, catchAll: boolean): object {
  const connect = (headers: object[], route: object) => ({ match: { connect_matcher: {}, headers }, route: { upgrade_configs: TERMINATE, ...route } });
  return bootstrap({
    hcm: { stat_prefix: 'ingress_http', ...(hcmConnect ? { upgrade_configs: [{ upgrade_type: 'CONNECT' }] } : {}) },
    routes: [
      connect([{ name: 'x-target', string_match: { exact: 'down' } }], { cluster: 'down' }),
      connect([{ name: 'x-target', string_match: { exact: 'mixed' } }], { cluster: 'mixed', retry_policy: { retry_on: 'connect-failure', num_retries: 2 } }),
      connect([{ name: 'x-idle', present_match: true }], { cluster: 'tcp', idle_timeout: '0.3s' }),
      connect([{ name: 'x-route-enabled', present_match: true }], { cluster: 'tcp' }),
      catchAll ? { match: { prefix: '' }, route: { cluster: 'tcp' } } : connect([], { cluster: 'tcp' }),
    ],
    clusters: { tcp: [echo], down: [down], mixed: [down, echo] },
  });
}

/** An HTTP/1.1 CONNECT from node's client: the status, and the tunnel's socket when it is 2xx. */
function h1Connect(target: string, headers: Record<string, string> = {}): Promise<{ status: number; socket: Socket }> {
  const [host, port] = target.split(':');
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host, port: Number(port), method: 'CONNECT', path: 'example.test:443', headers: { host: 'example.test:443', ...headers } });
    req.once('connect', (res: IncomingMessage, socket: Socket) => resolve({ status: res.statusCode ?? 0, socket }));
    req.once('response', (res: IncomingMessage) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, socket: res.socket as Socket });
    });
    req.once('error', reject);
    req.end();
  });
}

/** Reads from `socket` until `expected` bytes arrived. */
function readBytes(socket: NodeJS.ReadableStream, expected: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= expected) {
        socket.off('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

describe('CONNECT terminated by the route (sidecar)', () => {
  let echoServer: Server;
  let echo: string;
  let down: string;
  /** Connections the echo server accepted. */
  let accepted = 0;
  let sidecar: Sidecar;
  const stat = (name: string) => sidecar.mesh.observability.store.value(name);

  before(async () => {
    // Upper-cases what it receives; on the client's FIN it answers "bye" and ends its side.
    echoServer = createServer({ allowHalfOpen: true }, (socket) => {
      accepted++;
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => socket.write(chunk.toString('latin1').toUpperCase(), 'latin1'));
      socket.on('end', () => socket.end('bye'));
    });
    await new Promise<void>((resolve) => echoServer.listen(0, '127.0.0.1', resolve));
    echo = `127.0.0.1:${(echoServer.address() as { port: number }).port}`;
    down = `127.0.0.1:${await closedPort()}`;
    sidecar = await startSidecar({ config: config(echo, down, true, false), listen: '127.0.0.1:0', admin: false });
  });
  after(async () => {
    await sidecar.close();
    await new Promise<void>((resolve) => echoServer.close(() => resolve()));
  });

  test('HTTP/1.1 (node http client): 200, then bytes both ways; the client\'s FIN reaches the upstream and the upstream\'s comes back', async () => {
    const before = stat('cluster.tcp.upstream_rq_total');
    const { status, socket } = await within(h1Connect(sidecar.target), 10_000, 'the CONNECT answer');
    assert.equal(status, 200);
    socket.write('hello tunnel');
    assert.equal((await within(readBytes(socket, 12), 10_000, 'the echo')).toString(), 'HELLO TUNNEL');
    const rest = within(new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.once('end', () => resolve(text));
    }), 10_000, 'the upstream\'s FIN');
    socket.end();
    assert.equal(await rest, 'bye');
    socket.destroy();
    assert.equal(stat('cluster.tcp.upstream_rq_total') - before, 1, 'one request: the CONNECT, not what flowed in its tunnel');
  });

  test('a raw client sending its first bytes with the CONNECT request: they are relayed once the tunnel is up', async () => {
    const [host, port] = sidecar.target.split(':');
    const socket = netConnect({ host, port: Number(port) });
    socket.on('error', () => {});
    try {
      socket.write('CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\nearly bytes');
      const received = (await within(readBytes(socket, 'HTTP/1.1 200'.length + 'EARLY BYTES'.length), 10_000, 'the answer and the echo')).toString('latin1');
      assert.match(received, /^HTTP\/1\.1 200 /);
      assert.ok(received.endsWith('\r\n\r\nEARLY BYTES'), JSON.stringify(received));
      assert.doesNotMatch(received.split('\r\n\r\n')[0]!, /content-length|transfer-encoding/i, 'a 2xx to CONNECT has no body framing');
    } finally {
      socket.destroy();
    }
  });

  test('a CONNECT whose target is not host:port is a 400, and never reaches the upstream', async () => {
    const before = accepted;
    const [host, port] = sidecar.target.split(':');
    for (const target of ['/path', 'example.test', 'user@example.test:443', 'example.test:443/x']) {
      const socket = netConnect({ host, port: Number(port) });
      socket.on('error', () => {});
      try {
        socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: example.test\r\n\r\n`);
        const received = (await within(readBytes(socket, 'HTTP/1.1 400'.length), 10_000, `the answer to CONNECT ${target}`)).toString('latin1');
        assert.match(received, /^HTTP\/1\.1 400 /, target);
      } finally {
        socket.destroy();
      }
    }
    assert.equal(accepted, before);
  });

  test('HTTP/2 (node http2 client): a CONNECT stream carries 4 MiB each way with backpressure; END_STREAM is the FIN', async () => {
    const session: ClientHttp2Session = http2Connect(`http://${sidecar.target}`);
    session.on('error', () => {});
    try {
      const stream = session.request({ ':method': 'CONNECT', ':authority': 'example.test:443' }, { endStream: false });
      const headers = await within(new Promise<Record<string, unknown>>((resolve, reject) => {
        stream.once('response', resolve);
        stream.once('error', reject);
      }), 10_000, 'the CONNECT response');
      assert.equal(headers[':status'], 200);
      const payload = Buffer.alloc(4 * 1024 * 1024, 'a');
      const received = within(new Promise<{ length: number; tail: string }>((resolve, reject) => {
        let length = 0;
        let last = Buffer.alloc(0);
        stream.on('data', (chunk: Buffer) => {
          length += chunk.length;
          last = Buffer.concat([last, chunk]).subarray(-8);
        });
        stream.once('end', () => resolve({ length, tail: last.toString() }));
        stream.once('error', reject);
      }), 30_000, 'the echo and the upstream\'s end');
      stream.end(payload);
      const { length, tail } = await received;
      assert.equal(length, payload.length + 'bye'.length, 'every byte echoed, then the upstream\'s answer to the FIN');
      assert.ok(tail.endsWith('AAAAAbye'), tail);
    } finally {
      session.destroy();
    }
  });

  test('an upstream refusing the connection: 503 over HTTP/1.1 and HTTP/2', async () => {
    const h1 = await within(h1Connect(sidecar.target, { 'x-target': 'down' }), 10_000, 'the HTTP/1.1 answer');
    h1.socket.destroy();
    assert.equal(h1.status, 503);
    const session = http2Connect(`http://${sidecar.target}`);
    session.on('error', () => {});
    try {
      const stream = session.request({ ':method': 'CONNECT', ':authority': 'example.test:443', 'x-target': 'down' }, { endStream: false });
      stream.on('error', () => {});
      const headers = await within(new Promise<Record<string, unknown>>((resolve) => stream.once('response', resolve)), 10_000, 'the HTTP/2 answer');
      assert.equal(headers[':status'], 503);
    } finally {
      session.destroy();
    }
  });

  test('a failed connection is retried on another endpoint as the route\'s retry policy (connect-failure) says', async () => {
    const retries = stat('cluster.mixed.upstream_rq_retry');
    // Round robin over a refused endpoint and the echo server: some of these first try the refused one.
    for (let i = 0; i < 4; i++) {
      const { status, socket } = await within(h1Connect(sidecar.target, { 'x-target': 'mixed' }), 10_000, 'the CONNECT answer');
      try {
        assert.equal(status, 200, `CONNECT ${i}`);
        socket.write(`try ${i}`);
        assert.equal((await within(readBytes(socket, 5), 10_000, 'the echo')).toString(), `TRY ${i}`);
      } finally {
        socket.destroy();
      }
    }
    assert.ok(stat('cluster.mixed.upstream_rq_retry') - retries >= 1, 'at least one CONNECT was retried');
  });

  test('the route\'s idle_timeout closes a quiet tunnel', async () => {
    const { status, socket } = await within(h1Connect(sidecar.target, { 'x-idle': '1' }), 10_000, 'the CONNECT answer');
    assert.equal(status, 200);
    const started = Date.now();
    await within(new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.resume();
    }), 10_000, 'the tunnel closed by its idle timeout');
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 250, `closed after ${elapsed} ms (idle_timeout 300 ms)`);
  });

  describe('where the listener does not enable CONNECT', () => {
    let plain: Sidecar;
    let forwarding: Sidecar;
    before(async () => {
      plain = await startSidecar({ config: config(echo, down, false, true), listen: '127.0.0.1:0', admin: false });
      forwarding = await startSidecar({ config: config(echo, down, true, true), listen: '127.0.0.1:0', admin: false });
    });
    after(async () => {
      await plain.close();
      await forwarding.close();
    });

    test('a CONNECT its route does not enable is a 403 (Envoy\'s upgrade refusal) that never reaches the upstream', async () => {
      const before = accepted;
      const refused = plain.mesh.observability.store.value('http.ingress_http.downstream_rq_ws_on_non_ws_route');
      const { status, socket } = await within(h1Connect(plain.target), 10_000, 'the answer');
      socket.destroy();
      assert.equal(status, 403);
      assert.equal(plain.mesh.observability.store.value('http.ingress_http.downstream_rq_ws_on_non_ws_route') - refused, 1);
      assert.equal(accepted, before);
    });

    test('a route\'s own upgrade_configs enable CONNECT where the listener does not', async () => {
      const { status, socket } = await within(h1Connect(plain.target, { 'x-route-enabled': '1' }), 10_000, 'the answer');
      try {
        assert.equal(status, 200);
        socket.write('via route');
        assert.equal((await within(readBytes(socket, 9), 10_000, 'the echo')).toString(), 'VIA ROUTE');
      } finally {
        socket.destroy();
      }
    });

    test('a CONNECT reaching a route without connect_config (which Envoy forwards upstream) is a 403, never sent on', async () => {
      const before = accepted;
      const { status, socket } = await within(h1Connect(forwarding.target), 10_000, 'the answer');
      socket.destroy();
      assert.equal(status, 403);
      assert.equal(accepted, before);
    });
  });
});

// tcp_proxy's tunneling_config, the other side of CONNECT (as envoy/configs/encapsulate_in_http1_connect.yaml feeds
// terminate_http1_connect.yaml): each TCP connection carried in a CONNECT request to the upstream, over HTTP/1.1 to a
// stock node http server's 'connect' handler and to the sidecar terminating CONNECT above, and over HTTP/2 to a
// stock node http2 server.
describe('tcp_proxy tunnelling over CONNECT (sidecar)', () => {
  const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
  let echoServer: Server;
  let echo: string;
  /** CONNECT requests the stock proxies saw: `target host x-tunnel-id`. */
  const asked: string[] = [];
  let h1Proxy: ReturnType<typeof createHttpServer>;
  let h2Proxy: ReturnType<typeof createHttp2Server>;

  /** A sidecar whose listener relays every connection through a CONNECT to `upstream`. */
  function tunnelConfig(upstream: string, http2: boolean, hostname = 'host.com:443', tunneling: object = {}): object {
    const [address, port] = upstream.split(':');
    return {
      static_resources: {
        listeners: [{
          name: 'listener_0',
          address: { socket_address: { address: '127.0.0.1', port_value: 10000 } },
          filter_chains: [{ filters: [{ name: 'tcp', typed_config: {
            '@type': TCP_PROXY, stat_prefix: 'tcp_stats', cluster: 'cluster_0',
            tunneling_config: { hostname, headers_to_add: [{ header: { key: 'x-tunnel-id', value: 'tunnel-1' } }], propagate_response_headers: true, ...tunneling },
          } }] }],
        }],
        clusters: [{
          name: 'cluster_0', type: 'STATIC', connect_timeout: '5s',
          ...(http2 ? { http2_protocol_options: {} } : { http_protocol_options: {} }),
          load_assignment: { cluster_name: 'cluster_0', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address, port_value: Number(port) } } } }] }] },
        }],
      },
    };
  }

  /** A raw client of `sidecar`: writes `text`, resolves with what came back once `expected` bytes did. */
  async function through(sidecar: Sidecar, text: string, expected: number): Promise<string> {
    const [host, port] = sidecar.target.split(':');
    const socket = netConnect({ host, port: Number(port) });
    socket.on('error', () => {});
    try {
      socket.write(text);
      return (await within(readBytes(socket, expected), 10_000, 'the echo through the tunnel')).toString('latin1');
    } finally {
      socket.destroy();
    }
  }

  before(async () => {
    echoServer = createServer((socket) => {
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => socket.write(chunk.toString('latin1').toUpperCase(), 'latin1'));
    });
    await new Promise<void>((resolve) => echoServer.listen(0, '127.0.0.1', resolve));
    echo = `127.0.0.1:${(echoServer.address() as { port: number }).port}`;
    const [echoHost, echoPort] = echo.split(':');
    // Stock node HTTP/1.1 proxy: 200 for host.com:443 (then the echo server's bytes), 407 for anything else.
    h1Proxy = createHttpServer();
    h1Proxy.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      asked.push(`${req.url} ${req.headers.host} ${req.headers['x-tunnel-id']}`);
      socket.on('error', () => {});
      if (req.url !== 'host.com:443') {
        socket.end('HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      const upstream = netConnect({ host: echoHost, port: Number(echoPort) }, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) upstream.write(head);
        socket.pipe(upstream).pipe(socket);
      });
      upstream.on('error', () => socket.destroy());
    });
    // POST tunnels (use_post), as a proxy allowing POST carries them: the request body to the echo server, its
    // answer as the response body; 403 for a path other than /tunnel.
    h1Proxy.on('request', (req: IncomingMessage, res: ServerResponse) => {
      asked.push(`${req.method} ${req.url} ${req.headers.host} ${req.headers['x-tunnel-id']} ${req.headers['transfer-encoding']}`);
      if (req.url !== '/tunnel') {
        res.writeHead(403).end();
        return;
      }
      const upstream = netConnect({ host: echoHost, port: Number(echoPort), allowHalfOpen: true }, () => {
        res.writeHead(200);
        res.flushHeaders();
        req.pipe(upstream).pipe(res);
      });
      upstream.on('error', () => res.destroy());
    });
    await new Promise<void>((resolve) => h1Proxy.listen(0, '127.0.0.1', resolve));
    // Stock node HTTP/2 proxy: a CONNECT stream answered 200, its DATA to the echo server and back.
    h2Proxy = createHttp2Server();
    h2Proxy.on('stream', (stream, headers) => {
      stream.on('error', () => {});
      asked.push(`h2 ${headers[':method']} ${headers[':authority']} ${headers['x-tunnel-id']}`);
      if (headers[':method'] === 'POST') asked.push(`h2 POST ${headers[':scheme']} ${headers[':path']}`);
      const upstream = netConnect({ host: echoHost, port: Number(echoPort) }, () => {
        stream.respond({ ':status': 200 });
        stream.pipe(upstream).pipe(stream);
      });
      upstream.on('error', () => stream.destroy());
    });
    await new Promise<void>((resolve) => h2Proxy.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await new Promise<void>((resolve) => echoServer.close(() => resolve()));
    h1Proxy.closeAllConnections();
    await new Promise<void>((resolve) => h1Proxy.close(() => resolve()));
    await new Promise<void>((resolve) => h2Proxy.close(() => resolve()));
  });

  test('HTTP/1.1: CONNECT host.com:443 with Host and headers_to_add to a stock node proxy; bytes both ways; a refused tunnel closes the client', async () => {
    const port = (h1Proxy.address() as { port: number }).port;
    const sidecar = await startSidecar({ config: tunnelConfig(`127.0.0.1:${port}`, false), listen: '127.0.0.1:0', admin: false });
    const refused = await startSidecar({ config: tunnelConfig(`127.0.0.1:${port}`, false, 'other.test:25'), listen: '127.0.0.1:0', admin: false });
    try {
      assert.equal(await through(sidecar, 'hello tunnel', 12), 'HELLO TUNNEL');
      assert.ok(asked.includes('host.com:443 host.com:443 tunnel-1'), asked.join('\n'));
      const [host, p] = refused.target.split(':');
      const socket = netConnect({ host, port: Number(p) });
      socket.on('error', () => {});
      socket.write('x');
      await within(new Promise<void>((resolve) => socket.once('close', () => resolve())), 10_000, 'the client closed after the 407');
      assert.equal(refused.mesh.observability.store.value('cluster.cluster_0.upstream_cx_connect_fail'), 1);
    } finally {
      await sidecar.close();
      await refused.close();
    }
  });

  test('HTTP/1.1 to the sidecar terminating CONNECT: encapsulate on one side, terminate on the other (Envoy\'s two example configs)', async () => {
    const terminating = await startSidecar({ config: config(echo, `127.0.0.1:${await closedPort()}`, true, false), listen: '127.0.0.1:0', admin: false });
    const encapsulating = await startSidecar({ config: tunnelConfig(terminating.target, false), listen: '127.0.0.1:0', admin: false });
    try {
      assert.equal(await through(encapsulating, 'across two sidecars', 19), 'ACROSS TWO SIDECARS');
      assert.equal(terminating.mesh.observability.store.value('cluster.tcp.upstream_rq_total'), 1, 'one CONNECT reached the terminating sidecar');
    } finally {
      await encapsulating.close();
      await terminating.close();
    }
  });

  test('a hostile proxy: an endless response head (over 64 KiB) or a malformed status line fails the tunnel (CONNECT or POST), the client is closed', async () => {
    for (const [answer, tunneling] of [`HTTP/1.1 200 OK\r\nx-pad: ${'a'.repeat(70 * 1024)}`, 'SSH-2.0-OpenSSH\r\n\r\n'].flatMap((a) => [[a, {}], [a, { use_post: true }]] as const)) {
      const hostile = createServer((socket) => {
        socket.on('error', () => {});
        socket.once('data', () => socket.write(answer));
      });
      await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
      const sidecar = await startSidecar({ config: tunnelConfig(`127.0.0.1:${(hostile.address() as { port: number }).port}`, false, 'host.com:443', tunneling), listen: '127.0.0.1:0', admin: false });
      try {
        const [host, p] = sidecar.target.split(':');
        const socket = netConnect({ host, port: Number(p) });
        socket.on('error', () => {});
        let received = 0;
        socket.on('data', (chunk: Buffer) => (received += chunk.length));
        socket.write('x');
        await within(new Promise<void>((resolve) => socket.once('close', () => resolve())), 10_000, 'the client closed');
        assert.equal(received, 0, 'nothing of the hostile answer reached the client');
        assert.equal(sidecar.mesh.observability.store.value('cluster.cluster_0.upstream_cx_connect_fail'), 1);
      } finally {
        await sidecar.close();
        hostile.close();
      }
    }
  });

  test('HTTP/2 (the cluster speaks it): a CONNECT stream to a stock node http2 server, :authority the hostname', async () => {
    const port = (h2Proxy.address() as { port: number }).port;
    const sidecar = await startSidecar({ config: tunnelConfig(`127.0.0.1:${port}`, true), listen: '127.0.0.1:0', admin: false });
    try {
      assert.equal(await through(sidecar, 'over h2', 7), 'OVER H2');
      assert.ok(asked.includes('h2 CONNECT host.com:443 tunnel-1'), asked.join('\n'));
    } finally {
      await sidecar.close();
    }
  });

  test('use_post over HTTP/1.1: a chunked POST to post_path on a stock node server carries the bytes both ways; the client\'s end ends the body and the answer closes the client; another status fails the tunnel', async () => {
    const port = (h1Proxy.address() as { port: number }).port;
    const sidecar = await startSidecar({ config: tunnelConfig(`127.0.0.1:${port}`, false, 'host.com:443', { use_post: true, post_path: '/tunnel' }), listen: '127.0.0.1:0', admin: false });
    const refused = await startSidecar({ config: tunnelConfig(`127.0.0.1:${port}`, false, 'host.com:443', { use_post: true }), listen: '127.0.0.1:0', admin: false });
    try {
      const [host, p] = sidecar.target.split(':');
      const socket = netConnect({ host, port: Number(p), allowHalfOpen: true });
      socket.on('error', () => {});
      socket.write('posted bytes');
      assert.equal((await within(readBytes(socket, 12), 10_000, 'the echo through the POST tunnel')).toString('latin1'), 'POSTED BYTES');
      assert.ok(asked.includes('POST /tunnel host.com:443 tunnel-1 chunked'), asked.join('\n'));
      // The client's FIN ends the request body; the stock server then ends its response, which closes the client.
      socket.end();
      await within(new Promise<void>((resolve) => socket.once('close', () => resolve())), 10_000, 'the client closed after the tunnel ended');
      const [rhost, rp] = refused.target.split(':');
      const other = netConnect({ host: rhost, port: Number(rp) });
      other.on('error', () => {});
      other.write('x');
      await within(new Promise<void>((resolve) => other.once('close', () => resolve())), 10_000, 'the client closed after the 403');
      assert.ok(asked.includes('POST / host.com:443 tunnel-1 chunked'), 'post_path defaults to /');
      assert.equal(refused.mesh.observability.store.value('cluster.cluster_0.upstream_cx_connect_fail'), 1);
    } finally {
      await sidecar.close();
      await refused.close();
    }
  });

  test('use_post over HTTP/2: a POST stream with :scheme and :path to a stock node http2 server', async () => {
    const port = (h2Proxy.address() as { port: number }).port;
    const sidecar = await startSidecar({ config: tunnelConfig(`127.0.0.1:${port}`, true, 'host.com:443', { use_post: true, post_path: '/h2-tunnel' }), listen: '127.0.0.1:0', admin: false });
    try {
      assert.equal(await through(sidecar, 'posted over h2', 14), 'POSTED OVER H2');
      assert.ok(asked.includes('h2 POST host.com:443 tunnel-1'), asked.join('\n'));
      assert.ok(asked.includes('h2 POST http /h2-tunnel'), asked.join('\n'));
    } finally {
      await sidecar.close();
    }
  });
});
