// B3 propagation under Envoy's Zipkin tracer (`envoy.tracers.zipkin`), checked in both modes against
// stock upstreams (node http, grpc-js): on an OUTBOUND listener the upstream gets the caller's trace
// id, a new span id and the caller's span as parent, the caller's sampled flag kept; a caller
// without B3 starts a new 128-bit trace (trace_id_128bit); retries carry the same ids.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { createMesh, type Mesh } from '@xmesh/client';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from './echo-server.js';
import { unary } from './grpc-call.js';
import { lbEndpoints } from './mesh-config.js';
import { waitFor } from './wait.js';

const { EchoClient: EchoCtor } = loadEcho();
const TRACE = '463ac35c9f6413ad48485a3953bb6124';
const SPAN = 'a2fb4a1d1a96d312';
const GRANDPARENT = '0020000000000001';
const SPAN_ID = /^[0-9a-f]{16}$/;
const TRACE_ID_128 = /^[0-9a-f]{32}$/;

/** The listener (OUTBOUND, Zipkin with 128-bit trace ids, modelled on envoyproxy/examples zipkin/envoy-front-proxy.yaml) and its clusters. */
function zipkinConfig(web: string, echo: string, shadow: string): object {
  const backoff = { base_interval: '0.001s', max_interval: '0.002s' };
  return {
    static_resources: {
      listeners: [{
        name: 'mesh',
        address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
        traffic_direction: 'OUTBOUND',
        filter_chains: [{ filters: [{
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
            stat_prefix: 'mesh',
            tracing: {
              provider: {
                name: 'envoy.tracers.zipkin',
                typed_config: {
                  '@type': 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig',
                  collector_cluster: 'zipkin',
                  collector_endpoint: '/api/v2/spans',
                  collector_endpoint_version: 'HTTP_JSON',
                  trace_id_128bit: true,
                  trace_context_option: 'USE_B3',
                },
              },
            },
            route_config: {
              name: 'mesh',
              virtual_hosts: [
                { name: 'echo', domains: ['echo.svc', 'echo.svc:*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'echo' } }] },
                {
                  name: 'web',
                  domains: ['*'],
                  routes: [
                    { match: { prefix: '/flaky' }, route: { cluster: 'web', retry_policy: { retry_on: '5xx', num_retries: 1, retry_back_off: backoff } } },
                    { match: { prefix: '/mirrored' }, route: { cluster: 'web', request_mirror_policies: [{ cluster: 'shadow', trace_sampled: false }] } },
                    { match: { prefix: '/' }, route: { cluster: 'web' } },
                  ],
                },
              ],
            },
            http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
          },
        }] }],
      }],
      clusters: [
        { name: 'web', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'web', endpoints: [{ lb_endpoints: lbEndpoints([web]) }] } },
        { name: 'shadow', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'shadow', endpoints: [{ lb_endpoints: lbEndpoints([shadow]) }] } },
        { name: 'echo', type: 'STATIC', connect_timeout: '1s', http2_protocol_options: {}, load_assignment: { cluster_name: 'echo', endpoints: [{ lb_endpoints: lbEndpoints([echo]) }] } },
      ],
    },
  };
}

/** The caller's B3 multi headers: trace, span (the caller's), its parent, sampled `0`. */
const CALLER_B3 = { 'x-b3-traceid': TRACE, 'x-b3-spanid': SPAN, 'x-b3-parentspanid': GRANDPARENT, 'x-b3-sampled': '0' };

/** Asserts `headers` continue CALLER_B3 as a child span (OUTBOUND listener). */
function assertChildOfCaller(headers: Record<string, string | undefined>): void {
  assert.equal(headers['x-b3-traceid'], TRACE);
  assert.match(String(headers['x-b3-spanid']), SPAN_ID);
  assert.notEqual(headers['x-b3-spanid'], SPAN);
  assert.equal(headers['x-b3-parentspanid'], SPAN);
  assert.equal(headers['x-b3-sampled'], '0');
}

