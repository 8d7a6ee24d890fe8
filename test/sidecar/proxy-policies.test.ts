// Route policies applied by the sidecar to proxied bytes: a retried HTTP/1.1 POST gets its whole
// body again, a retried gRPC call over h2c too, a route timeout ends a slow call locally, and the
// local rate limit's request and response headers reach the upstream and the client.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { unary } from '../support/grpc-call.js';
import { startFlakyServer, type FlakyServer } from './flaky-server.js';

const { EchoClient: EchoCtor } = loadEcho();
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const RATE_LIMIT = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';

function staticCluster(name: string, address: string, http2: boolean): object {
  const i = address.lastIndexOf(':');
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    ...(http2 ? { http2_protocol_options: {} } : {}),
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: address.slice(0, i), port_value: Number(address.slice(i + 1)) } } } }] }] },
  };
}

describe('sidecar route policies on proxied requests', () => {
  let web: HttpServer;
  let headerEcho: HttpServer;
  let flaky: FlakyServer;
  let slow: EchoServer;
  let sidecar: Sidecar;
  /** Bodies the HTTP upstream received, in order; every first attempt of a body gets 503. */
  const bodies: string[] = [];

  before(async () => {
    web = createHttpServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        const first = !bodies.includes(body);
        bodies.push(body);
        res.statusCode = first ? 503 : 200;
        res.end(first ? 'try again' : `got ${body.length}`);
      });
    });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    headerEcho = createHttpServer((req, res) => res.end(JSON.stringify(req.headers)));
    await new Promise<void>((resolve) => headerEcho.listen(0, '127.0.0.1', resolve));
    flaky = await startFlakyServer();
    slow = await startEchoServer('slow');
    const retry = { retry_on: '5xx,unavailable', num_retries: 2, retry_back_off: { base_interval: '0.001s' } };
    const config = {
      static_resources: {
        listeners: [{
          name: 'outbound',
          filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
            '@type': HCM,
            stat_prefix: 'outbound',
            route_config: { name: 'outbound', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [
              { match: { prefix: '/upload' }, route: { cluster: 'web', retry_policy: retry } },
              {
                match: { prefix: '/shadow' }, route: { cluster: 'headers' },
                typed_per_filter_config: { 'envoy.filters.http.local_ratelimit': {
                  '@type': RATE_LIMIT, stat_prefix: 'shadow',
                  token_bucket: { max_tokens: 1, tokens_per_fill: 1, fill_interval: '60s' },
                  filter_enabled: { default_value: { numerator: 100 } },
                  enable_x_ratelimit_headers: 'DRAFT_VERSION_03',
                  request_headers_to_add_when_not_enforced: [{ header: { key: 'x-rate-limited-shadow', value: 'true' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
                } },
              },
              { match: { prefix: '/', headers: [{ name: 'x-route', string_match: { exact: 'slow' } }] }, route: { cluster: 'slow', timeout: '0.1s' } },
              { match: { prefix: '/' }, route: { cluster: 'flaky', retry_policy: retry } },
            ] }] },
            http_filters: [
              { name: 'envoy.filters.http.local_ratelimit', typed_config: { '@type': RATE_LIMIT, stat_prefix: 'listener_rl' } },
              { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
            ],
          } }] }],
        }],
        clusters: [
          staticCluster('web', `127.0.0.1:${(web.address() as { port: number }).port}`, false),
          staticCluster('headers', `127.0.0.1:${(headerEcho.address() as { port: number }).port}`, false),
          staticCluster('flaky', flaky.address, true),
          staticCluster('slow', slow.address, true),
        ],
      },
    };
    sidecar = await startSidecar({ config, listen: '127.0.0.1:0', admin: false });
  });

  after(async () => {
    await sidecar.close();
    web.close();
    headerEcho.close();
    await Promise.all([flaky.close(), slow.close()]);
  });

  test('a 503 to an HTTP/1.1 POST is retried with the whole streamed body', async () => {
    const body = 'x'.repeat(300_000);
    const res = await request(`http://${sidecar.target}/upload`, { method: 'POST', headers: { host: 'web.svc' }, body });
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), `got ${body.length}`);
    assert.deepEqual(bodies.map((b) => b.length), [body.length, body.length]);
  });

  test('UNAVAILABLE from a gRPC upstream is retried through the sidecar until it succeeds', async () => {
    const client = new EchoCtor(sidecar.target, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'flaky.svc' }) as EchoClient;
    const before = flaky.attempts;
    const reply = await unary(client, { message: 'k:2' });
    assert.equal(reply.message, 'k:2');
    assert.equal(flaky.attempts - before, 3);
    client.close();
  });

  test('a route timeout ends a slow call with DEADLINE_EXCEEDED from the sidecar', async () => {
    const client = new EchoCtor(sidecar.target, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'slow.svc' }) as EchoClient;
    const md = new grpc.Metadata();
    md.set('x-route', 'slow');
    const started = performance.now();
    // The upstream holds the call until released: only the 100 ms route timeout can end it.
    const error = await unary(client, { message: 'hold' }, {}, 'Echo', md).then(() => undefined, (e: grpc.ServiceError) => e);
    const elapsed = performance.now() - started;
    slow.release();
    assert.equal(error?.code, grpc.status.DEADLINE_EXCEEDED);
    assert.deepEqual(error?.metadata.get('x-xmesh-error-code'), ['XMESH_TIMEOUT']);
    assert.ok(elapsed >= 90 && elapsed < 10_000, `ended after ${elapsed} ms`);
    client.close();
  });

  test('the local rate limit in shadow mode: its request header reaches the upstream, x-ratelimit-* the client', async () => {
    const seen: { shadow: unknown; remaining: unknown; status: number }[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await request(`http://${sidecar.target}/shadow`, { headers: { host: 'api.svc' } });
      const upstream = (await res.body.json()) as Record<string, unknown>;
      seen.push({ shadow: upstream['x-rate-limited-shadow'], remaining: res.headers['x-ratelimit-remaining'], status: res.statusCode });
    }
    assert.deepEqual(seen, [
      { shadow: undefined, remaining: '0', status: 200 },
      { shadow: 'true', remaining: '0', status: 200 },
    ]);
  });
});
