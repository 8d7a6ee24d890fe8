import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenerResourceName, resolveBootstrap, DELTA_SERVER_FEATURE } from './index.js';

const good = {
  xds_servers: [{ server_uri: '127.0.0.1:18000', channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
  node: { id: 'n', cluster: 'c', locality: { zone: 'z' }, metadata: { k: 'v' } },
};

describe('xDS bootstrap', () => {
  it('reads gRFC A29 certificate_providers (file_watcher) and refuses other plugins', () => {
    const b = resolveBootstrap({
      ...good,
      certificate_providers: {
        workload: { plugin_name: 'file_watcher', config: { certificate_file: '/c.pem', private_key_file: '/k.pem', ca_certificate_file: '/ca.pem', refresh_interval: '30s' } },
        roots: { plugin_name: 'file_watcher', config: { ca_certificate_file: '/ca.pem' } },
      },
    });
    assert.deepEqual({ ...b.certificateProviders }, {
      workload: { certificateFile: '/c.pem', privateKeyFile: '/k.pem', caCertificateFile: '/ca.pem', refreshIntervalMs: 30_000 },
      roots: { certificateFile: undefined, privateKeyFile: undefined, caCertificateFile: '/ca.pem', refreshIntervalMs: 600_000 },
    });
    assert.throws(() => resolveBootstrap({ ...good, certificate_providers: { x: { plugin_name: 'google_cloud_private_spiffe' } } }), /certificate_providers\.x\.plugin_name: only "file_watcher"/);
    assert.throws(() => resolveBootstrap({ ...good, certificate_providers: { x: { plugin_name: 'file_watcher', config: { certificate_file: '/c.pem' } } } }), /go together/);
  });

  it('reads GRPC_XDS_BOOTSTRAP_CONFIG inline JSON as gRPC does; state of the world by default', () => {
    const b = resolveBootstrap(undefined, { GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(good) });
    assert.deepEqual({ ...b, certificateProviders: { ...b.certificateProviders } }, {
      serverUri: '127.0.0.1:18000', delta: false, ignoreResourceDeletion: false, servers: [{ serverUri: '127.0.0.1:18000', delta: false, ignoreResourceDeletion: false }],
      node: good.node, cachePath: undefined, listenerNameTemplate: '%s', certificateProviders: {},
    });
  });

  it('reads ignore_resource_deletion (gRFC A53) and the listener name template (gRFC A47) as gRPC does', () => {
    const b = resolveBootstrap({
      ...good,
      xds_servers: [{ ...good.xds_servers[0]!, server_features: ['xds_v3', 'ignore_resource_deletion'] }],
      client_default_listener_resource_name_template: 'xdstp://mesh/envoy.config.listener.v3.Listener/%s',
    });
    assert.equal(b.ignoreResourceDeletion, true);
    assert.equal(listenerResourceName(b.listenerNameTemplate, 'orders/v1 a'), 'xdstp://mesh/envoy.config.listener.v3.Listener/orders/v1%20a');
    assert.equal(listenerResourceName('%s', 'orders:50051'), 'orders:50051');
    assert.equal(listenerResourceName('prefix-%s', 'orders'), 'prefix-orders');
    assert.throws(() => resolveBootstrap({ ...good, client_default_listener_resource_name_template: 7 } as never), /client_default_listener_resource_name_template: must be a string/);
  });

  it('prefers XMESH_XDS_BOOTSTRAP, then GRPC_XDS_BOOTSTRAP (files), over the inline config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xmesh-bs-'));
    const xmesh = join(dir, 'xmesh.json');
    const grpcFile = join(dir, 'grpc.json');
    writeFileSync(xmesh, JSON.stringify({ ...good, node: { id: 'from-xmesh' } }));
    writeFileSync(grpcFile, JSON.stringify({ ...good, node: { id: 'from-grpc' } }));
    const inline = JSON.stringify({ ...good, node: { id: 'inline' } });
    assert.equal(resolveBootstrap(undefined, { XMESH_XDS_BOOTSTRAP: xmesh, GRPC_XDS_BOOTSTRAP: grpcFile, GRPC_XDS_BOOTSTRAP_CONFIG: inline }).node.id, 'from-xmesh');
    assert.equal(resolveBootstrap(undefined, { GRPC_XDS_BOOTSTRAP: grpcFile, GRPC_XDS_BOOTSTRAP_CONFIG: inline }).node.id, 'from-grpc');
  });

  it(`selects delta when server_features has "${DELTA_SERVER_FEATURE}"`, () => {
    const b = resolveBootstrap({ ...good, xds_servers: [{ ...good.xds_servers[0]!, server_features: ['xds_v3', DELTA_SERVER_FEATURE] }] });
    assert.equal(b.delta, true);
  });

  it('keeps every server of xds_servers in order, each with its own protocol and features (gRFC A71 fallback)', () => {
    const second = { server_uri: '127.0.0.1:18001', channel_creds: [{ type: 'insecure' }], server_features: [DELTA_SERVER_FEATURE, 'ignore_resource_deletion'] };
    const b = resolveBootstrap({ ...good, xds_servers: [good.xds_servers[0]!, second] });
    assert.deepEqual(b.servers, [{ serverUri: '127.0.0.1:18000', delta: false, ignoreResourceDeletion: false }, { serverUri: '127.0.0.1:18001', delta: true, ignoreResourceDeletion: true }]);
    assert.throws(() => resolveBootstrap({ ...good, xds_servers: [good.xds_servers[0]!, { server_uri: '' }] } as never), /xds_servers\[1\]\.server_uri: is required/);
  });

  it('lists every problem with its path', () => {
    assert.throws(
      () => resolveBootstrap({ xds_servers: [{ server_uri: '', channel_creds: [{ type: 'google_default' }] }], node: {} } as never),
      (err: Error & { errors: { path: string }[] }) => {
        assert.deepEqual(err.errors.map((e) => e.path), ['xds_servers[0].server_uri', 'xds_servers[0].channel_creds', 'node.id']);
        return true;
      },
    );
    assert.throws(() => resolveBootstrap(undefined, {}), /no xDS bootstrap/);
  });

  it('a bootstrap file that cannot be read is XMESH_CONFIG_INVALID with its path, not a raw file system error', () => {
    const missing = join(tmpdir(), 'xmesh-no-such-bootstrap.json');
    for (const attempt of [() => resolveBootstrap(missing), () => resolveBootstrap(undefined, { GRPC_XDS_BOOTSTRAP: missing })]) {
      assert.throws(attempt, (err: Error & { code?: string; errors?: { path: string; message: string }[] }) => {
        assert.equal(err.code, 'XMESH_CONFIG_INVALID');
        assert.equal(err.errors?.[0]?.path, missing);
        assert.match(err.errors?.[0]?.message ?? '', /^cannot read: ENOENT/);
        return true;
      });
    }
  });
});
