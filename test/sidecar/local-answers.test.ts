// Requests the mesh answers itself, as Envoy does, in both modes from one config: direct_response routes
// (status and body, inline or from a file, 3xx/201 with the request's URL as Location), redirect routes
// (scheme, host, port, path, prefix and regex rewrites, strip_query, each response code), CORS preflights
// and the CORS headers of simple requests (policies per route, their fields taken from the most specific,
// filter_enabled / shadow_enabled), and the buffer filter's 413. gRPC callers get the status Envoy derives.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { createMesh, type Mesh } from '@xmesh/client';
import type { Sidecar } from '@xmesh/sidecar';
import { startBothModes, type BothModes } from '../support/both-modes.js';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { unary } from '../support/grpc-call.js';
import { lbEndpoints } from '../support/mesh-config.js';

const { EchoClient: EchoCtor } = loadEcho();
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const CORS_POLICY = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy';
const BUFFER_PER_ROUTE = 'type.googleapis.com/envoy.extensions.filters.http.buffer.v3.BufferPerRoute';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

function cluster(name: string, address: string, http2 = false): object {
  return { name, type: 'STATIC', connect_timeout: '1s', ...(http2 ? { http2_protocol_options: {} } : {}), load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: lbEndpoints([address]) }] } };
}

interface Answer { status: number; headers: Record<string, string>; body: string }

