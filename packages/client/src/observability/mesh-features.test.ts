// Through a real mesh: HTTP retries, fault injection and local rate limiting from Envoy config,
// stats in Prometheus and /stats text, the admin server (config_status with a rejected update),
// and trace headers reaching upstreams. Real HTTP and gRPC servers on port 0.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import diagnostics from 'node:diagnostics_channel';
import * as grpc from '@grpc/grpc-js';
import { isMeshError } from '@xmesh/core';
import { parsePrometheusText } from '@xmesh/stats';
import { createMesh, type Mesh } from '@xmesh/client';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../../../../test/support/echo-server.js';
import { unary } from '../../../../test/support/grpc-call.js';

const { EchoClient: EchoCtor } = loadEcho();
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const FAULT = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const RATE_LIMIT = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

interface HttpUpstream {
  readonly server: Server;
  port: number;
  /** Requests received: path and headers. */
  readonly seen: { path: string; headers: IncomingMessage['headers'] }[];
}

function httpUpstream(status: (n: number) => number): HttpUpstream {
  const up: HttpUpstream = {
    port: 0,
    seen: [],
    server: createServer((req, res) => {
      up.seen.push({ path: req.url ?? '', headers: req.headers });
      const code = status(up.seen.length);
      res.writeHead(code, { 'content-type': 'text/plain' });
      res.end(`status ${code} #${up.seen.length}`);
    }),
  };
  return up;
}

function cluster(name: string, ports: number[], extra: Record<string, unknown> = {}): object {
  return {
    name, type: 'STATIC', connect_timeout: '1s', ...extra,
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: ports.map((port) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } })) }] },
  };
}

