// The x-envoy-* request headers as Envoy's router and connection manager treat them, in both modes:
// the timeout and retry headers a trusted caller sends (the app's per-call options travel as them)
// are read and never reach the upstream; an external caller's are removed unread, with the rest of
// Envoy's internal-only set and `internal_only_headers`; every attempt carries
// x-envoy-expected-rq-timeout-ms unless the router suppresses it, and x-envoy-attempt-count /
// x-envoy-is-timeout-retry when the virtual host asks. Stock node:http and grpc-js upstreams record
// what they received.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { createMesh, type Mesh } from '@xmesh/client';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { bootstrap } from '../support/mesh-config.js';
import { loadEcho, type EchoClient, type EchoReply, type EchoRequest } from '../support/echo-server.js';
import { unary } from '../support/grpc-call.js';

const CONSUMED = [
  'x-envoy-upstream-rq-timeout-ms', 'x-envoy-upstream-rq-per-try-timeout-ms', 'x-envoy-max-retries', 'x-envoy-retry-on',
  'x-envoy-retry-grpc-on', 'x-envoy-retriable-status-codes', 'x-envoy-retriable-header-names',
];

/** An upstream that records each request's headers and answers by path: /503-once fails its first call per `x-test` id. */
class RecordingUpstream {
  readonly seen: { path: string; headers: IncomingHttpHeaders }[] = [];
  private readonly failedOnce = new Set<string>();
  private server: Server | undefined;
  address = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.seen.push({ path: req.url ?? '', headers: req.headers });
      req.resume();
      const id = String(req.headers['x-test'] ?? '');
      if (req.url === '/503-once' && !this.failedOnce.has(id)) {
        this.failedOnce.add(id);
        res.statusCode = 503;
        res.end('down');
        return;
      }
      if (req.url === '/stall-once' && !this.failedOnce.has(id)) {
        this.failedOnce.add(id);
        return; // never answered: the per-try timeout ends it
      }
      if (req.url === '/slow') {
        setTimeout(() => res.end('slow'), 1500).unref();
        return;
      }
      res.end('ok');
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.address = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  last(id: string): IncomingHttpHeaders {
    const found = this.seen.filter((s) => s.headers['x-test'] === id);
    assert.ok(found.length > 0, `no request with x-test ${id}`);
    return found.at(-1)!.headers;
  }

