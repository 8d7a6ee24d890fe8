// The xmesh sidecar and TLS: its upstream connections follow the cluster's UpstreamTlsContext (mTLS to a stock
// grpc-js server with createSsl(ca, [...], true) and to a node https server with requestCert), failures are typed
// local replies. Certificates are made by openssl at test time.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { startSidecar } from '@xmesh/sidecar';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { bootstrap } from '../support/mesh-config.js';
import { unary } from '../support/grpc-call.js';
import { standardPki } from '../support/pki.js';

const { EchoClient: EchoCtor } = loadEcho();
const pki = standardPki();
const SERVER_ID = 'spiffe://xmesh.test/ns/default/sa/server';
const CLIENT_SAN = 'URI:spiffe://xmesh.test/ns/default/sa/client';
after(() => pki.dispose());

function upstreamTls(sanExact = SERVER_ID): object {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      common_tls_context: {
        tls_certificates: [{ certificate_chain: { filename: pki.client.certPath }, private_key: { filename: pki.client.keyPath } }],
        validation_context: { trusted_ca: { filename: pki.ca.certPath }, match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: sanExact } }] },
      },
    },
  };
}

function config(clusters: Record<string, { address: string; socket: object; http2?: boolean }>): object {
  const b = bootstrap({
    domains: ['*'],
    routes: Object.keys(clusters).map((name) => ({ prefix: '/', headers: { 'x-to': name }, cluster: name })),
    clusters: Object.fromEntries(Object.entries(clusters).map(([name, c]) => [name, [c.address]])),
    http2: Object.entries(clusters).filter(([, c]) => c.http2).map(([name]) => name),
  }) as { static_resources: { clusters: Record<string, unknown>[] } };
  for (const c of b.static_resources.clusters) Object.assign(c, { transport_socket: clusters[c['name'] as string]!.socket });
  return b;
}

describe('sidecar upstream TLS', () => {
  let grpcServer: EchoServer;
  let https: HttpsServer;
  let httpsSan: string | undefined;

  before(async () => {
    grpcServer = await startEchoServer('tls', grpc.ServerCredentials.createSsl(Buffer.from(pki.ca.cert), [{ cert_chain: Buffer.from(pki.server.cert), private_key: Buffer.from(pki.server.key) }], true));
    https = createHttpsServer({ cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      httpsSan = (req.socket as TLSSocket).getPeerCertificate().subjectaltname;
      res.end(`https ${req.url}`);
    });
    https.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await grpcServer.close();
    await new Promise<void>((resolve) => https.close(() => resolve()));
  });

  test('gRPC (h2c in, mTLS out) and HTTP/1.1 (plain in, mTLS out); failures are typed local replies', async () => {
    const httpsAddress = `127.0.0.1:${(https.address() as AddressInfo).port}`;
    const sidecar = await startSidecar({
      config: config({
        grpc: { address: grpcServer.address, socket: upstreamTls(), http2: true },
        http: { address: httpsAddress, socket: upstreamTls() },
        wrong: { address: grpcServer.address, socket: upstreamTls('spiffe://xmesh.test/ns/default/sa/other'), http2: true },
      }),
      listen: '127.0.0.1:0',
      admin: false,
    });
    const echo = new EchoCtor(sidecar.target, grpc.credentials.createInsecure()) as EchoClient;
    try {
      const md = new grpc.Metadata();
      md.set('x-to', 'grpc');
      assert.equal((await unary(echo, { message: 'hi' }, {}, 'Echo', md)).message, 'hi');
      assert.equal(grpcServer.lastPeerSan, CLIENT_SAN);

      const res = await request(`http://${sidecar.target}/path`, { headers: { 'x-to': 'http' } });
      assert.equal(await res.body.text(), 'https /path');
      assert.equal(httpsSan, CLIENT_SAN);

      const wrong = new grpc.Metadata();
      wrong.set('x-to', 'wrong');
      const error = await unary(echo, { message: 'x' }, { deadline: Date.now() + 10_000 }, 'Echo', wrong).then(() => undefined, (e: grpc.ServiceError) => e);
      assert.equal(error?.code, grpc.status.UNAVAILABLE);
      assert.equal(error?.metadata.get('x-xmesh-error-code')[0], 'XMESH_TLS_HANDSHAKE_FAILED', error?.details);
      assert.match(error?.details ?? '', /failed \(san_mismatch\)/);
      assert.equal(sidecar.mesh.observability.store.value('cluster.wrong.ssl.fail_verify_san') >= 1, true);
      assert.equal(sidecar.mesh.observability.store.value('cluster.grpc.ssl.handshake'), 1);
    } finally {
      echo.close();
      await sidecar.close();
    }
  });
});

const DOWNSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';

/** The sidecar's listener with a TLS chain (`permissive`: plus a plaintext chain, told apart by transport_protocol). */
function listenerTls(upstream: string, context: Record<string, unknown>, permissive = false): object {
  const b = bootstrap({ routes: [{ prefix: '/', cluster: 'echo' }], clusters: { echo: [upstream] }, http2: ['echo'] }) as {
    static_resources: { listeners: { filter_chains: Record<string, unknown>[] }[] };
  };
  const listener = b.static_resources.listeners[0]!;
  const plain = listener.filter_chains[0]!;
  const tls = { ...plain, transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': DOWNSTREAM_TLS, ...context } } };
  listener.filter_chains = permissive
    ? [{ ...tls, filter_chain_match: { transport_protocol: 'tls' } }, { ...plain, filter_chain_match: { transport_protocol: 'raw_buffer' } }]
    : [tls];
  return b;
}

const serverSide = (extra: Record<string, unknown> = {}) => ({
  common_tls_context: {
    tls_certificates: [{ certificate_chain: { filename: pki.server.certPath }, private_key: { filename: pki.server.keyPath } }],
    validation_context: { trusted_ca: { filename: pki.ca.certPath }, match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'spiffe://xmesh.test/ns/default/' } }] },
  },
  require_client_certificate: true,
  ...extra,
});

const sslClient = (certificate = pki.client) => grpc.credentials.createSsl(Buffer.from(pki.ca.cert), Buffer.from(certificate.key), Buffer.from(certificate.cert));
/** grpc-js sends the target host as SNI; Node 26 refuses an IP there, so name the server as its certificate does. */
const SERVER_NAME = { 'grpc.ssl_target_name_override': 'server.test', 'grpc.use_local_subchannel_pool': 1 };

