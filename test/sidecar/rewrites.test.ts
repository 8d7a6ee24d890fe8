// Route rewrites and header mutations reach real upstreams the same way in every mode: the embedded
// mesh (fetch and gRPC), the mesh in sidecar mode through the xmesh sidecar (the app rewrites
// nothing, so nothing happens twice), and stock clients (undici, node:http2, grpc-js) through the
// sidecar. The upstreams record the path, Host and headers they receive, in order.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { createMesh, type Mesh } from '@xmesh/client';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { unary } from '../support/grpc-call.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
const AUTHORITY = 'shop.example';

interface Seen {
  readonly path: string;
  readonly host: string | undefined;
  readonly headers: IncomingHttpHeaders;
  /** Values of `x-order` in the order they arrived. */
  readonly order: string[];
}

/** An HTTP/1.1 upstream that records each request and answers with a header the config removes and one it keeps. */
async function startRecordingServer(): Promise<{ server: Server; port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const order: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === 'x-order') order.push(...req.rawHeaders[i + 1]!.split(',').map((s) => s.trim()));
    seen.push({ path: req.url ?? '', host: req.headers.host, headers: req.headers, order });
    res.setHeader('x-upstream-secret', 'leak');
    res.setHeader('x-upstream', 'kept');
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, seen };
}

const add = (key: string, value: string, more: Record<string, unknown> = {}) => ({ header: { key, value }, ...more });

/** The config every way uses; modelled on Envoy's route_components.proto rewrite examples. */
function rewritesConfig(httpPort: number, grpcAddress: string): object {
  const staticCluster = (name: string, port: number, extra: object = {}) => ({
    name, type: 'STATIC', connect_timeout: '1s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
    ...extra,
  });
  return {
    static_resources: {
      listeners: [{
        name: 'outbound',
        address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
        filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
          '@type': HCM,
          stat_prefix: 'outbound',
          normalize_path: true,
          merge_slashes: true,
          http_filters: [ROUTER],
          route_config: {
            name: 'shop',
            request_headers_to_add: [add('x-order', 'config')],
            response_headers_to_add: [add('x-resp', 'config')],
            virtual_hosts: [{
              name: 'shop',
              domains: [AUTHORITY, `${AUTHORITY}:*`, 'echo.svc:50051'],
              request_headers_to_add: [add('x-order', 'vhost')],
              request_headers_to_remove: ['x-secret'],
              response_headers_to_remove: ['x-upstream-secret'],
              routes: [
                {
                  match: { prefix: '/api/' },
                  request_headers_to_add: [add('x-order', 'route'), add('x-set', 'route', { append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }), add('x-from', '%REQ(x-caller)%')],
                  route: { cluster: 'http', prefix_rewrite: '/v2/', host_rewrite_literal: 'backend.internal', append_x_forwarded_host: true },
                },
                { match: { prefix: '/re/' }, route: { cluster: 'http', regex_rewrite: { pattern: { regex: '^/re/(\\w+)/(\\w+)' }, substitution: '/\\2/\\1' } } },
                {
                  match: { prefix: '/split' },
                  route: { weighted_clusters: { clusters: [{ name: 'http', weight: 1, host_rewrite_literal: 'split.internal', request_headers_to_add: [add('x-order', 'cluster')] }] } },
                },
                { match: { prefix: '/dns' }, route: { cluster: 'dns', auto_host_rewrite: true } },
                { match: { prefix: '/xmesh.legacy.Echo/' }, route: { cluster: 'grpc', prefix_rewrite: '/xmesh.echo.Echo/' }, request_headers_to_add: [add('x-order', 'route')] },
                { match: { prefix: '/' }, route: { cluster: 'http' } },
              ],
            }],
          },
        } }] }],
      }],
      clusters: [
        staticCluster('http', httpPort),
        staticCluster('grpc', Number(grpcAddress.slice(grpcAddress.lastIndexOf(':') + 1)), { http2_protocol_options: {} }),
        {
          name: 'dns', type: 'STRICT_DNS', dns_lookup_family: 'V4_ONLY', connect_timeout: '1s',
          load_assignment: { cluster_name: 'dns', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'localhost', port_value: httpPort } } } }] }] },
        },
      ],
    },
  };
}

type Way = 'embedded' | 'sidecar-mode' | 'undici-via-sidecar' | 'h2-via-sidecar';
const WAYS: readonly Way[] = ['embedded', 'sidecar-mode', 'undici-via-sidecar', 'h2-via-sidecar'];

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
}

