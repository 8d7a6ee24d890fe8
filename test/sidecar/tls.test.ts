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