describe('answers the mesh gives itself', () => {
  let web: Server;
  let echo: EchoServer;
  let both: BothModes;
  let mesh: Mesh;
  let sidecar: Sidecar;
  let dir: string;
  let reached = 0;

  before(async () => {
    web = createServer((req, res) => {
      reached++;
      let size = 0;
      req.on('data', (c: Buffer) => (size += c.length));
      req.on('end', () => {
        res.setHeader('x-upstream', 'web');
        res.end(`upstream ${req.method} ${req.url} ${size}`);
      });
    });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    echo = await startEchoServer('echo');
    dir = mkdtempSync(join(tmpdir(), 'xmesh-direct-'));
    const bodyFile = join(dir, 'maintenance.txt');
    writeFileSync(bodyFile, 'down for maintenance');
    const cfg = {
      static_resources: {
        listeners: [{
          name: 'mesh',
          address: { socket_address: { address: '127.0.0.1', port_value: 15001 } },
          filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
            '@type': HCM,
            stat_prefix: 'mesh',
            route_config: {
              name: 'mesh',
              max_direct_response_body_size_bytes: 64,
              response_headers_to_add: [{ header: { key: 'x-served-by', value: 'mesh' } }],
              virtual_hosts: [{
                name: 'all', domains: ['*'],
                // The deprecated virtual host policy: used where no typed_per_filter_config policy is given.
                cors: { allow_origin_string_match: [{ suffix: '.legacy.test' }], allow_methods: 'GET' },
                routes: [
                  { match: { prefix: '/teapot' }, direct_response: { status: 418, body: { inline_string: 'short and stout' } } },
                  { match: { prefix: '/maintenance' }, direct_response: { status: 503, body: { filename: bodyFile } } },
                  { match: { prefix: '/created' }, direct_response: { status: 201 } },
                  { match: { prefix: '/xmesh.echo.Echo/Gone' }, direct_response: { status: 404, body: { inline_string: 'no such method' } } },
                  { match: { prefix: '/old/' }, redirect: { prefix_rewrite: '/new/', response_code: 'FOUND' } },
                  { match: { prefix: '/secure' }, redirect: { https_redirect: true } },
                  { match: { prefix: '/moved' }, redirect: { scheme_redirect: 'https', host_redirect: 'example.com', port_redirect: 8443, path_redirect: '/landing', strip_query: true, response_code: 'PERMANENT_REDIRECT' } },
                  { match: { prefix: '/query' }, redirect: { path_redirect: '/kept?from=redirect', strip_query: true, response_code: 'SEE_OTHER' } },
                  { match: { safe_regex: { regex: '^/v[0-9]+/items/.*' } }, redirect: { regex_rewrite: { pattern: { regex: '^/v([0-9]+)/items/(.*)$' }, substitution: '/items/\\2?version=\\1' }, response_code: 'TEMPORARY_REDIRECT' } },
                  {
                    match: { prefix: '/api' }, route: { cluster: 'web' },
                    typed_per_filter_config: { cors: { '@type': CORS_POLICY, allow_origin_string_match: [{ exact: 'https://app.test' }, { safe_regex: { regex: 'https://[a-z]+\\.partner\\.test' } }], allow_methods: 'GET, PUT', allow_headers: '*', expose_headers: 'x-total', max_age: '600', allow_credentials: true, forward_not_matching_preflights: false, allow_private_network_access: true } },
                  },
                  {
                    match: { prefix: '/shadow' }, route: { cluster: 'web' },
                    typed_per_filter_config: { cors: { '@type': CORS_POLICY, allow_origin_string_match: [{ exact: 'https://app.test' }], filter_enabled: { default_value: { numerator: 0 } }, shadow_enabled: { default_value: { numerator: 100 } } } },
                  },
                  { match: { prefix: '/upload' }, route: { cluster: 'web' }, typed_per_filter_config: { buffer: { '@type': BUFFER_PER_ROUTE, buffer: { max_request_bytes: 8 } } } },
                  { match: { prefix: '/stream' }, route: { cluster: 'web' }, typed_per_filter_config: { buffer: { '@type': BUFFER_PER_ROUTE, disabled: true } } },
                  { match: { prefix: '/xmesh.echo.Echo/' }, route: { cluster: 'echo' } },
                  { match: { prefix: '/' }, route: { cluster: 'web', cors: { allow_origin_string_match: [{ exact: 'https://route.test' }], expose_headers: 'x-route' } } },
                ],
              }],
            },
            http_filters: [
              { name: 'cors', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors' } },
              { name: 'buffer', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer', max_request_bytes: 1024 } },
              ROUTER,
            ],
          } }] }],
        }],
        clusters: [cluster('web', `127.0.0.1:${(web.address() as { port: number }).port}`), cluster('echo', echo.address, true)],
      },
    };
    ({ mesh, sidecar } = both = await startBothModes(cfg));
  });
  after(async () => {
    await both.close();
    web.close();
    await echo.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const modes = (): [string, (path: string, init?: { method?: string; headers?: Record<string, string>; body?: string }) => Promise<Answer>][] => [
    ['embedded', async (path, init = {}) => {
      const res = await mesh.fetch(`http://web.svc:8080${path}`, { method: init.method ?? 'GET', headers: init.headers ?? {}, redirect: 'manual', ...(init.body === undefined ? {} : { body: init.body }) });
      return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
    }],
    ['sidecar', async (path, init = {}) => {
      const res = await request(`http://${sidecar.target}${path}`, { method: (init.method ?? 'GET') as 'GET', headers: { host: 'web.svc:8080', ...init.headers }, ...(init.body === undefined ? {} : { body: init.body }) });
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
      return { status: res.statusCode, headers, body: await res.body.text() };
    }],
  ];

  test('direct_response: the status and the body (inline or from a file); 201 and 3xx carry the request\'s URL; route response headers apply', async () => {
    for (const [mode, send] of modes()) {
      const before = reached;
      const teapot = await send('/teapot');
      assert.deepEqual([teapot.status, teapot.body, teapot.headers['content-type'], teapot.headers['x-served-by']], [418, 'short and stout', 'text/plain', 'mesh'], mode);
      const down = await send('/maintenance');
      assert.deepEqual([down.status, down.body], [503, 'down for maintenance'], mode);
      const created = await send('/created?id=3');
      assert.deepEqual([created.status, created.body, created.headers.location, created.headers['content-type']], [201, '', 'http://web.svc:8080/created?id=3', undefined], mode);
      assert.equal(reached, before, 'nothing reached the upstream');
    }
  });

  test('redirect: Location built as Envoy builds it; each response code', async () => {
    const cases: [string, number, string][] = [
      ['/old/a/b?c=1', 302, 'http://web.svc:8080/new/a/b?c=1'],
      ['/secure/x', 301, 'https://web.svc:8080/secure/x'],
      ['/moved/x?drop=1', 308, 'https://example.com:8443/landing'],
      ['/query/x?q=1', 303, 'http://web.svc:8080/kept?from=redirect'],
      ['/v2/items/box', 307, 'http://web.svc:8080/items/box?version=2'],
    ];
    for (const [mode, send] of modes()) {
      for (const [path, status, location] of cases) {
        const res = await send(path);
        assert.deepEqual([res.status, res.headers.location, res.body], [status, location, ''], `${mode} ${path}`);
      }
    }
  });

  test('gRPC: a direct response is a trailers-only answer with the status Envoy maps (404 → UNIMPLEMENTED), the body its message', async () => {
    const drop = mesh.grpcClient(EchoCtor, 'echo.svc') as EchoClient;
    const stock = new EchoCtor(sidecar.target, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'echo.svc' }) as EchoClient;
    try {
      for (const client of [drop, stock]) {
        const error = await new Promise<grpc.ServiceError | undefined>((resolve) => {
          const identity = (b: Buffer) => b;
          client.makeUnaryRequest('/xmesh.echo.Echo/Gone', identity, identity, Buffer.alloc(0), (e) => resolve(e ?? undefined));
        });
        assert.deepEqual([error?.code, error?.details], [grpc.status.UNIMPLEMENTED, 'no such method']);
        assert.equal((await unary(client, { message: 'still here' })).message, 'still here');
      }
    } finally {
      drop.close();
      stock.close();
    }
  });

  test('CORS preflight answered as Envoy answers it: 200, the allow headers ("*" echoes the request\'s), max age, credentials, private network', async () => {
    for (const [mode, send] of modes()) {
      const before = reached;
      const res = await send('/api/items', { method: 'OPTIONS', headers: {
        origin: 'https://shop.partner.test', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-token, content-type', 'access-control-request-private-network': 'true',
      } });
      assert.equal(res.status, 200, mode);
      assert.equal(res.body, '');
      assert.deepEqual(
        [res.headers['access-control-allow-origin'], res.headers['access-control-allow-methods'], res.headers['access-control-allow-headers'], res.headers['access-control-max-age'], res.headers['access-control-allow-credentials'], res.headers['access-control-allow-private-network']],
        ['https://shop.partner.test', 'GET, PUT', 'x-token, content-type', '600', 'true', 'true'],
        mode,
      );
      assert.equal(reached, before);
      // An origin not allowed: forward_not_matching_preflights false answers it here, without allow headers.
      const stranger = await send('/api/items', { method: 'OPTIONS', headers: { origin: 'https://evil.test', 'access-control-request-method': 'PUT' } });
      assert.deepEqual([stranger.status, stranger.headers['access-control-allow-origin'], stranger.headers['access-control-allow-methods']], [200, undefined, 'GET, PUT'], mode);
      assert.equal(reached, before);
      // The route's deprecated `cors` does not forbid forwarding: an unknown origin's preflight goes upstream.
      const forwarded = await send('/other', { method: 'OPTIONS', headers: { origin: 'https://evil.test', 'access-control-request-method': 'GET' } });
      assert.deepEqual([forwarded.status, forwarded.headers['x-upstream']], [200, 'web'], mode);
    }
  });

  test('CORS simple requests from an allowed origin get allow-origin, credentials and expose headers; others and origin-less requests nothing', async () => {
    for (const [mode, send] of modes()) {
      const ok = await send('/api/items', { headers: { origin: 'https://app.test' } });
      assert.deepEqual([ok.status, ok.headers['access-control-allow-origin'], ok.headers['access-control-allow-credentials'], ok.headers['access-control-expose-headers'], ok.headers['x-upstream']], [200, 'https://app.test', 'true', 'x-total', 'web'], mode);
      const other = await send('/api/items', { headers: { origin: 'https://evil.test' } });
      assert.equal(other.headers['access-control-allow-origin'], undefined);
      const none = await send('/api/items');
      assert.equal(none.headers['access-control-allow-origin'], undefined);
      // The route's deprecated cors, then the virtual host's for the fields the route leaves unset.
      const legacy = await send('/other', { headers: { origin: 'https://route.test' } });
      assert.deepEqual([legacy.headers['access-control-allow-origin'], legacy.headers['access-control-expose-headers']], ['https://route.test', 'x-route'], mode);
      // shadow_enabled only counts: no header, no preflight answer.
      const shadow = await send('/shadow', { method: 'OPTIONS', headers: { origin: 'https://app.test', 'access-control-request-method': 'GET' } });
      assert.deepEqual([shadow.headers['x-upstream'], shadow.headers['access-control-allow-origin']], ['web', undefined], mode);
    }
    for (const store of [mesh.observability.store, sidecar.mesh.observability.store]) {
      assert.ok(store.value('http.mesh.cors.origin_valid') >= 4);
      assert.ok(store.value('http.mesh.cors.origin_invalid') >= 3);
    }
  });

  test('buffer: a body over max_request_bytes (listener\'s, or the route\'s BufferPerRoute) is 413 Payload Too Large; a disabled route streams', async () => {
    for (const [mode, send] of modes()) {
      const small = await send('/upload', { method: 'POST', body: '12345678' });
      assert.deepEqual([small.status, small.body], [200, 'upstream POST /upload 8'], mode);
      const big = await send('/upload', { method: 'POST', body: '123456789' });
      assert.deepEqual([big.status, big.body], [413, 'Payload Too Large'], mode);
      const listenerLimit = await send('/other', { method: 'POST', body: 'x'.repeat(1025) });
      assert.equal(listenerLimit.status, 413, mode);
      const streamed = await send('/stream', { method: 'POST', body: 'x'.repeat(5000) });
      assert.deepEqual([streamed.status, streamed.body], [200, 'upstream POST /stream 5000'], mode);
    }
  });
});

describe('a direct response body that cannot be read refuses the config', () => {
  test('a missing file, a file over max_direct_response_body_size_bytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xmesh-direct-'));
    const big = join(dir, 'big.txt');
    writeFileSync(big, 'x'.repeat(5000));
    try {
      for (const [filename, message] of [[join(dir, 'missing.txt'), /cannot read/], [big, /more than max_direct_response_body_size_bytes \(4096\)/]] as const) {
        const cfg = {
          static_resources: {
            listeners: [{
              name: 'mesh',
              filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
                '@type': HCM, stat_prefix: 'mesh',
                route_config: { name: 'mesh', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 200, body: { filename } } }] }] },
                http_filters: [ROUTER],
              } }] }],
            }],
          },
        };
        const error = await createMesh({ config: cfg }).then(() => undefined, (e: unknown) => e);
        assert.match(String(error), message);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
