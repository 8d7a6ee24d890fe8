// envoy.filters.http.ext_authz against real authorization servers written for the test — a stock grpc-js
// `envoy.service.auth.v3.Authorization` server and a node:http one — in both modes from one config: allow
// (with the OK response's header mutations), deny (the server's status, headers and body), the server down or
// too slow with and without failure_mode_allow, status_on_error, with_request_body, allowed_headers,
// per-route ExtAuthzPerRoute (disabled, merged context_extensions), and the filter's stats.
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
import { allowCheck, denyCheck, startGrpcAuthzServer, startHttpAuthzServer, type CheckRequest, type CheckResponse, type GrpcAuthzServer, type HttpAuthzServer } from '../support/authz-server.js';

const { EchoClient: EchoCtor } = loadEcho();
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const EXT_AUTHZ = 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz';
const PER_ROUTE = 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

function cluster(name: string, address: string, http2 = false): object {
  return { name, type: 'STATIC', connect_timeout: '1s', ...(http2 ? { http2_protocol_options: {} } : {}), load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: lbEndpoints([address]) }] } };
}

/** Listener `mesh` with ext_authz (`authz`, whose cluster is `authz`) then the router; `web` HTTP, `echo` gRPC. */
function config(upstreams: { web: string; echo: string; authz: string; authzHttp2: boolean }, extAuthz: Record<string, unknown>): object {
  return {
    static_resources: {
      listeners: [{
        name: 'mesh',
        address: { socket_address: { address: '127.0.0.1', port_value: 15001 } },
        filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
          '@type': HCM,
          stat_prefix: 'mesh',
          route_config: { name: 'mesh', virtual_hosts: [{
            name: 'all', domains: ['*'],
            typed_per_filter_config: { authz: { '@type': PER_ROUTE, check_settings: { context_extensions: { vhost: 'all', level: 'vhost' } } } },
            routes: [
              { match: { prefix: '/xmesh.echo.Echo/' }, route: { cluster: 'echo' } },
              { match: { prefix: '/health' }, route: { cluster: 'web' }, typed_per_filter_config: { authz: { '@type': PER_ROUTE, disabled: true } } },
              { match: { prefix: '/' }, route: { cluster: 'web' }, typed_per_filter_config: { authz: { '@type': PER_ROUTE, check_settings: { context_extensions: { level: 'route' } } } } },
            ],
          }] },
          http_filters: [{ name: 'authz', typed_config: { '@type': EXT_AUTHZ, ...extAuthz } }, ROUTER],
        } }] }],
      }],
      clusters: [cluster('web', upstreams.web), cluster('echo', upstreams.echo, true), cluster('authz', upstreams.authz, upstreams.authzHttp2)],
    },
  };
}

interface Answer { status: number; headers: Record<string, string>; body: string }

/** The same request embedded (mesh.fetch) and through the sidecar (undici). */
class Modes {
  constructor(readonly mesh: Mesh, readonly sidecar: Sidecar) {}

  static async start(cfg: object): Promise<Modes> {
    const mesh = await createMesh({ config: cfg });
    const sidecar = await startSidecar({ config: cfg, listen: '127.0.0.1:0', admin: false });
    return new Modes(mesh, sidecar);
  }

  async close(): Promise<void> {
    await this.mesh.close();
    await this.sidecar.close();
  }

  sends(): [string, (path: string, init?: { method?: string; headers?: Record<string, string>; body?: string }) => Promise<Answer>][] {
    return [
      ['embedded', async (path, init = {}) => {
        const res = await this.mesh.fetch(`http://web.svc${path}`, { method: init.method ?? 'GET', headers: init.headers ?? {}, ...(init.body === undefined ? {} : { body: init.body }) });
        return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
      }],
      ['sidecar', async (path, init = {}) => {
        const res = await request(`http://${this.sidecar.target}${path}`, { method: (init.method ?? 'GET') as 'GET', headers: { host: 'web.svc', ...init.headers }, ...(init.body === undefined ? {} : { body: init.body }) });
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
        return { status: res.statusCode, headers, body: await res.body.text() };
      }],
    ];
  }

