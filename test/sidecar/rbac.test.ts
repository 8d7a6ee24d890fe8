// envoy.filters.http.rbac in both modes, from one config: a denied request gets Envoy's answer (HTTP 403
// `RBAC: access denied`, text/plain; gRPC PERMISSION_DENIED with that message) from the embedded mesh and
// from the sidecar alike, allowed ones reach the upstream; shadow rules only count; per-route RBACPerRoute
// replaces or switches off the listener's rules; principals about the downstream read the sidecar's client
// connection (peer address, X-Forwarded-For, mTLS peer certificate), and in embedded mode the app itself.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { createMesh, type Mesh } from '@xmesh/client';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { unary } from '../support/grpc-call.js';
import { lbEndpoints } from '../support/mesh-config.js';
import { standardPki } from '../support/pki.js';

const { EchoClient: EchoCtor } = loadEcho();
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const RBAC = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const RBAC_PER_ROUTE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
const DOWNSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';

const notAdmin = { not_id: { header: { name: 'x-role', string_match: { exact: 'admin' } } } };

/** Listener `mesh` (port 15001) with the RBAC filter `rbac` and the router; `web` is HTTP/1.1, `echo` gRPC. */
function config(web: string, echo: string, rbac: Record<string, unknown>, extra: { transportSocket?: object } = {}): object {
  return {
    static_resources: {
      listeners: [{
        name: 'mesh',
        address: { socket_address: { address: '127.0.0.1', port_value: 15001 } },
        filter_chains: [{
          filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
            '@type': HCM,
            stat_prefix: 'mesh',
            route_config: { name: 'mesh', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [
              { match: { prefix: '/xmesh.echo.Echo/' }, route: { cluster: 'echo' } },
              { match: { prefix: '/open' }, route: { cluster: 'web' }, typed_per_filter_config: { rbac: { '@type': RBAC_PER_ROUTE } } },
              { match: { prefix: '/staff' }, route: { cluster: 'web' }, typed_per_filter_config: { rbac: { '@type': RBAC_PER_ROUTE, rbac: { rules: {
                action: 'ALLOW', policies: { staff: { permissions: [{ any: true }], principals: [{ header: { name: 'x-role', string_match: { exact: 'staff' } } }] } },
              } } } } },
              { match: { prefix: '/off' }, route: { cluster: 'web' }, typed_per_filter_config: { rbac: { '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig', disabled: true } } },
              { match: { prefix: '/' }, route: { cluster: 'web' } },
            ] }] },
            http_filters: [{ name: 'rbac', typed_config: { '@type': RBAC, ...rbac } }, ROUTER],
          } }],
          ...(extra.transportSocket === undefined ? {} : { transport_socket: extra.transportSocket }),
        }],
      }],
      clusters: [
        { name: 'web', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'web', endpoints: [{ lb_endpoints: lbEndpoints([web]) }] } },
        { name: 'echo', type: 'STATIC', connect_timeout: '1s', http2_protocol_options: {}, load_assignment: { cluster_name: 'echo', endpoints: [{ lb_endpoints: lbEndpoints([echo]) }] } },
      ],
    },
  };
}

/** Admin paths and Echo need `x-role: admin`; the shadow rules would deny every POST. */
const RULES = {
  rules: { action: 'DENY', policies: { 'admin-only': { permissions: [{ url_path: { path: { prefix: '/admin' } } }, { url_path: { path: { prefix: '/xmesh.echo.Echo/' } } }], principals: [notAdmin] } } },
  shadow_rules: { action: 'DENY', policies: { 'no-posts': { permissions: [{ header: { name: ':method', string_match: { exact: 'POST' } } }], principals: [{ any: true }] } } },
  shadow_rules_stat_prefix: 'trial_',
};

interface Answer { status: number; body: string; contentType: string | undefined; upstream: boolean }

