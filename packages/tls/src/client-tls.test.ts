// ClientTls against stock node TLS servers, with certificates made by openssl: the handshake Envoy would make, and
// each failure classified, marked on the error and counted in ssl.* stats.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createTlsServer, type TLSSocket, type Server as TlsServer } from 'node:tls';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { StatStore } from '@xmesh/stats';
import { buildSnapshotOrThrow, TypeUrl, type UpstreamTlsConfig } from '@xmesh/xds';
import { standardPki } from '../../../test/support/pki.js';
import { ClientTls } from './client-tls.js';
import { tlsFailureOf } from './failure.js';
import { TlsSecrets } from './secrets.js';
import { SslStats } from './ssl-stats.js';

const pki = standardPki();
after(() => pki.dispose());

/** The UpstreamTlsContext `context` decoded as a cluster's transport socket. */
function upstreamTls(context: Record<string, unknown>): UpstreamTlsConfig {
  const snapshot = buildSnapshotOrThrow([{
    '@type': TypeUrl.Cluster,
    name: 'c',
    load_assignment: { cluster_name: 'c', endpoints: [] },
    transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TypeUrl.UpstreamTlsContext, ...context } },
  }]);
  return snapshot.clusters['c']!.tls!;
}

const mtls = (validation: Record<string, unknown> = {}, certificate = pki.client) => ({
  common_tls_context: {
    tls_certificates: [{ certificate_chain: { filename: certificate.certPath }, private_key: { filename: certificate.keyPath } }],
    validation_context: { trusted_ca: { filename: pki.ca.certPath }, ...validation },
  },
});

interface Seen {
  readonly servername: string | false;
  readonly alpn: string | false;
  readonly peerSan: string | undefined;
}

/** A stock TLS server requiring a client certificate from the main CA; records what each connection presented. */
async function tlsServer(server = pki.server): Promise<{ port: number; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const srv: TlsServer = createTlsServer({
    cert: server.cert, key: server.key, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2', 'http/1.1'],
  }, (socket: TLSSocket) => {
    seen.push({ servername: socket.servername ?? false, alpn: socket.alpnProtocol, peerSan: socket.getPeerCertificate().subjectaltname });
    socket.end('hello');
  });
  srv.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return { port: (srv.address() as AddressInfo).port, seen, close: () => new Promise((resolve) => srv.close(() => resolve())) };
}

function client(config: UpstreamTlsConfig): { tls: ClientTls; store: StatStore } {
  const store = new StatStore();
  const tls = ClientTls.create(config, 'clusters["c"].transport_socket', new TlsSecrets(), new SslStats(store.cluster('c')));
  assert.ok(!Array.isArray(tls), JSON.stringify(tls));
  return { tls, store };
}

/** Connects and resolves with the bytes received, or rejects with the socket's error. */
function exchange(tls: ClientTls, port: number, alpn: 'h2' | 'http/1.1' = 'h2'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect('127.0.0.1', port, alpn);
    let data = '';
    let failure: Error | undefined;
    socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
    socket.on('error', (error) => (failure = error));
    socket.on('close', () => (failure ? reject(failure) : resolve(data)));
    socket.setTimeout(10_000, () => socket.destroy(new Error('test timeout')));
  });
}

async function failure(tls: ClientTls, port: number): Promise<Error> {
  const error = await exchange(tls, port).then(() => undefined, (e: unknown) => e as Error);
  assert.ok(error, 'the connection should have failed');
  return error;
}

const ssl = (store: StatStore, name: string) => store.value(`cluster.c.ssl.${name}`);