/** Asserts `headers` start a new trace: 128-bit trace id whose low half is the root span id, no parent, sampled (random_sampling defaults to 100 %). */
function assertNewTrace(headers: Record<string, string | undefined>): void {
  assert.match(String(headers['x-b3-traceid']), TRACE_ID_128);
  assert.match(String(headers['x-b3-spanid']), SPAN_ID);
  assert.equal(headers['x-b3-traceid']!.slice(16), headers['x-b3-spanid']);
  assert.equal(headers['x-b3-parentspanid'], undefined);
  assert.equal(headers['x-b3-sampled'], '1');
  assert.equal(headers.traceparent, undefined, 'the Zipkin tracer writes no traceparent');
}

const b3Of = (md: grpc.Metadata | undefined): Record<string, string | undefined> => {
  const out: Record<string, string | undefined> = {};
  for (const name of ['x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'b3', 'traceparent']) {
    const value = md?.get(name)[0];
    out[name] = typeof value === 'string' ? value : undefined;
  }
  return out;
};

const textHeaders = (headers: IncomingHttpHeaders): Record<string, string | undefined> =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]));

/**
 * Run by test/embedded/b3-propagation.test.ts (`embedded`: the app's mesh writes the B3 headers) and
 * test/sidecar/b3-propagation.test.ts (`sidecar`: stock clients call the sidecar, which writes them; an
 * app in sidecar mode writes none).
 */
