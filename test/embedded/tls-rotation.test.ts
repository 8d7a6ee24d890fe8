// Rotation under load: the client certificate changes every 200 ms (a gRFC A29 file_watcher provider) while 16
// calls at a time run for 5 s against a stock grpc-js server that requires client certificates. No call may fail;
// on the transports that drain (lean, the sidecar's upstream sessions) new connections present the new
// certificates. Certificates come from openssl.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createMesh, type Mesh } from '@xmesh/client';
import { startSidecar } from '@xmesh/sidecar';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { bootstrap } from '../support/mesh-config.js';
import { unary } from '../support/grpc-call.js';
import { standardPki } from '../support/pki.js';

const { EchoClient: EchoCtor } = loadEcho();
const pki = standardPki();
const IDENTITIES = Array.from({ length: 6 }, (_, i) => pki.issue(`rot-${i}`, { sans: [`URI:spiffe://xmesh.test/ns/default/sa/rot-${i}`] }));
const CONCURRENCY = 16;
const RUN_MS = 5_000;
const ROTATE_MS = 200;
after(() => pki.dispose());

function replace(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

/** A cluster `c` whose TLS identity comes from certificate provider `workload`. */
function config(address: string, metadata: Record<string, unknown> = {}): object {
  const b = bootstrap({ routes: [{ prefix: '/', cluster: 'c' }], clusters: { c: [address] }, http2: ['c'] }) as { static_resources: { clusters: Record<string, unknown>[] } };
  Object.assign(b.static_resources.clusters[0]!, metadata, {
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        common_tls_context: {
          tls_certificate_provider_instance: { instance_name: 'workload' },
          validation_context: { ca_certificate_provider_instance: { instance_name: 'workload' } },
        },
      },
    },
  });
  return b;
}

/** Runs calls at CONCURRENCY for RUN_MS while rotating the identity every ROTATE_MS; returns the counts. */
async function underRotation(call: () => Promise<unknown>, certFile: string, keyFile: string): Promise<{ ok: number; failed: string[]; rotations: number }> {
  const stopAt = process.hrtime.bigint() + BigInt(RUN_MS) * 1_000_000n;
  const done = () => process.hrtime.bigint() >= stopAt;
  let ok = 0;
  const failed: string[] = [];
  let rotations = 0;
  const rotator = (async () => {
    while (!done()) {
      await new Promise((resolve) => setTimeout(resolve, ROTATE_MS));
      const next = IDENTITIES[++rotations % IDENTITIES.length]!;
      // Key first, then certificate: a poll between the two sees a mismatched pair and keeps the last good one.
      replace(keyFile, next.key);
      replace(certFile, next.cert);
    }
  })();
  const worker = async () => {
    while (!done()) {
      try {
        await call();
        ok++;
      } catch (error) {
        failed.push(String((error as Error).message));
      }
    }
  };
  await Promise.all([rotator, ...Array.from({ length: CONCURRENCY }, worker)]);
  return { ok, failed, rotations };
}

describe('certificates rotated every 200 ms under load (c=16, 5 s)', () => {
  let server: EchoServer;
  const seenSans = new Set<string>();
  before(async () => {
    server = await startEchoServer('tls', grpc.ServerCredentials.createSsl(Buffer.from(pki.ca.cert), [{ cert_chain: Buffer.from(pki.server.cert), private_key: Buffer.from(pki.server.key) }], true));
  });
  after(() => server.close());

  for (const transport of ['lean', 'grpc-js', 'fast unary'] as const) {
    test(`${transport}: zero failed calls${transport === 'grpc-js' ? '' : '; new connections present the new certificates'}`, async (t) => {
      const certFile = join(pki.dir, `${transport}-id.pem`);
      const keyFile = join(pki.dir, `${transport}-id.key`);
      replace(certFile, IDENTITIES[0]!.cert);
      replace(keyFile, IDENTITIES[0]!.key);
      const xmesh = transport === 'grpc-js' ? { metadata: { filter_metadata: { xmesh: { transport: 'grpc-js' } } } } : {};
      const mesh: Mesh = await createMesh({
        config: config(server.address, xmesh),
        certificateProviders: { workload: { certificateFile: certFile, privateKeyFile: keyFile, caCertificateFile: pki.ca.certPath, refreshIntervalMs: 20 } },
      });
      const echo = mesh.grpcClient(EchoCtor, 'echo.default.svc:80') as EchoClient;
      seenSans.clear();
      const record = () => {
        if (server.lastPeerSan) seenSans.add(server.lastPeerSan);
      };
      try {
        const call = transport === 'fast unary'
          ? () => mesh.unary('echo.default.svc:80', '/xmesh.echo.Echo/Echo', Buffer.from([0x0a, 0x01, 0x78]), { deadline: Date.now() + 10_000 }).then(record)
          : () => unary(echo, { message: 'r' }, { deadline: Date.now() + 10_000 }).then(record);
        const result = await underRotation(call, certFile, keyFile);
        assert.deepEqual(result.failed.slice(0, 3), [], `${result.failed.length} of ${result.ok + result.failed.length} calls failed`);
        assert.ok(result.ok > 100, `only ${result.ok} calls`);
        assert.ok(result.rotations >= 10, `${result.rotations} rotations`);
        const handshakes = mesh.observability.store.value('cluster.c.ssl.handshake');
        t.diagnostic(`${result.ok} calls, 0 failed, ${result.rotations} rotations, ${handshakes} handshakes, ${seenSans.size} identities seen by the server`);
        if (transport !== 'grpc-js') {
          // Rotations land on new connections: the server saw several identities, handshakes follow rotations, not calls.
          assert.ok(seenSans.size >= 3, `identities seen by the server: ${[...seenSans].join(', ')}`);
          assert.ok(handshakes >= 3 && handshakes < result.ok / 4, `${handshakes} handshakes for ${result.ok} calls`);
        }
      } finally {
        echo.close();
        await mesh.close();
      }
    });
  }

  test('sidecar: its upstream mTLS identity rotates under load through it, no failed call', async (t) => {
    const certFile = join(pki.dir, 'sidecar-id.pem');
    const keyFile = join(pki.dir, 'sidecar-id.key');
    replace(certFile, IDENTITIES[0]!.cert);
    replace(keyFile, IDENTITIES[0]!.key);
    seenSans.clear();
    const sidecar = await startSidecar({
      config: config(server.address), listen: '127.0.0.1:0', admin: false,
      certificateProviders: { workload: { certificateFile: certFile, privateKeyFile: keyFile, caCertificateFile: pki.ca.certPath, refreshIntervalMs: 20 } },
    });
    const echo = new EchoCtor(sidecar.target, grpc.credentials.createInsecure()) as EchoClient;
    try {
      const result = await underRotation(() => unary(echo, { message: 's' }, { deadline: Date.now() + 10_000 }).then(() => {
        if (server.lastPeerSan) seenSans.add(server.lastPeerSan);
      }), certFile, keyFile);
      assert.deepEqual(result.failed.slice(0, 3), [], `${result.failed.length} of ${result.ok + result.failed.length} calls failed`);
      assert.ok(seenSans.size >= 3, `identities seen: ${[...seenSans].join(', ')}`);
      t.diagnostic(`${result.ok} calls, 0 failed, ${result.rotations} rotations, ${seenSans.size} identities seen by the server`);
    } finally {
      echo.close();
      await sidecar.close();
    }
  });
});
