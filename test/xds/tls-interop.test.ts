// Interop with the stock @grpc/grpc-js-xds 1.14 security stack (gRFC A29 / A36), configured by xmesh's control
// plane: (a) a grpc-js-xds client with XdsChannelCredentials gets its mTLS config (certificate provider instances
// of its bootstrap) from `ControlPlane` and calls a server that requires client certificates; (b) a grpc-js-xds
// XdsServer gets its DownstreamTlsContext from `ControlPlane`, and xmesh calls it with mTLS, embedded and through
// the sidecar; (c) both sides' certificates rotate (files rewritten) while calls run, and no call fails.
// grpc-js-xds reads its bootstrap once per process (this file runs in its own process under node --test).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { freePort } from '../../scripts/free-port.mjs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ControlPlane, silentLogger } from '@xmesh/control-plane';
import { createMesh } from '@xmesh/client';
import { startSidecar } from '@xmesh/sidecar';
import { TypeUrl } from '@xmesh/xds';
import { loadEcho, startEchoServer, type EchoClient, type EchoReply, type EchoRequest, type EchoServer } from '../support/echo-server.js';
import { bootstrap } from '../support/mesh-config.js';
import { unary } from '../support/grpc-call.js';
import { standardPki, type Issued } from '../support/pki.js';
import { echoListener, echoRoutes, edsCluster, loadAssignment } from './echo-resources.js';

const { EchoClient: EchoCtor, service } = loadEcho();
const pki = standardPki();
const SERVER_SPIFFE = 'spiffe://xmesh.test/ns/default/sa/server';
const LISTENER_TEMPLATE = 'grpc/server?xds.resource.listening_address=%s';
const files = {
  clientCert: join(pki.dir, 'xds-client.pem'), clientKey: join(pki.dir, 'xds-client.key'),
  serverCert: join(pki.dir, 'xds-server.pem'), serverKey: join(pki.dir, 'xds-server.key'),
};
const clientIds = [0, 1, 2].map((i) => pki.issue(`xds-client-${i}`, { sans: [`URI:spiffe://xmesh.test/ns/default/sa/xds-client-${i}`] }));
const serverIds = [0, 1, 2].map((i) => pki.issue(`xds-server-${i}`, { sans: ['DNS:server.test', `URI:${SERVER_SPIFFE}`, 'IP:127.0.0.1'] }));
const TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

function replace(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

function useIdentity(cert: string, key: string, id: Issued): void {
  replace(key, id.key);
  replace(cert, id.cert);
}


const plane = new ControlPlane({ logger: silentLogger });
let backend: EchoServer;
let xdsServerPort = 0;
let xdsServer: grpc.Server | undefined;
let serverPeers: string[] = [];
after(async () => {
  await plane.close();
  pki.dispose();
});

before(async () => {
  useIdentity(files.clientCert, files.clientKey, clientIds[0]!);
  useIdentity(files.serverCert, files.serverKey, serverIds[0]!);
  backend = await startEchoServer('backend', grpc.ServerCredentials.createSsl(Buffer.from(pki.ca.cert), [{ cert_chain: Buffer.from(pki.server.cert), private_key: Buffer.from(pki.server.key) }], true));
  xdsServerPort = await freePort();
  const cluster = {
    ...edsCluster('backend'),
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': TLS,
        common_tls_context: {
          tls_certificate_provider_instance: { instance_name: 'client_id' },
          combined_validation_context: {
            default_validation_context: {
              ca_certificate_provider_instance: { instance_name: 'client_id' },
              match_subject_alt_names: [{ exact: SERVER_SPIFFE }],
            },
          },
        },
      },
    },
  };
  const serverAddress = `127.0.0.1:${xdsServerPort}`;
  const serverListener = {
    '@type': TypeUrl.Listener,
    name: LISTENER_TEMPLATE.replace('%s', serverAddress),
    address: { socket_address: { address: '127.0.0.1', port_value: xdsServerPort } },
    filter_chains: [{
      name: 'mtls',
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': TypeUrl.HttpConnectionManager,
          stat_prefix: 'in',
          route_config: { name: 'in', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '' }, non_forwarding_action: {} }] }] },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }],
        },
      }],
      transport_socket: {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type': TypeUrl.DownstreamTlsContext,
          require_client_certificate: true,
          common_tls_context: {
            tls_certificate_provider_instance: { instance_name: 'server_id' },
            validation_context: { ca_certificate_provider_instance: { instance_name: 'server_id' } },
          },
        },
      },
    }],
  };
  // The grpc-js-xds process serves as client and server: one node, one snapshot with both sides' resources.
  plane.setSnapshot('v1', [echoListener(), echoRoutes({ split: { backend: 1 } }), cluster, loadAssignment('backend', [backend.port]), serverListener]);
  const port = await plane.listen(0);
  const provider = (cert: string, key: string) => ({ plugin_name: 'file_watcher', config: { certificate_file: cert, private_key_file: key, ca_certificate_file: pki.ca.certPath, refresh_interval: '0.1s' } });
  process.env['GRPC_XDS_BOOTSTRAP_CONFIG'] = JSON.stringify({
    xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'grpc-js-xds', locality: { zone: 'a' } },
    certificate_providers: { client_id: provider(files.clientCert, files.clientKey), server_id: provider(files.serverCert, files.serverKey) },
    server_listener_resource_name_template: LISTENER_TEMPLATE,
  });
  const xds = await import('@grpc/grpc-js-xds');
  xds.register();
  const server = new xds.XdsServer();
  server.addService(service, {
    Echo: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => {
      serverPeers.push(call.getAuthContext().sslPeerCertificate?.subjectaltname ?? '(none)');
      callback(null, { message: call.request.message ?? '', payload: Buffer.alloc(0), server: 'xds-server' });
    },
  });
  await new Promise<void>((resolve, reject) => server.bindAsync(serverAddress, new xds.XdsServerCredentials(grpc.ServerCredentials.createInsecure()), (error) => (error ? reject(error) : resolve())));
  xdsServer = server;
});

