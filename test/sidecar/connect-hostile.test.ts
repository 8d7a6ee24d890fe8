// CONNECT through the sidecar against hostile clients (raw sockets, node http2): body framing on a CONNECT
// request (Envoy's HTTP/1 codec answers a Content-Length other than 0 with 400 and any Transfer-Encoding with
// 501: source/common/http/http1/codec_impl.cc), HTTP/1.0 (426 unless accept_http_10: checkProtocolVersion) and
// targets whose port is not one: none may reach the upstream, nor crash or hang the sidecar. And a TLS cluster
// (UpstreamTlsContext) whose stock node TLS server ends its side without a byte: that is a FIN passed on, as over
// plain TCP, not a reset (Envoy enables half-close on the upstream of a terminated CONNECT).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as http2Connect } from 'node:http2';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { bootstrap } from '../support/mesh-config.js';
import { standardPki } from '../support/pki.js';
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

  test('an HTTP/1.0 CONNECT is a 426 (accept_http_10 is off), as Envoy\'s codec answers any HTTP/1.0 request', async () => {
    const before = accepted;
    const answer = await within(exchange(sidecar.target, 'CONNECT example.test:443 HTTP/1.0\r\nHost: example.test:443\r\n\r\n', /^HTTP\/1\.1 \d{3}/), 10_000, 'the answer');
    assert.match(answer, /^HTTP\/1\.1 426 /);
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

describe('CONNECT to a TLS cluster whose server half-closes (sidecar)', () => {
  const pki = standardPki();
  let tlsServer: TlsServer;
  let sidecar: Sidecar;
  /** What the server read from each connection before it ended its side. */
  const received: string[] = [];

  before(async () => {
    // Reads what the client sends; on "done" it ends its side without ever writing a byte (a sink), and keeps reading.
    tlsServer = createTlsServer({ cert: pki.server.cert, key: pki.server.key, allowHalfOpen: true }, (socket) => {
      let text = '';
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        if (text.endsWith('done')) socket.end();
      });
      socket.on('end', () => received.push(text));
    });
    tlsServer.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(tlsServer.address() as { port: number }).port}`;
    const config = bootstrap({
      hcm: { stat_prefix: 'ingress_http', upgrade_configs: [{ upgrade_type: 'CONNECT' }] },
      routes: [{ match: { connect_matcher: {} }, route: { cluster: 'sink', upgrade_configs: TERMINATE } }],
      clusters: { sink: [address] },
    }) as { static_resources: { clusters: Record<string, unknown>[] } };
    config.static_resources.clusters[0]!.transport_socket = {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        common_tls_context: { validation_context: { trusted_ca: { filename: pki.ca.certPath } } },
      },
    };
    sidecar = await startSidecar({ config, listen: '127.0.0.1:0', admin: false });
  });
  after(async () => {
    await sidecar.close();
    await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
    pki.dispose();
  });

  test('HTTP/2: a server that ends its side without a byte ends the stream (END_STREAM, no reset), and the client can still send', async () => {
    const session = http2Connect(`http://${sidecar.target}`);
    session.on('error', () => {});
    try {
      const stream = session.request({ ':method': 'CONNECT', ':authority': 'sink.test:443' }, { endStream: false });
      const status = await within(new Promise<unknown>((resolve, reject) => {
        stream.once('response', (headers) => resolve(headers[':status']));
        stream.once('error', reject);
      }), 10_000, 'the CONNECT answer');
      assert.equal(status, 200);
      const ended = within(new Promise<string>((resolve) => {
        stream.once('end', () => resolve('end'));
        stream.once('close', () => resolve(`close ${stream.rstCode}`));
        stream.resume();
      }), 10_000, 'the server\'s end');
      stream.write('done');
      assert.equal(await ended, 'end', 'the upstream\'s FIN is END_STREAM, not a reset');
      stream.end('after');
      await within(new Promise<void>((resolve) => stream.once('close', () => resolve())), 10_000, 'the stream closed');
      assert.equal(stream.rstCode, 0, 'closed without RST_STREAM');
      await within((async () => { while (received.length === 0) await new Promise((r) => setTimeout(r, 20)); })(), 10_000, 'the server read to its end');
      assert.equal(received[0], 'doneafter', 'what the client sent after the server\'s FIN reached it');
    } finally {
      session.destroy();
    }
  });
});