  all(id: string): IncomingHttpHeaders[] {
    return this.seen.filter((s) => s.headers['x-test'] === id).map((s) => s.headers);
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

type Json = Record<string, unknown>;

/** A bootstrap with one route (`action` extras), the virtual host's extras, the HCM's extras and the router's typed_config extras. */
function config(address: string, { action = {}, vhost = {}, hcm = {}, router = {}, routeConfig = {} }: { action?: Json; vhost?: Json; hcm?: Json; router?: Json; routeConfig?: Json }): object {
  const cfg = bootstrap({ routes: [{ cluster: 'web' }], clusters: { web: [address] }, hcm }) as { static_resources: { listeners: { filter_chains: { filters: { typed_config: Json }[] }[] }[] } };
  const hcmConfig = cfg.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config as {
    route_config: Json & { virtual_hosts: (Json & { routes: { route: Json }[] })[] };
    http_filters: { typed_config: Json }[];
  };
  Object.assign(hcmConfig.route_config, routeConfig);
  Object.assign(hcmConfig.route_config.virtual_hosts[0]!, vhost);
  Object.assign(hcmConfig.route_config.virtual_hosts[0]!.routes[0]!.route, action);
  Object.assign(hcmConfig.http_filters.at(-1)!.typed_config, router);
  return cfg;
}

function assertNoneOf(headers: IncomingHttpHeaders | grpc.Metadata, names: readonly string[], where: string): void {
  for (const name of names) {
    const value = headers instanceof grpc.Metadata ? headers.get(name)[0] : headers[name];
    assert.equal(value, undefined, `${where}: ${name} reached the upstream`);
  }
}

describe('embedded mode: the app is an internal caller', () => {
  let upstream: RecordingUpstream;
  const meshes: Mesh[] = [];

  before(async () => {
    upstream = await new RecordingUpstream().start();
  });
  after(async () => {
    await Promise.all(meshes.map((m) => m.close()));
    await upstream.close();
  });

  async function meshWith(parts: Parameters<typeof config>[1]): Promise<Mesh> {
    const mesh = await createMesh({ config: config(upstream.address, parts) });
    meshes.push(mesh);
    return mesh;
  }

  test('per-call options and raw x-envoy-* headers are honoured and consumed; the expected timeout goes upstream', async () => {
    const mesh = await meshWith({ action: { timeout: '3s' } });
    const viaOptions = await mesh.fetch('http://web.local/503-once', { headers: { 'x-test': 'options' }, timeoutMs: 2000, maxRetries: 1, retryOn: ['5xx'] });
    assert.equal(viaOptions.status, 200, 'retried by the per-call options');
    await viaOptions.text();
    for (const headers of upstream.all('options')) {
      assertNoneOf(headers, CONSUMED, 'per-call options');
      assert.equal(headers['x-envoy-expected-rq-timeout-ms'] !== undefined, true);
    }
    assert.equal(upstream.all('options')[0]!['x-envoy-expected-rq-timeout-ms'], '2000', 'the per-call timeout replaces the route\'s 3 s');

    const raw = await mesh.fetch('http://web.local/503-once', {
      headers: {
        'x-test': 'raw', 'x-envoy-retry-on': 'retriable-status-codes', 'x-envoy-retriable-status-codes': '503', 'x-envoy-max-retries': '1',
        'x-envoy-upstream-rq-per-try-timeout-ms': '900', 'x-envoy-retriable-header-names': 'x-retry-me', 'x-envoy-force-trace': 'kept',
      },
    });
    assert.equal(raw.status, 200, 'retried on 503 by x-envoy-retriable-status-codes');
    await raw.text();
    const attempts = upstream.all('raw');
    assert.equal(attempts.length, 2);
    for (const headers of attempts) assertNoneOf(headers, CONSUMED, 'raw headers');
    assert.equal(attempts[0]!['x-envoy-expected-rq-timeout-ms'], '900', 'the per-try timeout header sets the expected timeout');
    assert.equal(attempts[0]!['x-envoy-force-trace'], 'kept', 'an internal caller\'s other x-envoy-* headers pass');
  });

  test('the expected timeout: the route timeout, the per-try timeout, none without a timeout, none with suppress_envoy_headers', async () => {
    const routeTimeout = await meshWith({});
    await (await routeTimeout.fetch('http://web.local/', { headers: { 'x-test': 'default' } })).text();
    assert.equal(upstream.last('default')['x-envoy-expected-rq-timeout-ms'], '15000', 'Envoy\'s default 15 s route timeout');

    const perTry = await meshWith({ action: { timeout: '10s', retry_policy: { retry_on: '5xx', per_try_timeout: '2.5s' } } });
    await (await perTry.fetch('http://web.local/', { headers: { 'x-test': 'per-try' } })).text();
    assert.equal(upstream.last('per-try')['x-envoy-expected-rq-timeout-ms'], '2500');

    const none = await meshWith({ action: { timeout: '0s' } });
    await (await none.fetch('http://web.local/', { headers: { 'x-test': 'none' } })).text();
    assert.equal(upstream.last('none')['x-envoy-expected-rq-timeout-ms'], undefined);

    const suppressed = await meshWith({ router: { suppress_envoy_headers: true } });
    await (await suppressed.fetch('http://web.local/', { headers: { 'x-test': 'suppressed' } })).text();
    assert.equal(upstream.last('suppressed')['x-envoy-expected-rq-timeout-ms'], undefined);
  });

  test('include_request_attempt_count, include_is_timeout_retry_header and include_attempt_count_in_response', async () => {
    const mesh = await meshWith({
      vhost: { include_request_attempt_count: true, include_is_timeout_retry_header: true, include_attempt_count_in_response: true },
      action: { retry_policy: { retry_on: '5xx', num_retries: 2, per_try_timeout: '0.5s' } },
    });
    const after503 = await mesh.fetch('http://web.local/503-once', { headers: { 'x-test': 'count' } });
    await after503.text();
    assert.equal(after503.status, 200);
    assert.equal(after503.headers.get('x-envoy-attempt-count'), '2');
    const attempts = upstream.all('count');
    assert.deepEqual(attempts.map((h) => h['x-envoy-attempt-count']), ['1', '2']);
    assert.deepEqual(attempts.map((h) => h['x-envoy-is-timeout-retry']), [undefined, 'false']);
    assert.equal(attempts[1]!['x-envoy-expected-rq-timeout-ms'], '500');

    const afterStall = await mesh.fetch('http://web.local/stall-once', { headers: { 'x-test': 'timeout-retry' } });
    await afterStall.text();
    assert.equal(afterStall.status, 200);
    assert.deepEqual(upstream.all('timeout-retry').map((h) => h['x-envoy-is-timeout-retry']), [undefined, 'true']);
  });

  test('forward_client_cert_details: a caller\'s x-forwarded-client-cert is removed (SANITIZE) unless ALWAYS_FORWARD_ONLY', async () => {
    const sanitizing = await meshWith({});
    await (await sanitizing.fetch('http://web.local/', { headers: { 'x-test': 'xfcc', 'x-forwarded-client-cert': 'By=spiffe://forged' } })).text();
    assert.equal(upstream.last('xfcc')['x-forwarded-client-cert'], undefined);
    const forwarding = await meshWith({ hcm: { forward_client_cert_details: 'ALWAYS_FORWARD_ONLY' } });
    await (await forwarding.fetch('http://web.local/', { headers: { 'x-test': 'xfcc-kept', 'x-forwarded-client-cert': 'By=spiffe://a' } })).text();
    assert.equal(upstream.last('xfcc-kept')['x-forwarded-client-cert'], 'By=spiffe://a');
  });

  test('a mesh that does not trust its callers\' headers strips them unread, as Envoy strips an external caller\'s', async () => {
    const mesh = await createMesh({ config: config(upstream.address, {}), trustCallerHeaders: false });
    meshes.push(mesh);
    const reply = await mesh.fetch('http://web.local/503-once', { headers: { 'x-test': 'untrusted', 'x-envoy-retry-on': '5xx', 'x-envoy-expected-rq-timeout-ms': '1' } });
    await reply.text();
    assert.equal(reply.status, 503, 'not retried');
    const headers = upstream.last('untrusted');
    assertNoneOf(headers, ['x-envoy-retry-on'], 'untrusted');
    assert.equal(headers['x-envoy-expected-rq-timeout-ms'], '15000', 'the caller\'s value replaced by the mesh\'s own');
  });
});

describe('embedded gRPC: metadata on the grpc-js drop-in and the fast API', () => {
  const { EchoClient: EchoCtor, service } = loadEcho();
  let server: grpc.Server;
  const received: grpc.Metadata[] = [];
  let mesh: Mesh;

  before(async () => {
    server = new grpc.Server();
    server.addService(service, {
      Echo: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => {
        received.push(call.metadata);
        callback(null, { message: call.request.message ?? '', payload: Buffer.alloc(0), server: 'g' });
      },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    const cfg = bootstrap({ routes: [{ cluster: 'g' }], clusters: { g: [`127.0.0.1:${port}`] }, http2: ['g'] });
    mesh = await createMesh({ config: cfg });
  });
  after(async () => {
    await mesh.close();
    server.forceShutdown();
  });

  test('call options become x-envoy-* metadata the mesh reads and removes; x-envoy-expected-rq-timeout-ms goes instead', async () => {
    const echo = mesh.grpcClient(EchoCtor, 'dns:///g.local:50051') as EchoClient;
    try {
      await unary(echo, { message: 'a' }, { timeoutMs: 4000, maxRetries: 2, retryOn: ['unavailable'] } as grpc.CallOptions);
      const metadata = received.at(-1)!;
      assertNoneOf(metadata, CONSUMED, 'grpcClient');
      assert.equal(metadata.get('x-envoy-expected-rq-timeout-ms')[0], '4000');
    } finally {
      echo.close();
    }
  });

  test('the fast API: metadata x-envoy-retry-on is consumed; a call without metadata gets the expected timeout alone', async () => {
    const client = mesh.unaryClient('g.local:50051');
    const request = Buffer.from([0x0a, 0x01, 0x62]);
    await client.unary('/xmesh.echo.Echo/Echo', request, { metadata: { 'x-envoy-retry-on': 'unavailable', 'x-envoy-max-retries': '1', 'x-kept': 'yes' } });
    const withMetadata = received.at(-1)!;
    assertNoneOf(withMetadata, CONSUMED, 'fast API');
    assert.equal(withMetadata.get('x-kept')[0], 'yes');
    assert.equal(withMetadata.get('x-envoy-expected-rq-timeout-ms')[0], '15000');
    await client.unary('/xmesh.echo.Echo/Echo', request);
    await client.unary('/xmesh.echo.Echo/Echo', request);
    assert.equal(received.at(-1)!.get('x-envoy-expected-rq-timeout-ms')[0], '15000');
  });
});

describe('sidecar: internal and external callers', () => {
  let upstream: RecordingUpstream;
  const sidecars: Sidecar[] = [];
  const INTERNAL = { use_remote_address: true, internal_address_config: { cidr_ranges: [{ address_prefix: '127.0.0.0', prefix_len: 8 }] } };

  before(async () => {
    upstream = await new RecordingUpstream().start();
  });
  after(async () => {
    await Promise.all(sidecars.map((s) => s.close()));
    await upstream.close();
  });

  async function sidecarWith(parts: Parameters<typeof config>[1]): Promise<string> {
    const sidecar = await startSidecar({ config: config(upstream.address, parts), listen: '127.0.0.1:0', admin: false });
    sidecars.push(sidecar);
    return `http://${sidecar.address.host}:${sidecar.address.port}`;
  }

  test('an internal caller\'s timeout and retry headers are honoured and consumed', async () => {
    const url = await sidecarWith({ hcm: INTERNAL });
    const reply = await request(`${url}/503-once`, { headers: { host: 'web.local', 'x-test': 'sc-internal', 'x-envoy-retry-on': '5xx', 'x-envoy-max-retries': '1', 'x-envoy-upstream-rq-timeout-ms': '3000' } });
    await reply.body.text();
    assert.equal(reply.statusCode, 200);
    for (const headers of upstream.all('sc-internal')) assertNoneOf(headers, CONSUMED, 'internal caller');
    assert.equal(upstream.all('sc-internal')[0]!['x-envoy-expected-rq-timeout-ms'], '3000');
  });

  test('an external caller\'s x-envoy-* headers and internal_only_headers are removed unread', async () => {
    const url = await sidecarWith({ routeConfig: { internal_only_headers: ['x-internal-secret'] } });
    const reply = await request(`${url}/503-once`, {
      headers: {
        host: 'web.local', 'x-test': 'sc-external', 'x-envoy-retry-on': '5xx', 'x-envoy-max-retries': '3', 'x-envoy-expected-rq-timeout-ms': '1',
        'x-envoy-force-trace': '1', 'x-envoy-original-url': 'http://evil/', 'x-internal-secret': 'forged', 'x-other': 'kept',
      },
    });
    await reply.body.text();
    assert.equal(reply.statusCode, 503, 'an external caller cannot ask for retries');
    const headers = upstream.last('sc-external');
    assertNoneOf(headers, [...CONSUMED, 'x-envoy-force-trace', 'x-envoy-original-url', 'x-internal-secret'], 'external caller');
    assert.equal(headers['x-envoy-expected-rq-timeout-ms'], '15000', 'the sidecar\'s own value');
    assert.equal(headers['x-other'], 'kept');
  });

  test('x-forwarded-client-cert from a plaintext caller is removed; FORWARD_ONLY keeps it only from an mTLS caller', async () => {
    for (const [mode, id] of [['SANITIZE', 'sc-xfcc'], ['FORWARD_ONLY', 'sc-xfcc-fwd']] as const) {
      const url = await sidecarWith({ hcm: { forward_client_cert_details: mode } });
      const reply = await request(`${url}/`, { headers: { host: 'web.local', 'x-test': id, 'x-forwarded-client-cert': 'By=spiffe://forged' } });
      await reply.body.text();
      assert.equal(upstream.last(id)['x-forwarded-client-cert'], undefined, mode);
    }
  });

  test('at the edge (use_remote_address, an external caller) x-request-id is replaced unless preserve_external_request_id', async () => {
    const edge = await sidecarWith({ hcm: { use_remote_address: true } });
    await (await request(`${edge}/`, { headers: { host: 'web.local', 'x-test': 'rid-edge', 'x-request-id': 'forged-id' } })).body.text();
    const replaced = String(upstream.last('rid-edge')['x-request-id']);
    assert.notEqual(replaced, 'forged-id');
    assert.match(replaced, /^[0-9a-f-]{36}$/);
    const preserving = await sidecarWith({ hcm: { use_remote_address: true, preserve_external_request_id: true } });
    await (await request(`${preserving}/`, { headers: { host: 'web.local', 'x-test': 'rid-kept', 'x-request-id': 'caller-id' } })).body.text();
    assert.equal(upstream.last('rid-kept')['x-request-id'], 'caller-id');
    const internal = await sidecarWith({ hcm: INTERNAL });
    await (await request(`${internal}/`, { headers: { host: 'web.local', 'x-test': 'rid-internal', 'x-request-id': 'internal-id' } })).body.text();
    assert.equal(upstream.last('rid-internal')['x-request-id'], 'internal-id', 'an internal caller\'s id is kept');
  });

  test('strict_check_headers: a malformed header of an internal caller gets 400; an external caller\'s is stripped', async () => {
    const router = { strict_check_headers: ['x-envoy-max-retries', 'x-envoy-retry-on'] };
    const internal = await sidecarWith({ hcm: INTERNAL, router });
    const refused = await request(`${internal}/`, { headers: { host: 'web.local', 'x-test': 'strict', 'x-envoy-max-retries': 'many' } });
    assert.equal(refused.statusCode, 400);
    assert.match(await refused.body.text(), /invalid header 'x-envoy-max-retries' with value 'many'/);
    const badCondition = await request(`${internal}/`, { headers: { host: 'web.local', 'x-test': 'strict', 'x-envoy-retry-on': '5xx,sometimes' } });
    assert.equal(badCondition.statusCode, 400);
    await badCondition.body.text();
    assert.equal(upstream.all('strict').length, 0, 'neither reached the upstream');
    const external = await sidecarWith({ router });
    const passed = await request(`${external}/`, { headers: { host: 'web.local', 'x-test': 'strict-ext', 'x-envoy-max-retries': 'many' } });
    assert.equal(passed.statusCode, 200);
    await passed.body.text();
  });

  test('respect_expected_rq_timeout: an internal caller\'s x-envoy-expected-rq-timeout-ms is the route timeout', async () => {
    const url = await sidecarWith({ hcm: INTERNAL, router: { respect_expected_rq_timeout: true } });
    const cut = await request(`${url}/slow`, { headers: { host: 'web.local', 'x-test': 'expected', 'x-envoy-expected-rq-timeout-ms': '200' } });
    await cut.body.text();
    assert.equal(cut.statusCode, 504, 'cut at 200 ms, not answered after 1.5 s');
    assert.equal(upstream.last('expected')['x-envoy-expected-rq-timeout-ms'], '200');
    const plain = await sidecarWith({ hcm: INTERNAL });
    const slow = await request(`${plain}/slow`, { headers: { host: 'web.local', 'x-test': 'expected-off', 'x-envoy-expected-rq-timeout-ms': '200' } });
    assert.equal(slow.statusCode, 200, 'without the setting the header is not read');
    await slow.body.text();
  });
});