after(async () => {
  await new Promise<void>((resolve) => (xdsServer ? xdsServer.tryShutdown(() => resolve()) : resolve()));
  await backend.close();
});

/** An xmesh cluster to the XdsServer: mTLS with our own certificate files, the server's SPIFFE id checked. */
function toXdsServer(client: Issued = pki.client, pin?: string): object {
  const b = bootstrap({ routes: [{ prefix: '/', cluster: 'xds-server' }], clusters: { 'xds-server': [`127.0.0.1:${xdsServerPort}`] }, http2: ['xds-server'] }) as { static_resources: { clusters: Record<string, unknown>[] } };
  b.static_resources.clusters[0]!['transport_socket'] = {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': TLS,
      common_tls_context: {
        tls_certificates: [{ certificate_chain: { filename: client.certPath }, private_key: { filename: client.keyPath } }],
        validation_context: {
          trusted_ca: { filename: pki.ca.certPath },
          match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: SERVER_SPIFFE } }],
          ...(pin === undefined ? {} : { verify_certificate_hash: [pin] }),
        },
      },
    },
  };
  return b;
}

const hashOf = (id: Issued) => createHash('sha256').update(new X509Certificate(id.cert).raw).digest('hex');

describe('interop with stock @grpc/grpc-js-xds security (A29/A36), configured by xmesh control-plane', () => {
  test('(a) a grpc-js-xds client with XdsChannelCredentials calls an mTLS server with the certificates its bootstrap provides', async () => {
    const xds = await import('@grpc/grpc-js-xds');
    const client = new EchoCtor('xds:///echo.default.svc', new xds.XdsChannelCredentials(grpc.credentials.createInsecure()), { 'grpc.use_local_subchannel_pool': 1 }) as EchoClient;
    try {
      assert.equal((await unary(client, { message: 'a29' }, { deadline: Date.now() + 20_000 })).message, 'a29');
      assert.equal(backend.lastPeerSan, 'URI:spiffe://xmesh.test/ns/default/sa/xds-client-0');
    } finally {
      client.close();
    }
  });

  test('(b) xmesh calls the grpc-js-xds XdsServer (DownstreamTlsContext from xmesh control-plane) with mTLS: embedded and through the sidecar', async () => {
    const mesh = await createMesh({ config: toXdsServer() });
    const echo = mesh.grpcClient(EchoCtor, 'echo.default.svc:80') as EchoClient;
    const sidecar = await startSidecar({ config: toXdsServer(), listen: '127.0.0.1:0', admin: false });
    const viaSidecar = new EchoCtor(sidecar.target, grpc.credentials.createInsecure()) as EchoClient;
    try {
      serverPeers = [];
      assert.equal((await unary(echo, { message: 'embedded' }, { deadline: Date.now() + 20_000 })).server, 'xds-server');
      assert.equal((await unary(viaSidecar, { message: 'sidecar' }, { deadline: Date.now() + 20_000 })).server, 'xds-server');
      assert.deepEqual(serverPeers, ['URI:spiffe://xmesh.test/ns/default/sa/client', 'URI:spiffe://xmesh.test/ns/default/sa/client']);
      // Without a client certificate the XdsServer refuses: it requires one (A29 require_client_certificate).
      const anonymous = bootstrap({ routes: [{ prefix: '/', cluster: 'x' }], clusters: { x: [`127.0.0.1:${xdsServerPort}`] }, http2: ['x'] }) as { static_resources: { clusters: Record<string, unknown>[] } };
      anonymous.static_resources.clusters[0]!['transport_socket'] = { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TLS, common_tls_context: { validation_context: { trusted_ca: { filename: pki.ca.certPath } } } } };
      const noCert = await createMesh({ config: anonymous });
      const refused = noCert.grpcClient(EchoCtor, 'echo.default.svc:80') as EchoClient;
      try {
        const error = await unary(refused, { message: 'x' }, { deadline: Date.now() + 10_000 }).then(() => undefined, (e: grpc.ServiceError) => e);
        assert.equal(error?.code, grpc.status.UNAVAILABLE);
        assert.equal(error?.metadata.get('x-xmesh-error-code')[0], 'XMESH_TLS_HANDSHAKE_FAILED', error?.details);
      } finally {
        refused.close();
        await noCert.close();
      }
    } finally {
      echo.close();
      viaSidecar.close();
      await mesh.close();
      await sidecar.close();
    }
  });

  test('(c) both sides rotate their certificates (files rewritten) while calls run: none fails; new connections use the new ones', async () => {
    const xds = await import('@grpc/grpc-js-xds');
    const xdsClient = new EchoCtor('xds:///echo.default.svc', new xds.XdsChannelCredentials(grpc.credentials.createInsecure()), { 'grpc.use_local_subchannel_pool': 1 }) as EchoClient;
    const mesh = await createMesh({ config: toXdsServer() });
    const echo = mesh.grpcClient(EchoCtor, 'echo.default.svc:80') as EchoClient;
    const failures: string[] = [];
    let calls = 0;
    const stopAt = process.hrtime.bigint() + 2_000_000_000n;
    const running = () => process.hrtime.bigint() < stopAt;
    const load = async (client: EchoClient) => {
      while (running()) {
        try {
          await unary(client, { message: 'r' }, { deadline: Date.now() + 10_000 });
          calls++;
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
    };
    const rotate = async () => {
      for (let i = 1; running(); i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        useIdentity(files.clientCert, files.clientKey, clientIds[i % 3]!);
        useIdentity(files.serverCert, files.serverKey, serverIds[i % 3]!);
      }
    };
    try {
      await Promise.all([rotate(), ...Array.from({ length: 4 }, () => load(xdsClient)), ...Array.from({ length: 4 }, () => load(echo))]);
      assert.deepEqual(failures.slice(0, 3), [], `${failures.length} failed of ${calls + failures.length}`);
      assert.ok(calls > 50, `${calls} calls`);
      // Settle on identity 2 on both sides; new connections then carry it.
      useIdentity(files.clientCert, files.clientKey, clientIds[2]!);
      useIdentity(files.serverCert, files.serverKey, serverIds[2]!);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const fresh = new EchoCtor('xds:///echo.default.svc', new xds.XdsChannelCredentials(grpc.credentials.createInsecure()), { 'grpc.use_local_subchannel_pool': 1 }) as EchoClient;
      try {
        await unary(fresh, { message: 'fresh' }, { deadline: Date.now() + 20_000 });
        assert.equal(backend.lastPeerSan, 'URI:spiffe://xmesh.test/ns/default/sa/xds-client-2');
      } finally {
        fresh.close();
      }
      // A new xmesh connection sees the XdsServer's rotated certificate: pinned to it, the call passes.
      const pinned = await createMesh({ config: toXdsServer(pki.client, hashOf(serverIds[2]!)) });
      const pinnedEcho = pinned.grpcClient(EchoCtor, 'echo.default.svc:80') as EchoClient;
      try {
        assert.equal((await unary(pinnedEcho, { message: 'pinned' }, { deadline: Date.now() + 20_000 })).server, 'xds-server');
      } finally {
        pinnedEcho.close();
        await pinned.close();
      }
    } finally {
      xdsClient.close();
      echo.close();
      await mesh.close();
    }
  });
});
