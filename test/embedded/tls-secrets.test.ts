// Secrets by reference, each rotated while the mesh runs: an SDS file (path_config_source), Secrets over ADS from
// `xmesh control-plane` (certificate files it watches; SotW and delta), and gRFC A29 certificate providers in the
// xDS bootstrap. Also Istio's auto-mTLS shape: transport_socket_matches by endpoint metadata, plaintext fallback.
// Peers: stock grpc-js servers with ServerCredentials.createSsl(ca, [...], true); certificates from openssl.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createMesh, type Mesh } from '@xmesh/client';
import { ControlPlane, serveFile, silentLogger, type FileSource } from '@xmesh/control-plane';
import type { XdsBootstrap } from '@xmesh/discovery';
import { loadEnvoyProtos, TypeUrl } from '@xmesh/xds';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { bootstrap } from '../support/mesh-config.js';
import { unary } from '../support/grpc-call.js';
import { standardPki, type Issued } from '../support/pki.js';
import { echoListener, echoRoutes, loadAssignment } from '../xds/echo-resources.js';

const { EchoClient: EchoCtor } = loadEcho();
const pki = standardPki();
const protos = loadEnvoyProtos();
const TARGET = 'echo.default.svc:80';
const A_SAN = 'URI:spiffe://xmesh.test/ns/default/sa/client-a';
const B_SAN = 'URI:spiffe://xmesh.test/ns/default/sa/client-b';
const clientA = pki.issue('client-a', { sans: [A_SAN] });
const clientB = pki.issue('client-b', { sans: [B_SAN] });
after(() => pki.dispose());

const TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const mtlsServerCredentials = () => grpc.ServerCredentials.createSsl(Buffer.from(pki.ca.cert), [{ cert_chain: Buffer.from(pki.server.cert), private_key: Buffer.from(pki.server.key) }], true);

/** Writes `text` to `path` atomically (a rename), as certificate rotation tools do. */
function replace(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

/** Certificate and key files holding client A's identity, to rotate in place. */
function identityFiles(prefix: string): { certFile: string; keyFile: string } {
  const certFile = join(pki.dir, `${prefix}.pem`);
  const keyFile = join(pki.dir, `${prefix}.key`);
  replace(certFile, clientA.cert);
  replace(keyFile, clientA.key);
  return { certFile, keyFile };
}

/** An EDS cluster `tls` whose transport socket carries `commonTlsContext`. */
function tlsEdsCluster(commonTlsContext: Record<string, unknown>): Record<string, unknown> {
  return {
    '@type': TypeUrl.Cluster, name: 'tls', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } },
    transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TLS, common_tls_context: commonTlsContext } },
  };
}

/** Calls until the server saw `san` (rotation is asynchronous), failing on any failed call. */
async function untilPeer(echo: EchoClient, server: EchoServer, san: string): Promise<void> {
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    await unary(echo, { message: 'x' }, { deadline: Date.now() + 10_000 });
    if (server.lastPeerSan === san) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail(`the server never saw ${san} (last: ${server.lastPeerSan})`);
}