describe('sidecar downstream TLS (DownstreamTlsContext on the listener\'s filter chain)', () => {
  let upstream: EchoServer;
  before(async () => (upstream = await startEchoServer('up')));
  after(() => upstream.close());

  test('a stock grpc-js client with credentials.createSsl calls through the sidecar\'s TLS listener; checks and stats', async () => {
    const sidecar = await startSidecar({ config: listenerTls(upstream.address, serverSide()), listen: '127.0.0.1:0', admin: false });
    const store = sidecar.mesh.observability.store;
    const clients: EchoClient[] = [];
    const client = (credentials: grpc.ChannelCredentials) => {
      const c = new EchoCtor(sidecar.target, credentials, SERVER_NAME) as EchoClient;
      clients.push(c);
      return c;
    };
    try {
      assert.equal((await unary(client(sslClient()), { message: 'over tls' })).message, 'over tls');
      assert.equal(store.value('listener.0.0.0.0_15001.ssl.handshake'), 1);

      // Without a certificate, with one from another CA, with a SAN outside the matcher: refused.
      const outsider = pki.issue('outsider', { sans: ['URI:spiffe://xmesh.test/ns/other/sa/x'] });
      const noCert = grpc.credentials.createSsl(Buffer.from(pki.ca.cert));
      for (const credentials of [noCert, sslClient(pki.strangerClient), sslClient(outsider)]) {
        const error = await unary(client(credentials), { message: 'x' }, { deadline: Date.now() + 10_000 }).then(() => undefined, (e: grpc.ServiceError) => e);
        assert.equal(error?.code, grpc.status.UNAVAILABLE);
      }
      assert.equal(store.value('listener.0.0.0.0_15001.ssl.fail_verify_no_cert'), 1);
      assert.equal(store.value('listener.0.0.0.0_15001.ssl.fail_verify_error'), 1);
      assert.equal(store.value('listener.0.0.0.0_15001.ssl.fail_verify_san'), 1);

      // A plaintext client is refused: this listener has no plaintext chain.
      const plain = await unary(client(grpc.credentials.createInsecure()), { message: 'x' }, { deadline: Date.now() + 10_000 }).then(() => undefined, (e: grpc.ServiceError) => e);
      assert.equal(plain?.code, grpc.status.UNAVAILABLE);
      assert.equal(upstream.calls, 1, 'only the mTLS call reached the upstream');
    } finally {
      for (const c of clients) c.close();
      await sidecar.close();
    }
  });

  test('HTTP/1.1 over TLS (ALPN http/1.1) from undici, and permissive chains: TLS and plaintext on one port', async () => {
    const http = await import('node:https');
    const sidecar = await startSidecar({ config: listenerTls(upstream.address, serverSide(), true), listen: '127.0.0.1:0', admin: false });
    const echo = new EchoCtor(sidecar.target, grpc.credentials.createInsecure()) as EchoClient;
    const secure = new EchoCtor(sidecar.target, sslClient(), SERVER_NAME) as EchoClient;
    try {
      assert.equal((await unary(echo, { message: 'plain' })).message, 'plain');
      assert.equal((await unary(secure, { message: 'tls' })).message, 'tls');
      // An HTTP/1.1 request over TLS: the sidecar answers it (a local reply: the upstream speaks gRPC only).
      const status = await new Promise<{ status: number; alpn: string | false }>((resolve, reject) => {
        const req = http.request({
          host: '127.0.0.1', port: sidecar.address.port, path: '/x', ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key,
          ALPNProtocols: ['http/1.1'], checkServerIdentity: () => undefined,
        }, (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, alpn: (res.socket as TLSSocket).alpnProtocol });
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(status.alpn, 'http/1.1');
      assert.ok(status.status > 0);
    } finally {
      echo.close();
      secure.close();
      await sidecar.close();
    }
  });

  test('several listeners with TLS chains: the sidecar needs to be told which one it serves, by a name that exists', async () => {
    const config = listenerTls(upstream.address, serverSide()) as { static_resources: { listeners: Record<string, unknown>[] } };
    // A second listener like the first, with its own name and route configuration name.
    const other = JSON.parse(JSON.stringify(config.static_resources.listeners[0]).replaceAll('"name":"mesh"', '"name":"other"')) as Record<string, unknown>;
    config.static_resources.listeners.push(other);
    const guess = await startSidecar({ config, listen: '127.0.0.1:0', admin: false }).then(() => undefined, (e: unknown) => e);
    assert.match(String(guess), /name the one to serve/);
    const misspelt = await startSidecar({ config, listen: '127.0.0.1:0', admin: false, listener: 'mseh' }).then(() => undefined, (e: unknown) => e);
    assert.match(String(misspelt), /listener "mseh", which the config does not define/);
    const named = await startSidecar({ config, listen: '127.0.0.1:0', admin: false, listener: 'mesh' });
    await named.close();
  });

  test('a missing server certificate refuses the config', async () => {
    const bad = serverSide();
    (bad.common_tls_context.tls_certificates[0] as { certificate_chain: { filename: string } }).certificate_chain.filename = '/nonexistent.pem';
    const error = await startSidecar({ config: listenerTls(upstream.address, bad), listen: '127.0.0.1:0', admin: false }).then(() => undefined, (e: unknown) => e);
    assert.match(String(error), /cannot read \/nonexistent\.pem/);
  });
});