describe('rewrites and header mutations in embedded and sidecar mode', () => {
  let upstream: Awaited<ReturnType<typeof startRecordingServer>>;
  let echo: EchoServer;
  let sidecar: Sidecar;
  let embedded: Mesh;
  let sidecarMode: Mesh;

  before(async () => {
    upstream = await startRecordingServer();
    echo = await startEchoServer('echo');
    const config = rewritesConfig(upstream.port, echo.address);
    sidecar = await startSidecar({ config, listen: '127.0.0.1:0', admin: false });
    embedded = await createMesh({ config, env: {} });
    sidecarMode = await createMesh({ config, env: {}, mode: 'sidecar', sidecar: { address: sidecar.target } });
  });

  after(async () => {
    await embedded?.close();
    await sidecarMode?.close();
    await sidecar?.close();
    await echo?.close();
    await new Promise<void>((resolve) => upstream?.server.close(() => resolve()));
  });

  /** Sends GET `path` with `headers` the way `way` does; returns what the caller got and what the upstream saw. */
  async function send(way: Way, path: string, headers: Record<string, string> = {}): Promise<{ answer: Answer; seen: Seen }> {
    const before = upstream.seen.length;
    let answer: Answer;
    switch (way) {
      case 'embedded':
      case 'sidecar-mode': {
        const mesh = way === 'embedded' ? embedded : sidecarMode;
        const res = await mesh.fetch(`http://${AUTHORITY}${path}`, { headers });
        await res.arrayBuffer();
        answer = { status: res.status, headers: Object.fromEntries(res.headers) };
        break;
      }
      case 'undici-via-sidecar': {
        const res = await request(`http://${sidecar.target}${path}`, { headers: { ...headers, host: AUTHORITY } });
        await res.body.text();
        answer = { status: res.statusCode, headers: res.headers as Answer['headers'] };
        break;
      }
      case 'h2-via-sidecar':
        answer = await h2Get(sidecar.target, path, headers);
        break;
    }
    assert.equal(upstream.seen.length, before + 1, `${way}: one request reached the upstream`);
    return { answer, seen: upstream.seen[upstream.seen.length - 1]! };
  }

  for (const way of WAYS) {
    test(`${way}: prefix_rewrite, host_rewrite_literal and header mutations in Envoy's order`, async () => {
      const { answer, seen } = await send(way, '/api/items?id=7', { 'x-order': 'caller', 'x-set': 'caller', 'x-secret': 's3cret', 'x-caller': 'app-1' });
      assert.equal(answer.status, 200);
      assert.equal(seen.path, '/v2/items?id=7');
      assert.equal(seen.host, 'backend.internal');
      assert.equal(seen.headers['x-forwarded-host'], AUTHORITY);
      assert.deepEqual(seen.order, ['caller', 'route', 'vhost', 'config'], 'route, then virtual host, then route configuration; appended once each');
      assert.equal(seen.headers['x-set'], 'route');
      assert.equal(seen.headers['x-secret'], undefined);
      assert.equal(seen.headers['x-from'], 'app-1');
      assert.equal(answer.headers['x-resp'], 'config');
      assert.equal(answer.headers['x-upstream-secret'], undefined);
      assert.equal(answer.headers['x-upstream'], 'kept');
    });

    test(`${way}: regex_rewrite substitutes RE2 groups`, async () => {
      const { seen } = await send(way, '/re/alpha/beta?q=1');
      assert.equal(seen.path, '/beta/alpha?q=1');
      assert.equal(seen.host, AUTHORITY);
    });

    test(`${way}: a weighted cluster's mutations come first and its host_rewrite_literal applies`, async () => {
      const { seen } = await send(way, '/split');
      assert.deepEqual(seen.order, ['cluster', 'vhost', 'config']);
      assert.equal(seen.host, 'split.internal');
    });

    test(`${way}: auto_host_rewrite sends the STRICT_DNS endpoint's name as Host`, async () => {
      const { seen } = await send(way, '/dns');
      assert.equal(seen.host, 'localhost');
    });

    test(`${way}: normalize_path and merge_slashes: /a//b/../c arrives as /a/c`, async () => {
      const { seen } = await send(way, '/a//b/../c');
      assert.equal(seen.path, '/a/c');
    });
  }

  const { EchoClient: EchoCtor } = loadEcho();
  const legacyEcho = grpc.makeGenericClientConstructor({
    Echo: { ...EchoCtor.service.Echo!, path: '/xmesh.legacy.Echo/Echo' },
  }, 'Legacy');

  for (const way of ['embedded', 'sidecar-mode'] as const) {
    test(`${way}: the fast unary API is rewritten the same way`, async () => {
      const method = EchoCtor.service.Echo!;
      const mesh = way === 'embedded' ? embedded : sidecarMode;
      const reply = method.responseDeserialize(await mesh.unary('echo.svc:50051', '/xmesh.legacy.Echo/Echo', method.requestSerialize({ message: 'fast' }))) as { message: string };
      assert.equal(reply.message, 'fast');
      assert.deepEqual(echo.lastMetadata!.get('x-order').join(', ').split(', '), ['route', 'vhost', 'config']);
    });
  }

  for (const way of ['embedded', 'sidecar-mode', 'grpc-js-via-sidecar'] as const) {
    test(`${way}: a gRPC method path is rewritten and metadata mutated once`, async () => {
      const client = (way === 'grpc-js-via-sidecar'
        ? new legacyEcho(sidecar.target, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'echo.svc:50051' })
        : (way === 'embedded' ? embedded : sidecarMode).grpcClient(legacyEcho, 'echo.svc:50051')) as unknown as EchoClient;
      try {
        const md = new grpc.Metadata();
        md.set('x-secret', 'no');
        const reply = await unary(client, { message: 'hi' }, {}, 'Echo', md);
        assert.equal(reply.message, 'hi', 'the call reached /xmesh.echo.Echo/Echo');
        // grpc-js joins repeated metadata values with ", ".
        assert.deepEqual(echo.lastMetadata!.get('x-order').join(', ').split(', '), ['route', 'vhost', 'config']);
        assert.deepEqual(echo.lastMetadata!.get('x-secret'), []);
      } finally {
        client.close();
      }
    });
  }
});

function h2Get(target: string, path: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = connect(`http://${target}`);
    session.on('error', reject);
    const stream = session.request({ ':path': path, ':authority': AUTHORITY, ...headers });
    let response: Record<string, string | string[] | undefined> = {};
    stream.on('response', (h) => (response = h as typeof response));
    stream.resume();
    stream.on('end', () => {
      session.close();
      resolve({ status: Number(response[':status']), headers: response });
    });
    stream.on('error', reject);
    stream.end();
  });
}