describe('secrets by reference, rotated', () => {
  let server: EchoServer;
  before(async () => (server = await startEchoServer('tls', mtlsServerCredentials())));
  after(() => server.close());

  test('SDS file (sds_config.path_config_source): read at start, re-read when rewritten; a bad rewrite keeps the last good', async () => {
    const sdsFile = join(pki.dir, 'sds.yaml');
    const secretsYaml = (client: Issued) => JSON.stringify({ resources: [
      { '@type': TypeUrl.Secret, name: 'client-cert', tls_certificate: { certificate_chain: { inline_string: client.cert }, private_key: { inline_string: client.key } } },
      { '@type': TypeUrl.Secret, name: 'mesh-ca', validation_context: { trusted_ca: { inline_string: pki.ca.cert } } },
    ] });
    replace(sdsFile, secretsYaml(clientA));
    const sds = { path_config_source: { path: sdsFile } };
    const config = bootstrap({ routes: [{ prefix: '/', cluster: 'c' }], clusters: { c: [server.address] } }) as { static_resources: { clusters: Record<string, unknown>[] } };
    config.static_resources.clusters[0]!['transport_socket'] = {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': TLS,
        common_tls_context: {
          tls_certificate_sds_secret_configs: [{ name: 'client-cert', sds_config: sds }],
          validation_context_sds_secret_config: { name: 'mesh-ca', sds_config: sds },
        },
      },
    };
    const mesh = await createMesh({ config });
    const rejected: string[] = [];
    mesh.on('config.rejected', ({ errors }) => rejected.push(errors.map((e) => e.message).join('; ')));
    const echo = mesh.grpcClient(EchoCtor, TARGET) as EchoClient;
    try {
      await untilPeer(echo, server, A_SAN);
      replace(sdsFile, 'resources: [ {"@type": "not a secret"');
      for (let i = 0; i < 500 && rejected.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.match(rejected[0] ?? '', /kept the last good secrets/);
      await untilPeer(echo, server, A_SAN);
      replace(sdsFile, secretsYaml(clientB));
      await untilPeer(echo, server, B_SAN);
    } finally {
      echo.close();
      await mesh.close();
    }
  });

  for (const mode of ['sotw', 'delta'] as const) {
    test(`Secrets over ADS (${mode}) from xmesh control-plane serving certificate files it watches: rotation is a push`, async () => {
      const dir = pki.dir;
      const { certFile, keyFile } = identityFiles(`ads-${mode}-client`);
      const cluster = tlsEdsCluster({
        tls_certificate_sds_secret_configs: [{ name: 'client-cert', sds_config: { ads: {} } }],
        validation_context_sds_secret_config: { name: 'mesh-ca', sds_config: { ads: {} } },
      });
      const resources = [
        echoListener(), echoRoutes({ split: { tls: 1 } }), cluster, loadAssignment('tls', [server.port]),
        { '@type': TypeUrl.Secret, name: 'client-cert', tls_certificate: { certificate_chain: { filename: certFile }, private_key: { filename: keyFile } } },
        { '@type': TypeUrl.Secret, name: 'mesh-ca', validation_context: { trusted_ca: { filename: pki.ca.certPath } } },
      ];
      const served = join(dir, `cp-${mode}.json`);
      writeFileSync(served, JSON.stringify({ resources }));
      const plane = new ControlPlane({ protos, logger: silentLogger });
      let file: FileSource | undefined;
      let mesh: Mesh | undefined;
      let echo: EchoClient | undefined;
      try {
        file = await serveFile(plane, served, { debounceMs: 20 });
        const port = await plane.listen(0);
        const xds: XdsBootstrap = {
          xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: mode === 'delta' ? ['xds_v3', 'xmesh_delta'] : ['xds_v3'] }],
          node: { id: `tls-${mode}` },
        };
        mesh = await createMesh({ xds, listener: 'echo.default.svc' });
        echo = mesh.grpcClient(EchoCtor, TARGET) as EchoClient;
        await untilPeer(echo, server, A_SAN);
        const before = file.version;
        replace(certFile, clientB.cert);
        replace(keyFile, clientB.key);
        await untilPeer(echo, server, B_SAN);
        assert.notEqual(file.version, before, 'the control plane served a new version');
      } finally {
        echo?.close();
        await mesh?.close();
        file?.close();
        await plane.close();
      }
    });
  }

  test('gRFC A29: bootstrap certificate_providers (file_watcher) named by the control plane\'s cluster', async () => {
    const { certFile, keyFile } = identityFiles('provider-client');
    const cluster = tlsEdsCluster({
      tls_certificate_provider_instance: { instance_name: 'workload', certificate_name: 'default' },
      combined_validation_context: {
        default_validation_context: {
          ca_certificate_provider_instance: { instance_name: 'workload', certificate_name: 'ROOTCA' },
          match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: 'spiffe://xmesh.test/ns/default/sa/server' } }],
        },
      },
    });
    const plane = new ControlPlane({ protos, logger: silentLogger });
    plane.setSnapshot('v1', [echoListener(), echoRoutes({ split: { tls: 1 } }), cluster, loadAssignment('tls', [server.port])]);
    const port = await plane.listen(0);
    const xds: XdsBootstrap = {
      xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'a29' },
      certificate_providers: {
        workload: { plugin_name: 'file_watcher', config: { certificate_file: certFile, private_key_file: keyFile, ca_certificate_file: pki.ca.certPath, refresh_interval: '0.05s' } },
      },
    };
    const mesh = await createMesh({ xds, listener: 'echo.default.svc' });
    const echo = mesh.grpcClient(EchoCtor, TARGET) as EchoClient;
    try {
      await untilPeer(echo, server, A_SAN);
      replace(certFile, clientB.cert);
      replace(keyFile, clientB.key);
      await untilPeer(echo, server, B_SAN);
    } finally {
      echo.close();
      await mesh.close();
      await plane.close();
    }
  });
});

describe('transport_socket_matches (Istio auto-mTLS shape)', () => {
  test('endpoints labelled tlsMode: istio get mTLS, the others plaintext', async () => {
    const secure = await startEchoServer('secure', mtlsServerCredentials());
    const plain = await startEchoServer('plain');
    const config = bootstrap({ routes: [{ prefix: '/', cluster: 'c' }], clusters: { c: [secure.address, plain.address] } }) as {
      static_resources: { clusters: { load_assignment: { endpoints: { lb_endpoints: Record<string, unknown>[] }[] } }[] & Record<string, unknown>[] };
    };
    const c = config.static_resources.clusters[0]!;
    c.load_assignment.endpoints[0]!.lb_endpoints[0]!['metadata'] = { filter_metadata: { 'envoy.transport_socket_match': { tlsMode: 'istio' } } };
    Object.assign(c, {
      transport_socket_matches: [
        {
          name: 'tlsMode-istio',
          match: { tlsMode: 'istio' },
          transport_socket: {
            name: 'envoy.transport_sockets.tls',
            typed_config: {
              '@type': TLS,
              common_tls_context: {
                tls_certificates: [{ certificate_chain: { filename: pki.client.certPath }, private_key: { filename: pki.client.keyPath } }],
                validation_context: { trusted_ca: { filename: pki.ca.certPath } },
              },
            },
          },
        },
        { name: 'tlsMode-disabled', match: {}, transport_socket: { name: 'envoy.transport_sockets.raw_buffer' } },
      ],
    });
    const mesh = await createMesh({ config });
    const echo = mesh.grpcClient(EchoCtor, TARGET) as EchoClient;
    try {
      const seen = new Set<string>();
      for (let i = 0; i < 10; i++) seen.add((await unary(echo, { message: 'x' })).server.split('@')[0]!);
      assert.deepEqual([...seen].sort(), ['plain', 'secure']);
      assert.equal(secure.lastPeerSan, 'URI:spiffe://xmesh.test/ns/default/sa/client');
      assert.equal(mesh.observability.store.value('cluster.c.ssl.handshake'), 1);
    } finally {
      echo.close();
      await mesh.close();
      await Promise.all([secure.close(), plain.close()]);
    }
  });
});