describe('rbac', () => {
  let web: Server;
  let webAddress: string;
  let echo: EchoServer;
  /** Requests the HTTP upstream received. */
  let reached = 0;

  before(async () => {
    web = createServer((req, res) => {
      reached++;
      res.setHeader('x-upstream', 'web');
      res.end(`upstream saw ${req.url}`);
    });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    webAddress = `127.0.0.1:${(web.address() as { port: number }).port}`;
    echo = await startEchoServer('echo');
  });
  after(async () => {
    web.close();
    await echo.close();
  });

  describe('one config, both modes', () => {
    let mesh: Mesh;
    let sidecar: Sidecar;
    before(async () => {
      mesh = await createMesh({ config: config(webAddress, echo.address, RULES) });
      sidecar = await startSidecar({ config: config(webAddress, echo.address, RULES), listen: '127.0.0.1:0', admin: false });
    });
    after(async () => {
      await mesh.close();
      await sidecar.close();
    });

    const embedded = async (path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> => {
      const res = await mesh.fetch(`http://web.svc${path}`, { method, headers });
      return { status: res.status, body: await res.text(), contentType: res.headers.get('content-type') ?? undefined, upstream: res.headers.get('x-upstream') === 'web' };
    };
    const proxied = async (path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> => {
      const res = await request(`http://${sidecar.target}${path}`, { method: method as 'GET', headers: { host: 'web.svc', ...headers } });
      const contentType = res.headers['content-type'];
      return { status: res.statusCode, body: await res.body.text(), contentType: typeof contentType === 'string' ? contentType : undefined, upstream: res.headers['x-upstream'] === 'web' };
    };

    for (const [mode, send] of [['embedded', embedded], ['sidecar', proxied]] as const) {
      test(`${mode}: a denied request gets 403 "RBAC: access denied" (text/plain) and never reaches the upstream; allowed ones do`, async () => {
        const before = reached;
        const denied = await send('/admin/users');
        assert.deepEqual([denied.status, denied.body, denied.contentType, denied.upstream], [403, 'RBAC: access denied', 'text/plain', false]);
        assert.equal(reached, before);
        const admin = await send('/admin/users', { 'x-role': 'admin' });
        assert.deepEqual([admin.status, admin.body, admin.upstream], [200, 'upstream saw /admin/users', true]);
        const other = await send('/public?x=1');
        assert.deepEqual([other.status, other.upstream], [200, true]);
      });

      test(`${mode}: RBACPerRoute replaces the listener's rules on its route, or (without rbac) enforces nothing; a disabled FilterConfig turns the filter off`, async () => {
        assert.equal((await send('/open/admin')).status, 200, 'RBACPerRoute {} enforces nothing');
        assert.equal((await send('/staff/x')).status, 403);
        assert.equal((await send('/staff/x', { 'x-role': 'staff' })).status, 200);
        assert.equal((await send('/off/x')).status, 200);
      });
    }

    test('stats: allowed / denied counted per mode at http.mesh.rbac.*, shadow rules only counted (with their prefix)', async () => {
      const embeddedStore = mesh.observability.store;
      const sidecarStore = sidecar.mesh.observability.store;
      const before = [embeddedStore.value('http.mesh.rbac.denied'), sidecarStore.value('http.mesh.rbac.denied')];
      const posted = [await embedded('/public', {}, 'POST'), await proxied('/public', {}, 'POST')];
      assert.deepEqual(posted.map((a) => a.status), [200, 200], 'shadow rules never deny');
      assert.ok(embeddedStore.value('http.mesh.rbac.trial_shadow_denied') >= 1);
      assert.ok(sidecarStore.value('http.mesh.rbac.trial_shadow_denied') >= 1);
      assert.ok(embeddedStore.value('http.mesh.rbac.trial_shadow_allowed') >= 1);
      await embedded('/admin');
      await proxied('/admin');
      assert.deepEqual([embeddedStore.value('http.mesh.rbac.denied'), sidecarStore.value('http.mesh.rbac.denied')], before.map((n) => n + 1));
      assert.ok(embeddedStore.value('http.mesh.rbac.allowed') > 0 && sidecarStore.value('http.mesh.rbac.allowed') > 0);
    });

    test('gRPC: PERMISSION_DENIED with "RBAC: access denied", embedded (grpc-js drop-in and the fast API) and through the sidecar', async () => {
      const admin = new grpc.Metadata();
      admin.set('x-role', 'admin');
      const drop = mesh.grpcClient(EchoCtor, 'echo.svc') as EchoClient;
      const stock = new EchoCtor(sidecar.target, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'echo.svc' }) as EchoClient;
      try {
        for (const client of [drop, stock]) {
          const error = await unary(client, { message: 'x' }).then(() => undefined, (e: grpc.ServiceError) => e);
          assert.equal(error?.code, grpc.status.PERMISSION_DENIED);
          assert.equal(error?.details, 'RBAC: access denied');
          assert.equal(error?.metadata.get('x-xmesh-error-code')[0], 'XMESH_DENIED');
          assert.equal((await unary(client, { message: 'ok' }, {}, 'Echo', admin)).message, 'ok');
        }
        const fast = await mesh.unary('echo.svc', '/xmesh.echo.Echo/Echo', Buffer.alloc(0)).then(() => undefined, (e: { grpcStatus: number; reply?: { body: string } }) => e);
        assert.equal(fast?.grpcStatus, grpc.status.PERMISSION_DENIED);
        assert.equal(fast?.reply?.body, 'RBAC: access denied');
      } finally {
        drop.close();
        stock.close();
      }
    });
  });

  test('remote_ip follows X-Forwarded-For (the HCM\'s rules), direct_remote_ip the peer; destination_port is the port the request came to', async () => {
    const rules = {
      rules: { action: 'ALLOW', policies: {
        office: { permissions: [{ any: true }], principals: [{ remote_ip: { address_prefix: '203.0.113.0', prefix_len: 24 } }] },
        local: { permissions: [{ url_path: { path: { prefix: '/local' } } }], principals: [{ direct_remote_ip: { address_prefix: '127.0.0.0', prefix_len: 8 } }] },
        port: { permissions: [{ and_rules: { rules: [{ url_path: { path: { prefix: '/port' } } }, { destination_port: 15001 }] } }], principals: [{ any: true }] },
      } },
    };
    const mesh = await createMesh({ config: config(webAddress, echo.address, rules) });
    const sidecar = await startSidecar({ config: config(webAddress, echo.address, rules), listen: '127.0.0.1:0', admin: false });
    try {
      const viaMesh = async (path: string, headers: Record<string, string> = {}) => (await mesh.fetch(`http://web.svc${path}`, { headers })).status;
      const viaSidecar = async (path: string, headers: Record<string, string> = {}) => {
        const res = await request(`http://${sidecar.target}${path}`, { headers: { host: 'web.svc', ...headers } });
        await res.body.dump();
        return res.statusCode;
      };
      for (const send of [viaMesh, viaSidecar]) {
        assert.equal(await send('/x', { 'x-forwarded-for': '203.0.113.7' }), 200);
        assert.equal(await send('/x', { 'x-forwarded-for': '198.51.100.1' }), 403);
        assert.equal(await send('/x'), 403, 'without X-Forwarded-For the downstream is the peer, 127.0.0.1');
        assert.equal(await send('/local'), 200, 'the peer (the app itself in embedded mode) is loopback');
      }
      // The embedded app's "connection" is to its listener's port; the sidecar's client connects to the sidecar's own port.
      assert.equal(await viaMesh('/port'), 200);
      assert.equal(await viaSidecar('/port'), sidecar.address.port === 15001 ? 200 : 403);
    } finally {
      await mesh.close();
      await sidecar.close();
    }
  });

  test('every permission and principal kind from config: or/and/not, ports, addresses, SNI; rules_stat_prefix names the counters', async () => {
    const rules = {
      rules_stat_prefix: 'main_',
      rules: { action: 'ALLOW', policies: {
        // Port 15001 (the listener's, in embedded mode) but not 15000..15000; a loopback peer; no SNI on plaintext.
        ports: {
          permissions: [{ and_rules: { rules: [
            { destination_port_range: { start: 15000, end: 15002 } },
            { not_rule: { destination_port: 15000 } },
            { or_rules: { rules: [{ url_path: { path: { exact: '/ports' } } }, { url_path: { path: { exact: '/ports2' } } }] } },
            { destination_ip: { address_prefix: '127.0.0.0', prefix_len: 8 } },
            { requested_server_name: { exact: '' } },
          ] } }],
          principals: [{ and_ids: { ids: [{ source_ip: { address_prefix: '127.0.0.1', prefix_len: 32 } }, { or_ids: { ids: [{ url_path: { path: { prefix: '/ports' } } }] } }] } }],
        },
      } },
    };
    const mesh = await createMesh({ config: config(webAddress, echo.address, rules) });
    try {
      const status = async (path: string) => (await mesh.fetch(`http://web.svc${path}`)).status;
      assert.deepEqual([await status('/ports'), await status('/ports2'), await status('/other')], [200, 200, 403]);
      const store = mesh.observability.store;
      assert.deepEqual([store.value('http.mesh.rbac.main_allowed'), store.value('http.mesh.rbac.main_denied')], [2, 1]);
    } finally {
      await mesh.close();
    }
  });

  test('sidecar mTLS: authenticated principals match the client certificate\'s URI SAN; other certificates and none are denied', async () => {
    const pki = standardPki();
    const other = pki.issue('other-client', { sans: ['URI:spiffe://xmesh.test/ns/default/sa/other'] });
    const transportSocket = { name: 'envoy.transport_sockets.tls', typed_config: { '@type': DOWNSTREAM_TLS, common_tls_context: {
      tls_certificates: [{ certificate_chain: { filename: pki.server.certPath }, private_key: { filename: pki.server.keyPath } }],
      validation_context: { trusted_ca: { filename: pki.ca.certPath } },
    } } };
    const rules = { rules: { action: 'ALLOW', policies: { client: {
      permissions: [{ any: true }],
      principals: [{ authenticated: { principal_name: { exact: 'spiffe://xmesh.test/ns/default/sa/client' } } }],
    } } } };
    const sidecar = await startSidecar({ config: config(webAddress, echo.address, rules, { transportSocket }), listen: '127.0.0.1:0', admin: false });
    const get = (cert?: { cert: string; key: string }) => new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsRequest({
        host: '127.0.0.1', port: sidecar.address.port, path: '/x', ca: pki.ca.cert, servername: 'server.test', headers: { host: 'web.svc' },
        ...(cert === undefined ? {} : { cert: cert.cert, key: cert.key }), ALPNProtocols: ['http/1.1'], agent: false,
      }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    try {
      assert.equal((await get(pki.client)).status, 200);
      assert.deepEqual(await get(other), { status: 403, body: 'RBAC: access denied' });
      assert.deepEqual(await get(), { status: 403, body: 'RBAC: access denied' });
    } finally {
      await sidecar.close();
      pki.dispose();
    }
  });
});
