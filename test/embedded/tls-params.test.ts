// `tls_params` and the DataSource forms of an UpstreamTlsContext, checked against a node `https` server (not ours):
// what the server negotiated (protocol version, cipher, key exchange group) is what the cluster's tls_params allow, a server
// outside them fails the handshake with the typed error, and a CA given as `inline_bytes` or through an
// `environment_variable` verifies like one given as a file. Certificates are made by openssl at test time.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpsServer, type Server as HttpsServer, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { createMesh } from '@xmesh/client';
import { bootstrap } from '../support/mesh-config.js';
import { standardPki } from '../support/pki.js';

const pki = standardPki();
after(() => pki.dispose());

const TLS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

interface Negotiated {
  readonly protocol: string | null;
  readonly cipher: string;
}

/** An https server (requestCert) with `options` on top; records what each request's connection negotiated. */
async function httpsServer(options: ServerOptions, seen: Negotiated[]): Promise<{ server: HttpsServer; address: string }> {
  const server = createHttpsServer({ cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true, ...options }, (req, res) => {
    const socket = req.socket as TLSSocket;
    seen.push({ protocol: socket.getProtocol(), cipher: socket.getCipher().name });
    res.end('ok');
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, address: `127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function tlsConfig(address: string, common: Record<string, unknown>): object {
  const b = bootstrap({ routes: [{ prefix: '/', cluster: 'c' }], clusters: { c: [address] } }) as { static_resources: { clusters: Record<string, unknown>[] } };
  b.static_resources.clusters[0]!['transport_socket'] = {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': TLS_TYPE,
      common_tls_context: {
        tls_certificates: [{ certificate_chain: { filename: pki.client.certPath }, private_key: { filename: pki.client.keyPath } }],
        validation_context: { trusted_ca: { filename: pki.ca.certPath } },
        ...common,
      },
    },
  };
  return b;
}

async function fetchOnce(config: object): Promise<{ status: number; code: string | null }> {
  const mesh = await createMesh({ config, env: {} });
  try {
    const res = await mesh.fetch('http://api.default.svc/');
    await res.arrayBuffer();
    return { status: res.status, code: res.headers.get('x-xmesh-error-code') };
  } finally {
    await mesh.close();
  }
}

describe('tls_params against a node https server', () => {
  const seen: Negotiated[] = [];
  let tls12: { server: HttpsServer; address: string };
  before(async () => {
    tls12 = await httpsServer({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }, seen);
  });
  after(() => new Promise<void>((resolve) => tls12.server.close(() => resolve())));

  test('protocol versions, cipher suite and signature algorithms are the ones the cluster allows', async () => {
    const result = await fetchOnce(tlsConfig(tls12.address, {
      tls_params: {
        tls_minimum_protocol_version: 'TLSv1_2',
        tls_maximum_protocol_version: 'TLSv1_2',
        cipher_suites: ['ECDHE-ECDSA-CHACHA20-POLY1305'],
        signature_algorithms: ['ecdsa_secp256r1_sha256'],
      },
    }));
    assert.deepEqual(result, { status: 200, code: null });
    assert.equal(seen.at(-1)?.protocol, 'TLSv1.2');
    assert.equal(seen.at(-1)?.cipher, 'ECDHE-ECDSA-CHACHA20-POLY1305');
    // Only RSA signatures allowed: the server's ECDSA certificate cannot sign the handshake.
    const rsaOnly = await fetchOnce(tlsConfig(tls12.address, { tls_params: { signature_algorithms: ['rsa_pss_rsae_sha256'] } }));
    assert.deepEqual(rsaOnly, { status: 503, code: 'XMESH_TLS_HANDSHAKE_FAILED' });
  });

  test('ecdh_curves limits the key exchange: in TLS 1.2 the server\'s P-256 certificate needs P-256 offered (RFC 8422)', async () => {
    const result = await fetchOnce(tlsConfig(tls12.address, { tls_params: { ecdh_curves: ['P-384'] } }));
    assert.deepEqual(result, { status: 503, code: 'XMESH_TLS_HANDSHAKE_FAILED' });
  });

  test('a server outside tls_minimum_protocol_version fails the handshake with the typed error', async () => {
    const before = seen.length;
    const result = await fetchOnce(tlsConfig(tls12.address, { tls_params: { tls_minimum_protocol_version: 'TLSv1_3', tls_maximum_protocol_version: 'TLSv1_3' } }));
    assert.deepEqual(result, { status: 503, code: 'XMESH_TLS_HANDSHAKE_FAILED' });
    assert.equal(seen.length, before, 'no request reached the server');
  });

  test('a cipher suite the server does not offer fails the handshake', async () => {
    const result = await fetchOnce(tlsConfig(tls12.address, {
      tls_params: { tls_maximum_protocol_version: 'TLSv1_2', cipher_suites: ['ECDHE-RSA-AES128-GCM-SHA256'] },
    }));
    assert.deepEqual(result, { status: 503, code: 'XMESH_TLS_HANDSHAKE_FAILED' });
  });
});

describe('TLS 1.3 and the DataSource forms of the trusted CA', () => {
  const seen: Negotiated[] = [];
  let server: { server: HttpsServer; address: string };
  before(async () => {
    server = await httpsServer({}, seen);
  });
  after(() => new Promise<void>((resolve) => server.server.close(() => resolve())));

  test('ecdh_curves picks the TLS 1.3 key exchange groups offered: a P-384-only server accepts P-384, refuses P-256', async () => {
    const p384 = await httpsServer({ ecdhCurve: 'P-384' }, seen);
    try {
      const offering = (curves: string[]) => tlsConfig(p384.address, { tls_params: { tls_maximum_protocol_version: 'TLSv1_3', ecdh_curves: curves } });
      assert.deepEqual(await fetchOnce(offering(['P-384'])), { status: 200, code: null });
      assert.equal(seen.at(-1)?.protocol, 'TLSv1.3');
      assert.deepEqual(await fetchOnce(offering(['P-256'])), { status: 503, code: 'XMESH_TLS_HANDSHAKE_FAILED' });
    } finally {
      await new Promise<void>((resolve) => p384.server.close(() => resolve()));
    }
  });

  test('inline_bytes (base64, as proto3 JSON writes bytes) verifies like the file; the other CA does not', async () => {
    const bytes = (pem: string) => ({ validation_context: { trusted_ca: { inline_bytes: Buffer.from(pem).toString('base64') } } });
    assert.deepEqual(await fetchOnce(tlsConfig(server.address, bytes(pki.ca.cert))), { status: 200, code: null });
    assert.deepEqual(await fetchOnce(tlsConfig(server.address, bytes(pki.otherCa.cert))), { status: 503, code: 'XMESH_TLS_HANDSHAKE_FAILED' });
  });

  test('environment_variable reads the CA from the process environment', async () => {
    process.env['XMESH_TEST_TRUSTED_CA'] = pki.ca.cert;
    process.env['XMESH_TEST_OTHER_CA'] = pki.otherCa.cert;
    try {
      const fromEnv = (name: string) => ({ validation_context: { trusted_ca: { environment_variable: name } } });
      assert.deepEqual(await fetchOnce(tlsConfig(server.address, fromEnv('XMESH_TEST_TRUSTED_CA'))), { status: 200, code: null });
      assert.deepEqual(await fetchOnce(tlsConfig(server.address, fromEnv('XMESH_TEST_OTHER_CA'))), { status: 503, code: 'XMESH_TLS_HANDSHAKE_FAILED' });
    } finally {
      delete process.env['XMESH_TEST_TRUSTED_CA'];
      delete process.env['XMESH_TEST_OTHER_CA'];
    }
  });
});
