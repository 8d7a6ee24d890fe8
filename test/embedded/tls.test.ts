// Upstream mTLS from an UpstreamTlsContext, on every embedded transport, against peers nobody here wrote: a stock
// grpc-js server with ServerCredentials.createSsl(ca, [...], true) (it refuses clients without a certificate), node
// http2.createSecureServer and https servers with requestCert. Certificates are made by openssl at test time.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { createMesh, type Mesh } from '@xmesh/client';
import { hasCode, isMeshError } from '@xmesh/core';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { bootstrap } from '../support/mesh-config.js';
import { unary } from '../support/grpc-call.js';
import { standardPki } from '../support/pki.js';

const { EchoClient: EchoCtor } = loadEcho();
const TARGET = 'echo.default.svc:50051';
const pki = standardPki();
const SERVER_ID = 'spiffe://xmesh.test/ns/default/sa/server';
const CLIENT_SAN = 'URI:spiffe://xmesh.test/ns/default/sa/client';

const TLS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

/** An UpstreamTlsContext presenting `certificate` and trusting the main CA, checking the server's SPIFFE id. */
function upstreamTls(certificate = pki.client, sanExact = SERVER_ID): object {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': TLS_TYPE,
      common_tls_context: {
        tls_certificates: [{ certificate_chain: { filename: certificate.certPath }, private_key: { filename: certificate.keyPath } }],
        validation_context: {
          trusted_ca: { filename: pki.ca.certPath },
          match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: sanExact } }],
        },
      },
    },
  };
}

/** A bootstrap with one cluster `c` of `addresses`, its transport socket and extra cluster fields. */
function config(addresses: readonly string[], socket: object, extra: Record<string, unknown> = {}, routeExtra: Record<string, unknown> = {}): object {
  const b = bootstrap({ routes: [{ prefix: '/', cluster: 'c' }], clusters: { c: addresses } }) as {
    static_resources: { clusters: Record<string, unknown>[]; listeners: { filter_chains: { filters: { typed_config: { route_config: { virtual_hosts: { routes: { route: Record<string, unknown> }[] }[] } } }[] }[] }[] };
  };
  Object.assign(b.static_resources.clusters[0]!, { transport_socket: socket, ...extra });
  Object.assign(b.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.route_config.virtual_hosts[0]!.routes[0]!.route, routeExtra);
  return b;
}

const grpcJs = { metadata: { filter_metadata: { xmesh: { transport: 'grpc-js' } } } };
const lean = { metadata: { filter_metadata: { xmesh: { transport: 'lean' } } } };

function mtlsCredentials(server = pki.server): grpc.ServerCredentials {
  return grpc.ServerCredentials.createSsl(Buffer.from(pki.ca.cert), [{ cert_chain: Buffer.from(server.cert), private_key: Buffer.from(server.key) }], true);
}

after(() => pki.dispose());

