// CONNECT through the sidecar against hostile clients (raw sockets, node http2): body framing on a CONNECT
// request (Envoy's HTTP/1 codec answers a Content-Length other than 0 with 400 and any Transfer-Encoding with
// 501: source/common/http/http1/codec_impl.cc) and targets whose port is not one (Url::initializeForConnect).
// None may reach the upstream; none may crash or hang the sidecar.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { bootstrap } from '../support/mesh-config.js';
import { within } from '../support/within.js';

const TERMINATE = [{ upgrade_type: 'CONNECT', connect_config: {} }];

/** What a raw client gets for `request`: everything the sidecar sent until it closed the connection, or until `until` matched. */
function exchange(target: string, request: string, until: RegExp): Promise<string> {
  const [host, port] = target.split(':');
  return new Promise((resolve) => {
    const socket: Socket = netConnect({ host, port: Number(port) });
    let received = '';
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (until.test(received)) {
        socket.destroy();
        resolve(received);
      }
    });
    socket.once('close', () => resolve(received));
    socket.write(request);
  });
}

describe('CONNECT against hostile clients (sidecar)', () => {
  let echoServer: Server;
  let accepted = 0;
  let sidecar: Sidecar;

  before(async () => {
    echoServer = createServer({ allowHalfOpen: true }, (socket) => {
      accepted++;
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => socket.write(chunk.toString('latin1').toUpperCase(), 'latin1'));
      socket.on('end', () => socket.end());
    });
    await new Promise<void>((resolve) => echoServer.listen(0, '127.0.0.1', resolve));
    const echo = `127.0.0.1:${(echoServer.address() as { port: number }).port}`;
    const config = bootstrap({
      hcm: { stat_prefix: 'ingress_http', upgrade_configs: [{ upgrade_type: 'CONNECT' }] },
      routes: [{ match: { connect_matcher: {} }, route: { cluster: 'tcp', upgrade_configs: TERMINATE } }],
      clusters: { tcp: [echo] },
    });
    sidecar = await startSidecar({ config, listen: '127.0.0.1:0', admin: false });
  });
  after(async () => {
    await sidecar.close();
    await new Promise<void>((resolve) => echoServer.close(() => resolve()));
  });

  test('a CONNECT with a Content-Length other than 0 is a 400; with Content-Length: 0 it is tunnelled', async () => {
    const before = accepted;
    const refused = await within(exchange(sidecar.target, 'CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\nContent-Length: 5\r\n\r\nhello', /^HTTP\/1\.1 \d{3}/), 10_000, 'the answer');
    assert.match(refused, /^HTTP\/1\.1 400 /);
    assert.equal(accepted, before, 'never reached the upstream');
    const tunnelled = await within(exchange(sidecar.target, 'CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\nContent-Length: 0\r\n\r\nhello', /HELLO$/), 10_000, 'the echo');
    assert.match(tunnelled, /^HTTP\/1\.1 200 [^]*\r\n\r\nHELLO$/);
  });

  test('a CONNECT with a Transfer-Encoding is a 501 and never reaches the upstream', async () => {
    const before = accepted;
    const answer = await within(exchange(sidecar.target, 'CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', /^HTTP\/1\.1 \d{3}/), 10_000, 'the answer');
    assert.match(answer, /^HTTP\/1\.1 501 /);
    assert.equal(accepted, before);
  });

  test('a CONNECT target whose port is over 65535 is a 400', async () => {
    const before = accepted;
    for (const target of ['example.test:99999', 'example.test:65536', '[::1]:70000']) {
      const answer = await within(exchange(sidecar.target, `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`, /^HTTP\/1\.1 \d{3}/), 10_000, `the answer to ${target}`);
      assert.match(answer, /^HTTP\/1\.1 400 /, target);
    }
    assert.equal(accepted, before);
  });
});