describe('ClientTls (mTLS to a stock node TLS server)', () => {
  let server: Awaited<ReturnType<typeof tlsServer>>;
  before(async () => (server = await tlsServer()));
  after(() => server.close());

  it('presents its certificate, verifies the server, sends ALPN h2 and no SNI by default; counts the handshake', async () => {
    const { tls, store } = client(upstreamTls(mtls({ match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: 'spiffe://xmesh.test/ns/default/sa/server' } }] })));
    assert.equal(await exchange(tls, server.port), 'hello');
    const seen = server.seen.at(-1)!;
    assert.equal(seen.peerSan, 'URI:spiffe://xmesh.test/ns/default/sa/client');
    assert.equal(seen.alpn, 'h2');
    assert.equal(seen.servername, false, 'Envoy sends no SNI unless `sni` is set');
    assert.equal(ssl(store, 'handshake'), 1);
  });

  it('sends `sni` and `alpn_protocols` when configured; http/1.1 is the HTTP/1 transport\'s default', async () => {
    const withSni = client(upstreamTls({ ...mtls(), sni: 'server.test' }));
    assert.equal(await exchange(withSni.tls, server.port, 'http/1.1'), 'hello');
    assert.deepEqual({ servername: server.seen.at(-1)!.servername, alpn: server.seen.at(-1)!.alpn }, { servername: 'server.test', alpn: 'http/1.1' });
    const withAlpn = client(upstreamTls({ ...mtls(), common_tls_context: { ...mtls().common_tls_context, alpn_protocols: ['http/1.1'] } }));
    await exchange(withAlpn.tls, server.port, 'h2');
    assert.equal(server.seen.at(-1)!.alpn, 'http/1.1');
  });

  it('never checks the host name (Envoy): a certificate without the dialled IP passes when no SAN matcher is set', async () => {
    const other = await tlsServer(pki.issue('no-ip', { sans: ['DNS:only-a-name.test'] }));
    try {
      const { tls } = client(upstreamTls(mtls()));
      assert.equal(await exchange(tls, other.port), 'hello');
    } finally {
      await other.close();
    }
  });

  it('SAN mismatch: typed failure, fail_verify_san', async () => {
    const { tls, store } = client(upstreamTls(mtls({ match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'spiffe://elsewhere/' } }, { san_type: 'DNS', matcher: { exact: 'nope.test' } }] })));
    const error = await failure(tls, server.port);
    assert.equal(tlsFailureOf(error), 'san_mismatch');
    assert.match(error.message, /^TLS handshake with 127\.0\.0\.1:\d+ failed \(san_mismatch\): no subject alternative name .*URI:spiffe:\/\/xmesh\.test\/ns\/default\/sa\/server/);
    assert.equal(ssl(store, 'fail_verify_san'), 1);
    assert.equal(ssl(store, 'handshake'), 0);
  });

  it('IP SAN and suffix/regex matchers match', async () => {
    for (const matcher of [
      { san_type: 'IP_ADDRESS', matcher: { exact: '127.0.0.1' } },
      { san_type: 'DNS', matcher: { suffix: '.test' } },
      { san_type: 'URI', matcher: { safe_regex: { regex: 'spiffe://xmesh\\.test/ns/[^/]+/sa/server' } } },
    ]) {
      const { tls } = client(upstreamTls(mtls({ match_typed_subject_alt_names: [matcher] })));
      assert.equal(await exchange(tls, server.port), 'hello', JSON.stringify(matcher));
    }
  });

  it('the untyped match_subject_alt_names (gRPC control planes) matches any SAN type', async () => {
    assert.equal(await exchange(client(upstreamTls(mtls({ match_subject_alt_names: [{ exact: 'spiffe://xmesh.test/ns/default/sa/server' }] }))).tls, server.port), 'hello');
    assert.equal(await exchange(client(upstreamTls(mtls({ match_subject_alt_names: [{ exact: '127.0.0.1' }] }))).tls, server.port), 'hello');
    const miss = client(upstreamTls(mtls({ match_subject_alt_names: [{ exact: 'spiffe://xmesh.test/ns/default/sa/other' }] })));
    assert.equal(tlsFailureOf(await failure(miss.tls, server.port)), 'san_mismatch');
  });

  it('certificate hash and SPKI pins: a match passes, a mismatch is a typed failure (fail_verify_cert_hash)', async () => {
    const { X509Certificate, createHash } = await import('node:crypto');
    const leaf = new X509Certificate(pki.server.cert);
    const hash = createHash('sha256').update(leaf.raw).digest('hex');
    const spki = createHash('sha256').update(leaf.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
    assert.equal(await exchange(client(upstreamTls(mtls({ verify_certificate_hash: [hash] }))).tls, server.port), 'hello');
    assert.equal(await exchange(client(upstreamTls(mtls({ verify_certificate_spki: [spki] }))).tls, server.port), 'hello');
    const wrong = client(upstreamTls(mtls({ verify_certificate_hash: ['ab'.repeat(32)] })));
    assert.equal(tlsFailureOf(await failure(wrong.tls, server.port)), 'pin_mismatch');
    assert.equal(ssl(wrong.store, 'fail_verify_cert_hash'), 1);
  });

  it('a client certificate the server does not trust: the server refuses (typed, connection_error)', async () => {
    const { tls, store } = client(upstreamTls(mtls({}, pki.strangerClient)));
    const error = await failure(tls, server.port);
    // A Node server checks the client's certificate after the handshake and closes: depending on timing the client
    // sees a reset during the handshake, or a close right after it.
    assert.ok(['peer_rejected', 'handshake'].includes(tlsFailureOf(error)!), error.message);
    assert.equal(ssl(store, 'connection_error'), 1);
  });

  it('no client certificate to a server that requires one: peer_rejected', async () => {
    const { tls } = client(upstreamTls({ common_tls_context: { validation_context: { trusted_ca: { filename: pki.ca.certPath } } } }));
    assert.equal(tlsFailureOf(await failure(tls, server.port)), 'peer_rejected');
  });
});