describe('mTLS to a stock grpc-js server that requires client certificates', () => {
  let server: EchoServer;
  before(async () => (server = await startEchoServer('tls', mtlsCredentials())));
  after(() => server.close());

  for (const [name, transport] of [['lean', lean], ['grpc-js', grpcJs]] as const) {
    test(`${name} transport: the drop-in client calls it; the server sees our SPIFFE id; one handshake for many calls`, async () => {
      const mesh = await createMesh({ config: config([server.address], upstreamTls(), transport) });
      const echo = mesh.grpcClient(EchoCtor, TARGET) as EchoClient;
      try {
        for (let i = 0; i < 20; i++) assert.equal((await unary(echo, { message: `m${i}` })).message, `m${i}`);
        assert.equal(server.lastPeerSan, CLIENT_SAN);
        assert.equal(mesh.observability.store.value('cluster.c.ssl.handshake'), 1, 'handshakes are per connection, not per call');
      } finally {
        echo.close();
        await mesh.close();
      }
    });
  }

  test('fast unary API (lean): the same', async () => {
    const mesh = await createMesh({ config: config([server.address], upstreamTls()) });
    try {
      const reply = await mesh.unary(TARGET, '/xmesh.echo.Echo/Echo', Buffer.from([0x0a, 0x02, 0x68, 0x69]));
      assert.ok(reply.length > 0);
      assert.equal(server.lastPeerSan, CLIENT_SAN);
    } finally {
      await mesh.close();
    }
  });

  for (const [name, transport] of [['lean', lean], ['grpc-js', grpcJs]] as const) {
    test(`${name} transport: each failure is XMESH_TLS_HANDSHAKE_FAILED (UNAVAILABLE) with its ssl.* stat`, async () => {
      const expired = await startEchoServer('expired', mtlsCredentials(pki.expired));
      const stranger = await startEchoServer('stranger', mtlsCredentials(pki.strangerServer));
      const cases = [
        { what: 'SAN mismatch', address: server.address, socket: upstreamTls(pki.client, 'spiffe://xmesh.test/ns/default/sa/other'), kind: 'san_mismatch', stat: 'fail_verify_san' },
        { what: 'expired server certificate', address: expired.address, socket: upstreamTls(), kind: 'expired', stat: 'fail_verify_error' },
        { what: 'server from an unknown CA', address: stranger.address, socket: upstreamTls(), kind: 'unknown_ca', stat: 'fail_verify_error' },
        { what: 'our certificate from a CA the server does not trust', address: server.address, socket: upstreamTls(pki.strangerClient), kind: '(peer_rejected|handshake)', stat: 'connection_error' },
      ];
      try {
        for (const c of cases) {
          const mesh = await createMesh({ config: config([c.address], c.socket, transport) });
          const echo = mesh.grpcClient(EchoCtor, TARGET) as EchoClient;
          try {
            const error = await unary(echo, { message: 'x' }, { deadline: Date.now() + 10_000 }).then(() => undefined, (e: grpc.ServiceError) => e);
            assert.ok(error, `${c.what}: the call must fail`);
            assert.equal(error.code, grpc.status.UNAVAILABLE, c.what);
            assert.equal(error.metadata.get('x-xmesh-error-code')[0], 'XMESH_TLS_HANDSHAKE_FAILED', `${c.what}: ${error.details}`);
            assert.match(error.details, new RegExp(`TLS handshake with 127\\.0\\.0\\.1:\\d+ failed \\(${c.kind}\\)`), c.what);
            assert.ok(mesh.observability.store.value(`cluster.c.ssl.${c.stat}`) >= 1, `${c.what}: ssl.${c.stat}`);
          } finally {
            echo.close();
            await mesh.close();
          }
        }
      } finally {
        await Promise.all([expired.close(), stranger.close()]);
      }
    });
  }

  test('fast unary API: a TLS failure rejects with a MeshError XMESH_TLS_HANDSHAKE_FAILED', async () => {
    const mesh = await createMesh({ config: config([server.address], upstreamTls(pki.client, 'spiffe://nope')) });
    try {
      const error = await mesh.unary(TARGET, '/xmesh.echo.Echo/Echo', Buffer.alloc(0), { deadline: Date.now() + 10_000 }).then(() => undefined, (e: unknown) => e);
      assert.ok(hasCode(error, 'XMESH_TLS_HANDSHAKE_FAILED'), String(error));
      assert.equal(error.grpcStatus, grpc.status.UNAVAILABLE);
    } finally {
      await mesh.close();
    }
  });

  test('a TLS failure is a connect failure: retry_on connect-failure moves the call to the good endpoint', async () => {
    const expired = await startEchoServer('expired', mtlsCredentials(pki.expired));
    const retry = { retry_policy: { retry_on: 'connect-failure', num_retries: 3, retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }] } };
    const mesh = await createMesh({ config: config([expired.address, server.address], upstreamTls(), lean, retry) });
    const echo = mesh.grpcClient(EchoCtor, TARGET) as EchoClient;
    try {
      for (let i = 0; i < 10; i++) assert.equal((await unary(echo, { message: `r${i}` }, { deadline: Date.now() + 10_000 })).server.startsWith('tls@'), true);
      assert.equal(expired.calls, 0);
      assert.ok(mesh.observability.store.value('cluster.c.ssl.fail_verify_error') >= 1);
    } finally {
      echo.close();
      await mesh.close();
      await expired.close();
    }
  });
});

