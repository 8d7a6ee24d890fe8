// ServerTls (the sidecar's TLS termination) with stock node TLS clients and openssl-made certificates: the client
// checks of a DownstreamTlsContext, ALPN, and ssl.* stats.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { connect } from 'node:tls';
import { StatStore } from '@xmesh/stats';
import { buildSnapshotOrThrow, TypeUrl, type DownstreamTlsConfig } from '@xmesh/xds';
import { standardPki, type Issued } from '../../../test/support/pki.js';
import { ServerTls } from './server-tls.js';
import { TlsSecrets } from './secrets.js';
import { SslStats } from './ssl-stats.js';

const pki = standardPki();
after(() => pki.dispose());

/** The DownstreamTlsContext `context` decoded from a listener's filter chain. */
function downstreamTls(context: Record<string, unknown>): DownstreamTlsConfig {
  const hcm = {
    '@type': TypeUrl.HttpConnectionManager, stat_prefix: 'in',
    route_config: { virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] }] },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }],
  };
  const snapshot = buildSnapshotOrThrow([{
    '@type': TypeUrl.Listener, name: 'in',
    filter_chains: [{
      filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }],
      transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TypeUrl.DownstreamTlsContext, ...context } },
    }],
  }, { '@type': TypeUrl.Cluster, name: 'c', load_assignment: { cluster_name: 'c', endpoints: [] } }]);
  return snapshot.listeners['in']!.filterChains![0]!.tls!;
}

const serverCert = { tls_certificates: [{ certificate_chain: { filename: pki.server.certPath }, private_key: { filename: pki.server.keyPath } }] };
const trustClients = (extra: Record<string, unknown> = {}) => ({ validation_context: { trusted_ca: { filename: pki.ca.certPath }, ...extra } });

/** A TCP listener that reads the first bytes (as the sidecar sniffs), puts them back and hands the socket to ServerTls. */
async function terminator(config: DownstreamTlsConfig): Promise<{ port: number; store: StatStore; delivered: (string | undefined)[]; close(): Promise<void> }> {
  const store = new StatStore();
  const delivered: (string | undefined)[] = [];
  const tls = ServerTls.create(config, 'listeners["in"]', new TlsSecrets(), new SslStats(store.root.scope('listener.test', 'listener')), {
    handshakeTimeoutMs: 5_000,
    deliver: (socket) => {
      delivered.push(socket.getPeerCertificate().subjectaltname);
      socket.end(`hello ${socket.alpnProtocol}`);
    },
  });
  assert.ok(!Array.isArray(tls), JSON.stringify(tls));
  const server: Server = createServer((socket: Socket) => {
    socket.on('error', () => undefined);
    socket.once('readable', () => {
      const first = socket.read(1) as Buffer | null;
      if (first) socket.unshift(first);
      tls.accept(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, store, delivered, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function talk(port: number, certificate: Issued | undefined, alpn = ['h2', 'http/1.1']): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1', port, ca: pki.ca.cert, ALPNProtocols: alpn, checkServerIdentity: () => undefined,
      ...(certificate ? { cert: certificate.cert, key: certificate.key } : {}),
    });
    let data = '';
    let failure: Error | undefined;
    socket.on('data', (c: Buffer) => (data += c.toString()));
    socket.on('error', (e) => (failure = e));
    socket.on('close', () => (failure && data === '' ? reject(failure) : resolve(data)));
  });
}

const ssl = (store: StatStore, name: string) => store.value(`listener.test.ssl.${name}`);

describe('ServerTls', () => {
  it('mTLS: verifies the client, negotiates h2 (or http/1.1), counts the handshake', async () => {
    const t = await terminator(downstreamTls({ common_tls_context: { ...serverCert, ...trustClients() }, require_client_certificate: true }));
    try {
      assert.equal(await talk(t.port, pki.client), 'hello h2');
      assert.equal(await talk(t.port, pki.client, ['http/1.1']), 'hello http/1.1');
      assert.equal(t.delivered[0], 'URI:spiffe://xmesh.test/ns/default/sa/client');
      assert.equal(ssl(t.store, 'handshake'), 2);
    } finally {
      await t.close();
    }
  });

  it('require_client_certificate: a client without one is refused (fail_verify_no_cert)', async () => {
    const t = await terminator(downstreamTls({ common_tls_context: { ...serverCert, ...trustClients() }, require_client_certificate: true }));
    try {
      assert.equal(await talk(t.port, undefined).catch(() => ''), '');
      assert.equal(t.delivered.length, 0);
      assert.equal(ssl(t.store, 'fail_verify_no_cert'), 1);
    } finally {
      await t.close();
    }
  });

  it('a client certificate from another CA, or with the wrong SAN, is refused even when not required', async () => {
    const t = await terminator(downstreamTls({ common_tls_context: { ...serverCert, ...trustClients({ match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'spiffe://xmesh.test/ns/default/' } }] }) } }));
    try {
      assert.equal(await talk(t.port, pki.strangerClient).catch(() => ''), '');
      assert.equal(ssl(t.store, 'fail_verify_error'), 1);
      const outsider = pki.issue('outsider', { sans: ['URI:spiffe://xmesh.test/ns/other/sa/x'] });
      assert.equal(await talk(t.port, outsider).catch(() => ''), '');
      assert.equal(ssl(t.store, 'fail_verify_san'), 1);
      assert.equal(await talk(t.port, undefined), 'hello h2', 'no certificate, not required: accepted');
      assert.equal(ssl(t.store, 'no_certificate'), 1);
      assert.equal(t.delivered.length, 1);
    } finally {
      await t.close();
    }
  });

  it('a plaintext client fails the handshake (connection_error)', async () => {
    const t = await terminator(downstreamTls({ common_tls_context: serverCert }));
    try {
      await new Promise<void>((resolve) => {
        const raw = netConnect(t.port, '127.0.0.1', () => raw.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n'));
        raw.on('error', () => undefined);
        raw.on('close', () => resolve());
        raw.resume();
      });
      assert.equal(t.delivered.length, 0);
      assert.equal(ssl(t.store, 'connection_error'), 1);
    } finally {
      await t.close();
    }
  });
});