describe('ClientTls: the server\'s certificate', () => {
  it('unknown CA and expired certificates are typed failures counted in fail_verify_error', async () => {
    for (const [certificate, kind] of [[pki.strangerServer, 'unknown_ca'], [pki.expired, 'expired']] as const) {
      const server = await tlsServer(certificate);
      try {
        const { tls, store } = client(upstreamTls(mtls()));
        const error = await failure(tls, server.port);
        assert.equal(tlsFailureOf(error), kind, error.message);
        assert.equal(ssl(store, 'fail_verify_error'), 1);
        assert.equal(ssl(store, 'handshake'), 0);
      } finally {
        await server.close();
      }
    }
  });

  it('without trusted_ca any server certificate is accepted (Envoy), and the connection is still encrypted', async () => {
    const server = await tlsServer(pki.strangerServer);
    try {
      const { tls } = client(upstreamTls({ common_tls_context: { tls_certificates: mtls().common_tls_context.tls_certificates } }));
      assert.equal(await exchange(tls, server.port), 'hello');
    } finally {
      await server.close();
    }
  });
});

describe('ClientTls: what is not a TLS failure, and what is', () => {
  it('a refused TCP connection stays a plain connect error', async () => {
    const closed = createNetServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { tls, store } = client(upstreamTls(mtls()));
    const error = await failure(tls, port);
    assert.equal((error as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    assert.equal(tlsFailureOf(error), undefined);
    assert.equal(ssl(store, 'connection_error'), 0);
  });

  it('a plaintext server: the handshake fails (typed), and it received a TLS ClientHello, not plaintext', async () => {
    let first: Buffer | undefined;
    const plain: NetServer = createNetServer((socket) => {
      socket.once('data', (chunk: Buffer) => {
        first = chunk;
        socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const { tls, store } = client(upstreamTls(mtls()));
      const error = await failure(tls, (plain.address() as AddressInfo).port);
      assert.equal(tlsFailureOf(error), 'handshake', error.message);
      assert.equal(ssl(store, 'connection_error'), 1);
      assert.equal(first?.[0], 0x16, 'a TLS handshake record');
      assert.equal(first?.[5], 0x01, 'a ClientHello');
    } finally {
      await new Promise<void>((resolve) => plain.close(() => resolve()));
    }
  });
});