describe('plaintext is never sent when TLS is configured', () => {
  test('a plaintext-only grpc-js server refuses the call, and the first bytes it got were a TLS ClientHello', async () => {
    const plain = await startEchoServer('plain');
    // A raw listener in front of nothing: records the first bytes a client sends.
    const firstBytes: Buffer[] = [];
    const sniffer = createNetServer((socket) => {
      socket.once('data', (chunk: Buffer) => {
        firstBytes.push(chunk);
        socket.destroy();
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => sniffer.listen(0, '127.0.0.1', resolve));
    const sniffed = `127.0.0.1:${(sniffer.address() as AddressInfo).port}`;
    try {
      for (const transport of [lean, grpcJs]) {
        for (const address of [plain.address, sniffed]) {
          const mesh = await createMesh({ config: config([address], upstreamTls(), transport) });
          const echo = mesh.grpcClient(EchoCtor, TARGET) as EchoClient;
          try {
            const error = await unary(echo, { message: 'secret' }, { deadline: Date.now() + 10_000 }).then(() => undefined, (e: grpc.ServiceError) => e);
            assert.equal(error?.code, grpc.status.UNAVAILABLE);
            assert.equal(error?.metadata.get('x-xmesh-error-code')[0], 'XMESH_TLS_HANDSHAKE_FAILED', error?.details);
          } finally {
            echo.close();
            await mesh.close();
          }
        }
      }
      assert.equal(plain.calls, 0, 'the plaintext server never got a call');
      assert.ok(firstBytes.length >= 2);
      for (const bytes of firstBytes) {
        assert.equal(bytes[0], 0x16, 'a TLS handshake record');
        assert.equal(bytes[5], 0x01, 'a ClientHello');
        assert.equal(bytes.includes(Buffer.from('PRI * HTTP/2.0')), false, 'no HTTP/2 preface in clear');
        assert.equal(bytes.includes(Buffer.from('secret')), false);
      }
    } finally {
      await plain.close();
      await new Promise<void>((resolve) => sniffer.close(() => resolve()));
    }
  });
});

describe('HTTP through mesh.fetch over mTLS (undici)', () => {
  let https: HttpsServer;
  let h2: Http2SecureServer;
  const seen: { san: string | undefined; alpn: string | false | undefined }[] = [];

  before(async () => {
    const options = { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true };
    https = createHttpsServer(options, (req, res) => {
      const socket = req.socket as TLSSocket;
      seen.push({ san: socket.getPeerCertificate().subjectaltname, alpn: socket.alpnProtocol });
      res.end(`https:${req.url}`);
    });
    h2 = createSecureServer(options, (req, res) => {
      const socket = req.socket as unknown as TLSSocket;
      seen.push({ san: socket.getPeerCertificate().subjectaltname, alpn: socket.alpnProtocol });
      res.end(`h2:${req.url}`);
    });
    for (const srv of [https, h2]) {
      srv.on('tlsClientError', () => undefined);
      await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    }
  });
  after(async () => {
    await new Promise<void>((resolve) => https.close(() => resolve()));
    await new Promise<void>((resolve) => h2.close(() => resolve()));
  });

  test('HTTP/1.1 to a node https server with requestCert', async () => {
    const mesh = await createMesh({ config: config([`127.0.0.1:${(https.address() as AddressInfo).port}`], upstreamTls()) });
    try {
      const res = await mesh.fetch('http://api.default.svc/hello');
      assert.equal(await res.text(), 'https:/hello');
      assert.deepEqual(seen.at(-1), { san: CLIENT_SAN, alpn: 'http/1.1' });
    } finally {
      await mesh.close();
    }
  });

  test('HTTP/2 to http2.createSecureServer with requestCert (cluster with http2_protocol_options)', async () => {
    const mesh = await createMesh({ config: config([`127.0.0.1:${(h2.address() as AddressInfo).port}`], upstreamTls(), { http2_protocol_options: {} }) });
    try {
      const res = await mesh.fetch('http://api.default.svc/two');
      assert.equal(await res.text(), 'h2:/two');
      assert.deepEqual(seen.at(-1), { san: CLIENT_SAN, alpn: 'h2' });
    } finally {
      await mesh.close();
    }
  });

  test('a SAN mismatch is a 503 with Envoy\'s local-reply wording and the typed code', async () => {
    const mesh = await createMesh({ config: config([`127.0.0.1:${(https.address() as AddressInfo).port}`], upstreamTls(pki.client, 'spiffe://nope')) });
    try {
      const res = await mesh.fetch('http://api.default.svc/x');
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('x-xmesh-error-code'), 'XMESH_TLS_HANDSHAKE_FAILED');
      assert.match(await res.text(), /^upstream connect error or disconnect\/reset before headers\. reset reason: connection failure, transport failure reason: TLS_error: TLS handshake with 127\.0\.0\.1:\d+ failed \(san_mismatch\)/);
      assert.equal(mesh.observability.store.value('cluster.c.ssl.fail_verify_san'), 1);
    } finally {
      await mesh.close();
    }
  });
});

describe('config problems with certificates refuse the update', () => {
  test('a missing certificate file and a key that does not match its certificate', async () => {
    const missing = { ...upstreamTls() } as { typed_config: { common_tls_context: Record<string, unknown> } };
    const bad = JSON.parse(JSON.stringify(missing)) as typeof missing;
    bad.typed_config.common_tls_context['tls_certificates'] = [{ certificate_chain: { filename: '/nonexistent/cert.pem' }, private_key: { filename: pki.client.keyPath } }];
    const mismatched = JSON.parse(JSON.stringify(missing)) as typeof missing;
    mismatched.typed_config.common_tls_context['tls_certificates'] = [{ certificate_chain: { filename: pki.client.certPath }, private_key: { filename: pki.server.keyPath } }];
    for (const [socket, pattern] of [[bad, /cannot read \/nonexistent\/cert\.pem: ENOENT/], [mismatched, /key values mismatch/]] as const) {
      const error = await createMesh({ config: config(['127.0.0.1:1'], socket) }).then(() => undefined, (e: unknown) => e);
      assert.ok(isMeshError(error) && error.code === 'XMESH_CONFIG_INVALID', String(error));
      assert.match(error.message, pattern);
      assert.match(error.errors[0]!.path, /^clusters\["c"\]\.transport_socket\.common_tls_context/);
      assert.doesNotMatch(JSON.stringify(error.errors), /PRIVATE KEY/);
    }
  });
});

describe('nothing leaks', () => {
  test('/config_dump shows inline private keys as [redacted]; the certificate is shown', async () => {
    const inline = {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': TLS_TYPE,
        common_tls_context: {
          tls_certificates: [{ certificate_chain: { inline_string: pki.client.cert }, private_key: { inline_string: pki.client.key } }],
          validation_context: { trusted_ca: { inline_string: pki.ca.cert } },
        },
      },
    };
    const mesh = await createMesh({ config: config(['127.0.0.1:1'], inline) });
    try {
      const dump = JSON.stringify(mesh.observability.configDump({ includeEds: true }));
      assert.doesNotMatch(dump, /PRIVATE KEY/);
      assert.ok(!dump.includes(pki.client.key.split('\n')[1]!), 'no line of the key');
      assert.match(dump, /"private_key"|"privateKey"/);
      assert.match(dump, /\[redacted\]/);
      assert.match(dump, /BEGIN CERTIFICATE/);
    } finally {
      await mesh.close();
    }
  });
});