export function describeB3Propagation(mode: 'embedded' | 'sidecar'): void {
  describe(`B3 propagation (Zipkin tracer), ${mode}`, () => {
    let web: Server;
    let webAddress: string;
    let shadow: Server;
    const copies: Record<string, string | undefined>[] = [];
    const seen: { path: string; headers: Record<string, string | undefined> }[] = [];
    const failedOnce = new Set<string>();
    let echoServer: EchoServer;
    let sidecar: Sidecar | undefined;
    let mesh: Mesh;
    let echo: EchoClient;

    /** An HTTP GET of `path` as the caller sends it: through the app's mesh, or a stock undici request to the sidecar. */
    const get = async (path: string, headers: Record<string, string> = {}): Promise<string> => {
      if (sidecar === undefined) return (await mesh.fetch(`http://web.svc${path}`, { headers })).text();
      const response = await request(`http://${sidecar.target}${path}`, { headers: { ...headers, host: 'web.svc' } });
      return response.body.text();
    };

    before(async () => {
      web = createServer((req, res) => {
        seen.push({ path: req.url ?? '', headers: textHeaders(req.headers) });
        // /flaky: the first attempt of each request id fails with 503 (retried by the route).
        const id = String(req.headers['x-request-id']);
        if (req.url === '/flaky' && !failedOnce.has(id)) {
          failedOnce.add(id);
          res.writeHead(503).end('try again');
          return;
        }
        res.end('ok');
      });
      await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
      webAddress = `127.0.0.1:${(web.address() as AddressInfo).port}`;
      shadow = createServer((req, res) => {
        copies.push(textHeaders(req.headers));
        res.end('copy');
      });
      await new Promise<void>((resolve) => shadow.listen(0, '127.0.0.1', resolve));
      echoServer = await startEchoServer('echo');
      const config = zipkinConfig(webAddress, echoServer.address, `127.0.0.1:${(shadow.address() as AddressInfo).port}`);
      if (mode === 'sidecar') {
        sidecar = await startSidecar({ config, listen: '127.0.0.1:0', admin: false });
        echo = new EchoCtor(sidecar.target, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'echo.svc' }) as EchoClient;
      }
      mesh = await createMesh({ config, mode, ...(sidecar === undefined ? {} : { sidecar: { address: sidecar.target } }), env: {} });
      echo ??= mesh.grpcClient(EchoCtor, 'echo.svc:50051') as EchoClient;
    });

    after(async () => {
      echo.close();
      await mesh.close();
      if (sidecar !== undefined) await sidecar.close();
      await echoServer.close();
      await new Promise<void>((resolve) => web.close(() => resolve()));
      await new Promise<void>((resolve) => shadow.close(() => resolve()));
    });

    test('HTTP: a caller\'s B3 context continues with a new span id, the caller\'s span as parent, its sampled flag kept', async () => {
      const before = seen.length;
      assert.equal(await get('/plain', CALLER_B3), 'ok');
      assertChildOfCaller(seen[before]!.headers);
    });

    test('HTTP: a caller without B3 starts a new trace (128-bit trace id, root span, sampled)', async () => {
      const before = seen.length;
      assert.equal(await get('/plain'), 'ok');
      assert.equal(await get('/plain'), 'ok');
      const [first, second] = [seen[before]!.headers, seen[before + 1]!.headers];
      assertNewTrace(first);
      assertNewTrace(second);
      assert.notEqual(first['x-b3-traceid'], second['x-b3-traceid']);
    });

    test('HTTP: a caller\'s single b3 header is read (the multi headers are written; the b3 header goes on as sent)', async () => {
      const before = seen.length;
      const single = `${TRACE}-${SPAN}-1`;
      assert.equal(await get('/plain', { b3: single }), 'ok');
      const headers = seen[before]!.headers;
      assert.equal(headers['x-b3-traceid'], TRACE);
      assert.equal(headers['x-b3-parentspanid'], SPAN);
      assert.match(String(headers['x-b3-spanid']), SPAN_ID);
      assert.equal(headers['x-b3-sampled'], '1');
      assert.equal(headers.b3, single);
    });

    test('HTTP: a retry sends the same B3 ids as the first attempt', async () => {
      const before = seen.length;
      assert.equal(await get('/flaky', CALLER_B3), 'ok');
      const attempts = seen.slice(before);
      assert.equal(attempts.length, 2);
      assertChildOfCaller(attempts[0]!.headers);
      assert.equal(attempts[1]!.headers['x-b3-spanid'], attempts[0]!.headers['x-b3-spanid']);
      assert.equal(attempts[1]!.headers['x-request-id'], attempts[0]!.headers['x-request-id']);
    });

    test('HTTP: a mirror copy is a child span of the call\'s (new span id, the call\'s span as parent), trace_sampled false unsampling it', async () => {
      const before = seen.length;
      const copiesBefore = copies.length;
      assert.equal(await get('/mirrored', { ...CALLER_B3, 'x-b3-sampled': '1' }), 'ok');
      await waitFor(() => copies.length === copiesBefore + 1, 'the mirror copy');
      const call = seen[before]!.headers;
      const copy = copies[copiesBefore]!;
      assert.equal(call['x-b3-sampled'], '1');
      assert.equal(copy['x-b3-traceid'], TRACE);
      assert.equal(copy['x-b3-parentspanid'], call['x-b3-spanid']);
      assert.match(String(copy['x-b3-spanid']), SPAN_ID);
      assert.notEqual(copy['x-b3-spanid'], call['x-b3-spanid']);
      assert.equal(copy['x-b3-sampled'], '0');
    });

    test('gRPC (a stock grpc-js server): the caller\'s B3 metadata continues; without it a new trace starts', async () => {
      const md = new grpc.Metadata();
      for (const [name, value] of Object.entries(CALLER_B3)) md.set(name, value);
      assert.equal((await unary(echo, { message: 'traced' }, {}, 'Echo', md)).message, 'traced');
      assertChildOfCaller(b3Of(echoServer.lastMetadata));
      assert.equal((await unary(echo, { message: 'fresh' })).message, 'fresh');
      assertNewTrace(b3Of(echoServer.lastMetadata));
    });

    if (mode === 'embedded') {
      test('the fast unary API (mesh.unary) carries the same B3 headers', async () => {
        const codec = EchoCtor.service['Echo']!;
        const reply = await mesh.unary('echo.svc:50051', '/xmesh.echo.Echo/Echo', codec.requestSerialize({ message: 'fast' }), { metadata: CALLER_B3 });
        assert.equal((codec.responseDeserialize(Buffer.from(reply)) as { message: string }).message, 'fast');
        assertChildOfCaller(b3Of(echoServer.lastMetadata));
      });
    } else {
      test('an app in sidecar mode writes no B3 headers: the sidecar\'s span is the only hop (the caller\'s span is the parent)', async () => {
        const before = seen.length;
        assert.equal(await (await mesh.fetch('http://web.svc/plain', { headers: CALLER_B3 })).text(), 'ok');
        assertChildOfCaller(seen[before]!.headers);
      });
    }
  });
}