function meshConfig(ports: { flaky: number; good: number; echo: number; deadPort: number }, version: string): object {
  const backoff = { base_interval: '0.001s', max_interval: '0.002s' };
  return {
    static_resources: {
      listeners: [{
        name: 'mesh',
        address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
        filter_chains: [{ filters: [{
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: {
            '@type': HCM,
            stat_prefix: 'mesh',
            tracing: { provider: { name: 'envoy.tracers.opentelemetry' } },
            route_config: {
              name: 'mesh',
              virtual_hosts: [{
                name: 'all',
                domains: ['*'],
                routes: [
                  { name: 'retry5xx', stat_prefix: 'retries', match: { prefix: '/retry' }, route: { cluster: 'httpFlaky', retry_policy: { retry_on: '5xx', num_retries: 2, retry_back_off: backoff } } },
                  { name: 'connect', match: { prefix: '/connect' }, route: { cluster: 'httpDead', retry_policy: { retry_on: 'connect-failure', num_retries: 1, retry_back_off: backoff } } },
                  {
                    name: 'faulty', match: { prefix: '/faulty' }, route: { cluster: 'httpGood' },
                    typed_per_filter_config: { 'envoy.filters.http.fault': { '@type': FAULT, abort: { http_status: 418, percentage: { numerator: 100 } } } },
                  },
                  {
                    name: 'limited', match: { prefix: '/limited' }, route: { cluster: 'httpGood', rate_limits: [{ actions: [{ request_headers: { header_name: 'x-user', descriptor_key: 'user' } }] }] },
                    typed_per_filter_config: {
                      'envoy.filters.http.local_ratelimit': {
                        '@type': RATE_LIMIT, stat_prefix: 'per_user',
                        token_bucket: { max_tokens: 1000, tokens_per_fill: 1000, fill_interval: '60s' },
                        filter_enabled: { default_value: { numerator: 100 } }, filter_enforced: { default_value: { numerator: 100 } },
                        descriptors: ['ann', 'bob'].map((user) => ({ entries: [{ key: 'user', value: user }], token_bucket: { max_tokens: 2, tokens_per_fill: 2, fill_interval: '60s' } })),
                      },
                    },
                  },
                  {
                    name: 'headers', match: { prefix: '/headers' }, route: { cluster: 'httpGood' },
                    typed_per_filter_config: {
                      'envoy.filters.http.local_ratelimit': {
                        '@type': RATE_LIMIT, stat_prefix: 'shadow',
                        token_bucket: { max_tokens: 2, tokens_per_fill: 2, fill_interval: '60s' },
                        filter_enabled: { default_value: { numerator: 100 } },
                        enable_x_ratelimit_headers: 'DRAFT_VERSION_03',
                        request_headers_to_add_when_not_enforced: [{ header: { key: 'x-rate-limited-shadow', value: 'true' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
                      },
                    },
                  },
                  {
                    name: 'grpcFault', match: { prefix: '/xmesh.echo.Echo/', headers: [{ name: 'x-chaos', present_match: true }] }, route: { cluster: 'echo' },
                    typed_per_filter_config: { 'envoy.filters.http.fault': { '@type': FAULT, abort: { grpc_status: 8, percentage: { numerator: 100 } } } },
                  },
                  { name: 'grpc', match: { prefix: '/xmesh.echo.Echo/' }, route: { cluster: 'echo' } },
                  { name: 'plain', match: { prefix: '/' }, route: { cluster: 'httpGood' } },
                ],
              }],
            },
            http_filters: [
              { name: 'envoy.filters.http.fault', typed_config: { '@type': FAULT } },
              { name: 'envoy.filters.http.local_ratelimit', typed_config: { '@type': RATE_LIMIT, stat_prefix: 'listener_rl' } },
              { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER } },
            ],
          },
        }] }],
      }],
      clusters: [
        cluster('httpFlaky', [ports.flaky]),
        cluster('httpGood', [ports.good]),
        cluster('httpDead', [ports.deadPort, ports.good]),
        cluster('echo', [ports.echo], { http2_protocol_options: {} }),
      ],
    },
    // A label only, so two configs differ.
    node: { id: version },
  };
}

describe('mesh features end to end', () => {
  const flaky = httpUpstream((n) => (n % 3 === 0 ? 200 : 503));
  const good = httpUpstream(() => 200);
  let deadPort = 0;
  let echoServer: EchoServer;
  let mesh: Mesh;
  let echo: EchoClient;
  let ports: { flaky: number; good: number; echo: number; deadPort: number };

  before(async () => {
    for (const up of [flaky, good]) {
      await new Promise<void>((r) => up.server.listen(0, '127.0.0.1', r));
      up.port = (up.server.address() as AddressInfo).port;
    }
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    deadPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    echoServer = await startEchoServer('echo');
    ports = { flaky: flaky.port, good: good.port, echo: echoServer.port, deadPort };
    mesh = await createMesh({ config: meshConfig(ports, 'v1') });
    echo = mesh.grpcClient(EchoCtor, 'dns:///echo.default.svc:50051') as EchoClient;
  });

  after(async () => {
    echo.close();
    await mesh.close();
    await echoServer.close();
    await Promise.all([flaky, good].map((u) => new Promise<void>((r) => u.server.close(() => r()))));
  });

  test('HTTP: 5xx responses are retried until one succeeds, up to num_retries', async () => {
    const res = await mesh.fetch('http://api.svc/retry/a');
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'status 200 #3');
    assert.equal(flaky.seen.length, 3);
    // Every attempt carries the same request id and trace context.
    assert.equal(new Set(flaky.seen.map((r) => r.headers['x-request-id'])).size, 1);
    assert.equal(new Set(flaky.seen.map((r) => r.headers.traceparent)).size, 1);
    assert.match(String(flaky.seen[0]!.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    const store = mesh.observability.store;
    assert.equal(store.value('cluster.httpFlaky.upstream_rq_503'), 2);
    assert.equal(store.value('cluster.httpFlaky.upstream_rq_200'), 1);
    assert.equal(store.value('cluster.httpFlaky.upstream_rq_retry'), 2);
    assert.equal(store.value('cluster.httpFlaky.upstream_rq_retry_success'), 1);
    assert.equal(store.value('vhost.all.route.retries.upstream_rq_total'), 3);
    assert.equal(store.value('vhost.all.route.retries.upstream_rq_retry'), 2);
    // Routes without stat_prefix keep no route stats, as in Envoy.
    assert.deepEqual([...store.all()].map((s) => s.name).filter((n) => n.startsWith('vhost.')).every((n) => n.startsWith('vhost.all.route.retries.')), true);
  });

  test('HTTP: connect failures are retried on the other endpoint', async () => {
    const before = good.seen.length;
    for (let i = 0; i < 4; i++) {
      const res = await mesh.fetch(`http://api.svc/connect/${i}`).catch((e: Error) => { throw e.cause ?? e; });
      assert.equal(res.status, 200);
      await res.text();
    }
    assert.equal(good.seen.length - before, 4);
    assert.ok(mesh.observability.store.value('cluster.httpDead.upstream_rq_retry') >= 1);
  });

  test('fault abort from typed_per_filter_config: HTTP 418, and gRPC RESOURCE_EXHAUSTED; counted', async () => {
    // The HTTP front end answers mesh-originated ends with the local reply a sidecar would send.
    const aborted = await mesh.fetch('http://api.svc/faulty');
    assert.equal(aborted.status, 418);
    assert.equal(aborted.headers.get('x-xmesh-error-code'), 'XMESH_FAULT_ABORT');
    assert.equal(await aborted.text(), 'fault filter abort\n');
    const md = new grpc.Metadata();
    md.set('x-chaos', '1');
    await assert.rejects(unary(echo, { message: 'x' }, {}, 'Echo', md), { code: grpc.status.RESOURCE_EXHAUSTED });
    assert.equal((await unary(echo, { message: 'fine' })).message, 'fine');
    assert.equal(mesh.observability.store.value('http.mesh.fault.aborts_injected'), 2);
  });

  test('local rate limit per header value, from the route override', async () => {
    const statuses = async (user: string, n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const res = await mesh.fetch('http://api.svc/limited', { headers: { 'x-user': user } });
        const body = await res.text();
        if (res.status === 429) assert.deepEqual([res.headers.get('x-xmesh-error-code'), body], ['XMESH_RATE_LIMITED', 'local_rate_limited\n']);
        out.push(res.status);
      }
      return out;
    };
    assert.deepEqual(await statuses('ann', 3), [200, 200, 429]);
    assert.deepEqual(await statuses('bob', 2), [200, 200]);
    assert.equal(mesh.observability.store.value('per_user.http_local_rate_limit.rate_limited'), 1);
    assert.equal(mesh.observability.store.value('listener_rl.http_local_rate_limit.enabled'), 0, 'listener config has filter_enabled 0 %');
  });

  test('shadow mode lets limited calls through with its request headers; x-ratelimit-* headers reach the caller', async () => {
    const remaining: string[] = [];
    const shadowHeader: (string | undefined)[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await mesh.fetch('http://api.svc/headers');
      await res.text();
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-ratelimit-limit'), '2');
      remaining.push(res.headers.get('x-ratelimit-remaining') ?? '?');
      assert.match(res.headers.get('x-ratelimit-reset') ?? '', /^\d+$/);
      const seen = good.seen[good.seen.length - 1]!.headers['x-rate-limited-shadow'];
      shadowHeader.push(typeof seen === 'string' ? seen : undefined);
    }
    assert.deepEqual(remaining, ['1', '0', '0']);
    assert.deepEqual(shadowHeader, [undefined, undefined, 'true']);
    assert.equal(mesh.observability.store.value('shadow.http_local_rate_limit.rate_limited'), 1);
    assert.equal(mesh.observability.store.value('shadow.http_local_rate_limit.enforced'), 0);
  });

  test('traceparent and x-request-id reach the upstream; a caller traceparent is continued', async () => {
    const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await (await mesh.fetch('http://api.svc/plain', { headers: { traceparent: parent, 'x-request-id': 'req-42' } })).text();
    const seen = good.seen[good.seen.length - 1]!.headers;
    assert.match(String(seen.traceparent), /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    assert.equal(seen['x-request-id'], 'req-42');
    await unary(echo, { message: 't' });
    // A new trace, sampled as Envoy's tracing decision says (random_sampling defaults to 100 %), the decision packed in the id.
    assert.match(String(echoServer.lastMetadata?.get('traceparent')[0]), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    assert.match(String(echoServer.lastMetadata?.get('x-request-id')[0]), /^[0-9a-f]{8}-[0-9a-f]{4}-9[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  test('diagnostics channels report attempts only to subscribers', async () => {
    const ends: unknown[] = [];
    const onEnd = (message: unknown) => ends.push(message);
    diagnostics.subscribe('xmesh:attempt:end', onEnd);
    try {
      await unary(echo, { message: 'd' });
    } finally {
      diagnostics.unsubscribe('xmesh:attempt:end', onEnd);
    }
    await unary(echo, { message: 'd2' });
    assert.equal(ends.length, 1);
    assert.equal((ends[0] as { cluster: string }).cluster, 'echo');
  });

  test('/stats/prometheus parses strictly; /stats is Envoy text; /xmesh/config_status shows a rejected update', async () => {
    const admin = await mesh.observability.startAdmin();
    try {
      assert.equal(admin.host, '127.0.0.1');
      const prom = await (await fetch(`${admin.url}/stats/prometheus`)).text();
      const families = parsePrometheusText(prom);
      const total = families.get('envoy_cluster_upstream_rq_total')!;
      assert.equal(total.type, 'counter');
      assert.ok(total.samples.find((s) => s.labels.envoy_cluster_name === 'httpFlaky')!.value >= 3);
      assert.equal(families.get('envoy_cluster_upstream_rq_time')?.type, 'histogram');
      assert.ok(families.has('envoy_cluster_circuit_breakers_default_rq_open'), 'breaker gauges are exposed too');
      const text = await (await fetch(`${admin.url}/stats?filter=^cluster\\.httpFlaky\\.upstream_rq_5`)).text();
      assert.equal(text, 'cluster.httpFlaky.upstream_rq_503: 2\ncluster.httpFlaky.upstream_rq_5xx: 2\n');
      assert.equal((await fetch(`${admin.url}/ready`)).status, 200);
      const clusters = await (await fetch(`${admin.url}/clusters`)).text();
      assert.match(clusters, new RegExp(`^httpGood::127\\.0\\.0\\.1:${good.port}::health_flags::healthy$`, 'm'));

      const bad = meshConfig(ports, 'v2') as { static_resources: { clusters: Record<string, unknown>[] } };
      bad.static_resources.clusters[0]!.type = 'NOT_A_TYPE';
      await assert.rejects(mesh.update(bad), (err: unknown) => isMeshError(err) && err.code === 'XMESH_CONFIG_INVALID');
      const status = await (await fetch(`${admin.url}/xmesh/config_status`)).json() as {
        applied: { version: string };
        last_rejected: { errors: { path: string; message: string }[] };
      };
      assert.equal(typeof status.applied.version, 'string');
      assert.ok(status.last_rejected.errors.some((e) => /clusters\[0\]\.type/.test(e.path)), JSON.stringify(status.last_rejected.errors));
      const dump = await (await fetch(`${admin.url}/config_dump?resource=static_clusters&mask=cluster.name`)).json() as { configs: { cluster: { name: string } }[] };
      assert.ok(dump.configs.some((c) => c.cluster.name === 'httpFlaky'), 'the applied config is still the first one');
    } finally {
      await admin.close();
    }
  });
});