  stat(name: string): [number, number] {
    return [this.mesh.observability.store.value(name), this.sidecar.mesh.observability.store.value(name)];
  }
}

describe('ext_authz', () => {
  let web: Server;
  let echo: EchoServer;
  let webAddress: string;
  /** Headers and body of the last request the HTTP upstream got. */
  let seen: { headers: Record<string, string | string[] | undefined>; body: string } | undefined;

  before(async () => {
    web = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        seen = { headers: req.headers, body };
        res.setHeader('x-upstream', 'web');
        res.end('from upstream');
      });
    });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    webAddress = `127.0.0.1:${(web.address() as { port: number }).port}`;
    echo = await startEchoServer('echo');
  });
  after(async () => {
    web.close();
    await echo.close();
  });

  describe('gRPC authorization service', () => {
    let authz: GrpcAuthzServer;
    let modes: Modes;
    /** Decides each check by the request's `x-verdict` header. */
    const decide = (req: CheckRequest): CheckResponse | 'hang' => {
      const verdict = req.attributes.request.http.headers['x-verdict'];
      if (verdict === 'hang') return 'hang';
      if (verdict === 'deny') {
        return denyCheck({ status: { code: 401 }, body: 'who are you?', headers: [{ header: { key: 'www-authenticate', value: 'Bearer' } }, { header: { key: 'x-denied-by', value: 'authz' } }] }, 16);
      }
      if (verdict === 'deny-plain') return denyCheck(undefined, 7);
      return allowCheck({
        headers: [{ header: { key: 'x-user', value: 'alice' } }, { header: { key: 'x-tags', value: 'checked' }, append: { value: true } }],
        headers_to_remove: ['x-secret'],
        response_headers_to_add: [{ header: { key: 'x-authz', value: 'yes' } }],
      });
    };

    before(async () => {
      authz = await startGrpcAuthzServer(decide);
      modes = await Modes.start(config({ web: webAddress, echo: echo.address, authz: authz.address, authzHttp2: true }, {
        grpc_service: { envoy_grpc: { cluster_name: 'authz' }, timeout: '0.3s' },
        transport_api_version: 'V3',
        with_request_body: { max_request_bytes: 64, allow_partial_message: false },
      }));
    });
    after(async () => {
      await modes.close();
      await authz.close();
    });

    test('allowed: the OK response\'s headers are set, appended and removed upstream, its response headers reach the client; the check carries the request', async () => {
      for (const [mode, send] of modes.sends()) {
        const checks = authz.requests.length;
        const res = await send('/orders/7?full=1', { headers: { authorization: 'Bearer t', 'x-secret': 's', 'x-tags': 'a' } });
        assert.deepEqual([res.status, res.body, res.headers['x-authz']], [200, 'from upstream', 'yes'], mode);
        assert.equal(seen?.headers['x-user'], 'alice');
        assert.equal(seen?.headers['x-tags'], 'a,checked');
        assert.equal(seen?.headers['x-secret'], undefined);
        assert.equal(authz.requests.length, checks + 1);
        const http = authz.requests.at(-1)!.attributes.request.http;
        assert.deepEqual([http.method, http.path, http.host, http.query, http.headers.authorization], ['GET', '/orders/7?full=1', 'web.svc', 'full=1', 'Bearer t'], mode);
        assert.deepEqual(authz.requests.at(-1)!.attributes.context_extensions, { vhost: 'all', level: 'route' }, 'merged, the route\'s key winning');
        assert.equal(authz.requests.at(-1)!.attributes.source?.address?.socket_address?.address, '127.0.0.1');
      }
    });

    test('denied: the server\'s status, headers and body are the answer; the upstream is not called', async () => {
      for (const [mode, send] of modes.sends()) {
        seen = undefined;
        const res = await send('/orders', { headers: { 'x-verdict': 'deny' } });
        assert.deepEqual([res.status, res.body, res.headers['www-authenticate'], res.headers['x-denied-by']], [401, 'who are you?', 'Bearer', 'authz'], mode);
        assert.equal(seen, undefined);
        const plain = await send('/orders', { headers: { 'x-verdict': 'deny-plain' } });
        assert.deepEqual([plain.status, plain.body], [403, ''], 'a denial without a denied_response is 403, empty');
      }
      assert.deepEqual(modes.stat('http.mesh.ext_authz.denied').map((n) => n >= 2), [true, true]);
    });

    test('a server too slow for `timeout` is an error: 403 without failure_mode_allow, within bounds', async () => {
      for (const [mode, send] of modes.sends()) {
        const started = Date.now();
        const res = await send('/orders', { headers: { 'x-verdict': 'hang' } });
        assert.deepEqual([res.status, res.body], [403, ''], mode);
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= 250 && elapsed < 10_000, `answered after ${elapsed} ms, the check timeout being 300 ms`);
      }
      assert.deepEqual(modes.stat('http.mesh.ext_authz.error').map((n) => n >= 1), [true, true]);
    });

    test('with_request_body: the body goes in the check; over max_request_bytes is 413 Payload Too Large before any check', async () => {
      for (const [mode, send] of modes.sends()) {
        const res = await send('/orders', { method: 'POST', body: '{"qty":2}', headers: { 'content-type': 'application/json' } });
        assert.equal(res.status, 200, mode);
        assert.equal(seen?.body, '{"qty":2}', 'the upstream still gets the whole body');
        const http = authz.requests.at(-1)!.attributes.request.http;
        assert.deepEqual([http.body, http.headers['x-envoy-auth-partial-body']], ['{"qty":2}', 'false'], mode);
        const checks = authz.requests.length;
        const big = await send('/orders', { method: 'POST', body: 'x'.repeat(65) });
        assert.deepEqual([big.status, big.body], [413, 'Payload Too Large'], mode);
        assert.equal(authz.requests.length, checks);
      }
    });

    test('ExtAuthzPerRoute disabled: no check; gRPC callers get the denial as a gRPC status in both modes', async () => {
      for (const [, send] of modes.sends()) {
        const checks = authz.requests.length;
        assert.equal((await send('/health', { headers: { 'x-verdict': 'deny' } })).status, 200);
        assert.equal(authz.requests.length, checks);
      }
      const deny = new grpc.Metadata();
      deny.set('x-verdict', 'deny');
      const drop = modes.mesh.grpcClient(EchoCtor, 'echo.svc') as EchoClient;
      const stock = new EchoCtor(modes.sidecar.target, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'echo.svc' }) as EchoClient;
      try {
        for (const client of [drop, stock]) {
          assert.equal((await unary(client, { message: 'ok' })).message, 'ok');
          const error = await unary(client, { message: 'x' }, {}, 'Echo', deny).then(() => undefined, (e: grpc.ServiceError) => e);
          assert.deepEqual([error?.code, error?.details], [grpc.status.UNAUTHENTICATED, 'who are you?'], '401 maps to UNAUTHENTICATED, the body is the message');
        }
        // The gRPC request's body is its framed message: with_request_body sends it (5 header bytes + the message).
        const last = authz.requests.at(-1)!.attributes.request.http;
        assert.equal(last.protocol, 'HTTP/2');
        assert.ok(last.body.length > 5);
      } finally {
        drop.close();
        stock.close();
      }
    });
  });

  describe('gRPC service options', () => {
    test('allowed_headers / disallowed_headers choose the headers the check carries; a CheckResponse asking for query changes is answered 500', async () => {
      const authz = await startGrpcAuthzServer((req) => (req.attributes.request.http.headers['x-verdict'] === 'query'
        ? allowCheck({ query_parameters_to_set: [{ key: 'a', value: 'b' }] })
        : allowCheck()));
      const modes = await Modes.start(config({ web: webAddress, echo: echo.address, authz: authz.address, authzHttp2: true }, {
        grpc_service: { envoy_grpc: { cluster_name: 'authz' } },
        allowed_headers: { patterns: [{ prefix: 'x-' }, { exact: ':path' }] },
        disallowed_headers: { patterns: [{ exact: 'x-private' }] },
      }));
      try {
        for (const [mode, send] of modes.sends()) {
          await send('/a', { headers: { 'x-one': '1', 'x-private': 'p', cookie: 'c' } });
          assert.deepEqual(Object.keys(authz.requests.at(-1)!.attributes.request.http.headers).sort(), [':path', 'x-one'], mode);
          const res = await send('/a', { headers: { 'x-verdict': 'query' } });
          assert.deepEqual([res.status, res.body], [500, ''], mode);
        }
        assert.deepEqual(modes.stat('http.mesh.ext_authz.invalid'), [1, 1]);
      } finally {
        await modes.close();
        await authz.close();
      }
    });

    test('pack_as_bytes, allow_partial_message, disable_request_body_buffering, stat_prefix, validate_mutations', async () => {
      const authz = await startGrpcAuthzServer((req) => (req.attributes.request.http.headers['x-verdict'] === 'bad-header'
        ? allowCheck({ headers: [{ header: { key: 'bad header', value: 'v' } }] })
        : allowCheck()));
      const cfg = config({ web: webAddress, echo: echo.address, authz: authz.address, authzHttp2: true }, {
        grpc_service: { envoy_grpc: { cluster_name: 'authz' } },
        with_request_body: { max_request_bytes: 4, allow_partial_message: true, pack_as_bytes: true },
        stat_prefix: 'waf',
        validate_mutations: true,
      }) as { static_resources: { listeners: { filter_chains: { filters: { typed_config: { route_config: { virtual_hosts: { routes: Record<string, unknown>[] }[] } } }[] }[] }[] } };
      // A route that keeps the check but sends no body.
      cfg.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.route_config.virtual_hosts[0]!.routes.unshift({
        match: { prefix: '/nobody' }, route: { cluster: 'web' },
        typed_per_filter_config: { authz: { '@type': PER_ROUTE, check_settings: { disable_request_body_buffering: true } } },
      });
      const modes = await Modes.start(cfg);
      try {
        for (const [mode, send] of modes.sends()) {
          assert.equal((await send('/a', { method: 'POST', body: 'abcdefgh' })).status, 200, mode);
          assert.equal(seen?.body, 'abcdefgh', 'the upstream gets the whole body');
          const http = authz.requests.at(-1)!.attributes.request.http;
          assert.deepEqual([http.raw_body.toString(), http.body, http.headers['x-envoy-auth-partial-body']], ['abcd', '', 'true'], mode);
          assert.equal((await send('/nobody', { method: 'POST', body: 'abcdefgh' })).status, 200);
          const unbuffered = authz.requests.at(-1)!.attributes.request.http;
          assert.deepEqual([unbuffered.raw_body.length, unbuffered.headers['x-envoy-auth-partial-body']], [0, undefined], mode);
          assert.equal((await send('/a', { headers: { 'x-verdict': 'bad-header' } })).status, 500, mode);
        }
        assert.deepEqual(modes.stat('http.mesh.ext_authz.waf.ok'), [2, 2]);
        assert.deepEqual(modes.stat('http.mesh.ext_authz.waf.invalid'), [1, 1]);
      } finally {
        await modes.close();
        await authz.close();
      }
    });

    test('filter_enabled 0 %: no check, counted disabled; with deny_at_disable the request is answered status_on_error', async () => {
      const authz = await startGrpcAuthzServer(() => allowCheck());
      for (const denyAtDisable of [false, true]) {
        const modes = await Modes.start(config({ web: webAddress, echo: echo.address, authz: authz.address, authzHttp2: true }, {
          grpc_service: { envoy_grpc: { cluster_name: 'authz' } },
          filter_enabled: { default_value: { numerator: 0 } },
          deny_at_disable: { default_value: denyAtDisable },
        }));
        try {
          for (const [mode, send] of modes.sends()) assert.equal((await send('/a')).status, denyAtDisable ? 403 : 200, mode);
          assert.deepEqual(modes.stat('http.mesh.ext_authz.disabled'), [1, 1]);
        } finally {
          await modes.close();
        }
      }
      assert.equal(authz.requests.length, 0);
      await authz.close();
    });
  });

  test('sidecar mTLS: the check carries the client certificate\'s principal and, with include_peer_certificate, the certificate', async () => {
    const pki = standardPki();
    const authz = await startGrpcAuthzServer(() => allowCheck());
    const cfg = config({ web: webAddress, echo: echo.address, authz: authz.address, authzHttp2: true }, { grpc_service: { envoy_grpc: { cluster_name: 'authz' } }, include_peer_certificate: true }) as {
      static_resources: { listeners: { filter_chains: Record<string, unknown>[] }[] };
    };
    cfg.static_resources.listeners[0]!.filter_chains[0]!.transport_socket = { name: 'envoy.transport_sockets.tls', typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      common_tls_context: {
        tls_certificates: [{ certificate_chain: { filename: pki.server.certPath }, private_key: { filename: pki.server.keyPath } }],
        validation_context: { trusted_ca: { filename: pki.ca.certPath } },
      },
      require_client_certificate: true,
    } };
    const sidecar = await startSidecar({ config: cfg, listen: '127.0.0.1:0', admin: false });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpsRequest({
          host: '127.0.0.1', port: sidecar.address.port, path: '/x', ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key, servername: 'server.test',
          headers: { host: 'web.svc' }, ALPNProtocols: ['http/1.1'], agent: false,
        }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 200);
      const source = authz.requests.at(-1)!.attributes.source!;
      assert.equal(source.principal, 'spiffe://xmesh.test/ns/default/sa/client');
      assert.equal(decodeURIComponent(source.certificate).trim(), pki.client.cert.trim());
      assert.equal(authz.requests.at(-1)!.attributes.request.http.scheme, 'https');
    } finally {
      await sidecar.close();
      await authz.close();
      pki.dispose();
    }
  });

  describe('the server down', () => {
    let down: string;
    before(async () => {
      // A port nobody listens on.
      const probe = createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      down = `127.0.0.1:${(probe.address() as { port: number }).port}`;
      await new Promise<void>((resolve) => probe.close(() => resolve()));
    });

    test('without failure_mode_allow: status_on_error (default 403, here 503), empty body; the upstream is not called', async () => {
      for (const statusOnError of [undefined, 503]) {
        const modes = await Modes.start(config({ web: webAddress, echo: echo.address, authz: down, authzHttp2: true }, {
          grpc_service: { envoy_grpc: { cluster_name: 'authz' } },
          ...(statusOnError === undefined ? {} : { status_on_error: { code: statusOnError } }),
        }));
        try {
          for (const [mode, send] of modes.sends()) {
            seen = undefined;
            const res = await send('/orders');
            assert.deepEqual([res.status, res.body], [statusOnError ?? 403, ''], mode);
            assert.equal(seen, undefined);
          }
          assert.deepEqual(modes.stat('http.mesh.ext_authz.error'), [1, 1]);
        } finally {
          await modes.close();
        }
      }
    });

    test('with failure_mode_allow: the request goes on, marked x-envoy-auth-failure-mode-allowed with failure_mode_allow_header_add', async () => {
      const modes = await Modes.start(config({ web: webAddress, echo: echo.address, authz: down, authzHttp2: true }, {
        grpc_service: { envoy_grpc: { cluster_name: 'authz' } },
        failure_mode_allow: true,
        failure_mode_allow_header_add: true,
      }));
      try {
        for (const [mode, send] of modes.sends()) {
          const res = await send('/orders');
          assert.deepEqual([res.status, res.body], [200, 'from upstream'], mode);
          assert.equal(seen?.headers['x-envoy-auth-failure-mode-allowed'], 'true');
        }
        assert.deepEqual(modes.stat('http.mesh.ext_authz.failure_mode_allowed'), [1, 1]);
      } finally {
        await modes.close();
      }
    });
  });

  describe('HTTP authorization service', () => {
    let authz: HttpAuthzServer;
    let modes: Modes;
    before(async () => {
      authz = await startHttpAuthzServer((req) => {
        if (req.headers['x-verdict'] === 'deny') return { status: 403, headers: { 'x-reason': 'nope', 'content-type': 'application/json' }, body: '{"denied":true}' };
        if (req.headers['x-verdict'] === 'broken') return { status: 500, body: 'oops' };
        return { status: 200, headers: { 'x-user': 'bob', 'x-tags': 'authz', 'x-client-note': 'hi', 'x-other': 'dropped', 'x-envoy-auth-headers-to-remove': 'x-secret' } };
      });
      modes = await Modes.start(config({ web: webAddress, echo: echo.address, authz: authz.address, authzHttp2: false }, {
        http_service: {
          server_uri: { uri: `http://${authz.address}`, cluster: 'authz', timeout: '0.5s' },
          path_prefix: '/check',
          authorization_request: { allowed_headers: { patterns: [{ exact: 'x-verdict' }] }, headers_to_add: [{ key: 'x-from', value: 'xmesh' }] },
          authorization_response: {
            allowed_upstream_headers: { patterns: [{ exact: 'x-user' }] },
            allowed_upstream_headers_to_append: { patterns: [{ exact: 'x-tags' }] },
            allowed_client_headers: { patterns: [{ exact: 'x-reason' }] },
            allowed_client_headers_on_success: { patterns: [{ prefix: 'x-client-' }] },
          },
        },
      }));
    });
    after(async () => {
      await modes.close();
      await authz.close();
    });

    test('allowed (200): the request\'s method and prefixed path with the allowed headers go to the server; allowed headers go upstream and to the client', async () => {
      for (const [mode, send] of modes.sends()) {
        const res = await send('/orders/9?x=1', { headers: { authorization: 'Basic z', cookie: 'c=1', 'x-secret': 's', 'x-tags': 'a' } });
        assert.deepEqual([res.status, res.body, res.headers['x-client-note'], res.headers['x-other']], [200, 'from upstream', 'hi', undefined], mode);
        assert.deepEqual([seen?.headers['x-user'], seen?.headers['x-other'], seen?.headers['x-secret'], seen?.headers['x-tags']], ['bob', undefined, undefined, 'a, authz']);
        const asked = authz.requests.at(-1)!;
        // (Envoy sends `content-length: 0` here; undici leaves it out of a GET without a body, as RFC 9110 asks.)
        assert.deepEqual([asked.method, asked.url, asked.headers.host, asked.headers.authorization, asked.headers.cookie, asked.headers['x-from'], asked.body], ['GET', '/check/orders/9?x=1', 'web.svc', 'Basic z', undefined, 'xmesh', ''], mode);
      }
    });

    test('denied: the server\'s status and body with only the allowed client headers; a 5xx is an error (403)', async () => {
      for (const [mode, send] of modes.sends()) {
        const res = await send('/orders', { headers: { 'x-verdict': 'deny' } });
        assert.deepEqual([res.status, res.body, res.headers['x-reason'], res.headers['content-type']], [403, '{"denied":true}', 'nope', 'text/plain'], mode);
        const broken = await send('/orders', { headers: { 'x-verdict': 'broken' } });
        assert.deepEqual([broken.status, broken.body], [403, ''], mode);
      }
      assert.deepEqual(modes.stat('http.mesh.ext_authz.error'), [1, 1]);
      assert.deepEqual(modes.stat('http.mesh.ext_authz.denied'), [1, 1]);
    });
  });
});
