// Trace headers on the fast path, seen by a raw node:http2 server, following the listener's
// HttpConnectionManager as Envoy does: `x-request-id` kept or (generate_request_id, default true)
// created; `traceparent` continued or started only with the OpenTelemetry tracer, passed through
// untouched otherwise. Created ids go never-indexed (HPACK) so they do not churn the header table.
import { after, before, test } from 'node:test';
import { once } from 'node:events';
import assert from 'node:assert/strict';
import http2, { type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { createMesh, type Mesh } from './index.js';
import { bootstrap } from '../../../test/support/mesh-config.js';

const PATH = '/pkg.Svc/Method';
const PARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const OPENTELEMETRY = { provider: { name: 'envoy.tracers.opentelemetry' } };
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** A UUID v4 whose 15th character (the version digit) carries Envoy's trace reason. */
const TRACED_UUID = (reason: string): RegExp => new RegExp(`^[0-9a-f]{8}-[0-9a-f]{4}-${reason}[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`);
let server: http2.Http2Server;
let port = 0;
const meshes: Mesh[] = [];
const seen: IncomingHttpHeaders[] = [];
const failedOnce = new Set<string>();

before(async () => {
  server = http2.createServer();
  server.on('stream', (stream, headers) => {
    seen.push(headers);
    stream.resume();
    // `x-fail-first`: the first attempt of each request id is refused with UNAVAILABLE (trailers-only).
    const id = String(headers['x-request-id']);
    if (headers['x-fail-first'] !== undefined && !failedOnce.has(id)) {
      failedOnce.add(id);
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14' }, { endStream: true });
      return;
    }
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  await Promise.all(meshes.map((mesh) => mesh.close()));
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A mesh whose HCM has `hcm`, its route action `routeExtras` and its route `routeFields`. */
async function meshWith(hcm: Record<string, unknown>, routeExtras: Record<string, unknown> = {}, routeFields: Record<string, unknown> = {}): Promise<Mesh> {
  const config = bootstrap({ routes: [{ cluster: 'raw' }], clusters: { raw: [`127.0.0.1:${port}`] }, http2: ['raw'], hcm }) as {
    static_resources: { listeners: { filter_chains: { filters: { typed_config: { route_config: { virtual_hosts: { routes: Record<string, unknown>[] }[] } } }[] }[] }[] };
  };
  const route = config.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.route_config.virtual_hosts[0]!.routes[0]!;
  Object.assign(route.route as Record<string, unknown>, routeExtras);
  Object.assign(route, routeFields);
  const mesh = await createMesh({ env: {}, config });
  meshes.push(mesh);
  return mesh;
}

/** The headers the server saw for one call through `mesh`. */
async function sent(mesh: Mesh, metadata?: Record<string, string>): Promise<IncomingHttpHeaders> {
  const before = seen.length;
  const reply = await mesh.unaryClient('raw.svc:80').unary(PATH, Buffer.from('hi'), metadata === undefined ? undefined : { metadata });
  assert.equal(reply.length, 0);
  assert.equal(seen.length, before + 1);
  return seen[before]!;
}

const neverIndexed = (headers: IncomingHttpHeaders): string[] => [...((headers as { [http2.sensitiveHeaders]?: string[] })[http2.sensitiveHeaders] ?? [])].sort();

test('with tracing: a call without trace context starts a trace sampled as the tracing decision says, its request id marked, both never-indexed', async () => {
  const headers = await sent(await meshWith({ tracing: OPENTELEMETRY }));
  // random_sampling defaults to 100 %: Envoy's decision is "sampled", packed as 9 into the request id.
  assert.match(String(headers.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  assert.match(String(headers['x-request-id']), TRACED_UUID('9'));
  assert.deepEqual(neverIndexed(headers), ['traceparent', 'x-request-id']);
  const unsampled = await sent(await meshWith({ tracing: { ...OPENTELEMETRY, random_sampling: { value: 0 } } }));
  assert.match(String(unsampled.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  assert.match(String(unsampled['x-request-id']), UUID_V4);
});

test('the tracing decision is packed into the request id as Envoy\'s UUID extension does: 9 sampled, a forced by the service, b by the client, 4 undone by overall_sampling', async () => {
  const zipkin = { name: 'envoy.tracers.zipkin' };
  const id = (reason: string, head = '12345678') => `${head}-0000-${reason}000-8000-000000000000`;
  const never = await meshWith({ tracing: { provider: zipkin, random_sampling: { value: 0 }, client_sampling: { value: 100 } } });
  assert.equal((await sent(never, { 'x-request-id': id('4') }))['x-request-id'], id('4'), 'not traced: unchanged');
  assert.equal((await sent(never, { 'x-request-id': id('4'), 'x-client-trace-id': 'c-1' }))['x-request-id'], id('b'));
  assert.equal((await sent(never, { 'x-request-id': id('4'), 'x-envoy-force-trace': 'yes' }))['x-request-id'], id('a'));
  assert.equal((await sent(never, { 'x-request-id': id('9') }))['x-request-id'], id('9'), 'a packed reason stands');
  const always = await meshWith({ tracing: { provider: zipkin } });
  assert.equal((await sent(always, { 'x-request-id': id('4') }))['x-request-id'], id('9'));
  assert.equal((await sent(always, { 'x-request-id': 'req-not-a-uuid' }))['x-request-id'], 'req-not-a-uuid', 'an id that is no UUID is not rewritten');
  const overallOff = await meshWith({ tracing: { provider: zipkin, overall_sampling: { value: 0 } } });
  const undone = await sent(overallOff, { 'x-request-id': id('9') });
  assert.equal(undone['x-request-id'], id('4'));
  assert.equal(undone['x-b3-sampled'], '0');
  // request_id_extension: pack_trace_reason false leaves ids alone; use_request_id_for_trace_sampling false traces every request.
  const UUID_EXTENSION = 'type.googleapis.com/envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig';
  const unpacked = await meshWith({ tracing: { provider: zipkin }, request_id_extension: { typed_config: { '@type': UUID_EXTENSION, pack_trace_reason: false } } });
  const kept = await sent(unpacked, { 'x-request-id': id('4') });
  assert.equal(kept['x-request-id'], id('4'));
  assert.equal(kept['x-b3-sampled'], '1');
  const noDraw = await meshWith({ tracing: { provider: zipkin, random_sampling: { value: 0 } }, request_id_extension: { typed_config: { '@type': UUID_EXTENSION, use_request_id_for_trace_sampling: false } } });
  const drawn = await sent(noDraw, { 'x-request-id': id('4') });
  assert.equal(drawn['x-b3-sampled'], '1');
  assert.equal(drawn['x-request-id'], id('4'));
});

test("with tracing: a caller's traceparent is continued and its request id kept; other metadata stays indexable", async () => {
  const headers = await sent(await meshWith({ tracing: { random_sampling: { value: 100 }, provider: { name: 'envoy.tracers.opentelemetry', typed_config: { '@type': 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig' } } } }), { traceparent: PARENT, 'x-request-id': 'req-7', 'x-tenant': 'a' });
  assert.match(String(headers.traceparent), /^00-4bf92f3577b34da6a3ce929d0e0e4736-(?!00f067aa0ba902b7)[0-9a-f]{16}-01$/);
  assert.equal(headers['x-request-id'], 'req-7');
  assert.equal(headers['x-tenant'], 'a');
  assert.deepEqual(neverIndexed(headers), ['traceparent']);
});

test('tracing without a provider propagates no trace context (Envoy\'s null tracer), but its decision is packed into the request id', async () => {
  const headers = await sent(await meshWith({ tracing: {} }));
  assert.equal(headers.traceparent, undefined);
  assert.equal(headers['x-b3-traceid'], undefined);
  assert.match(String(headers['x-request-id']), TRACED_UUID('9'));
  const off = await sent(await meshWith({ tracing: { random_sampling: { value: 0 } } }));
  assert.match(String(off['x-request-id']), UUID_V4);
});

const ZIPKIN_TYPE = 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig';
const B3_CALLER = { 'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7', 'x-b3-spanid': 'e457b5a2e4d86bd1', 'x-b3-parentspanid': '05e3ac9a4f6e3b90', 'x-b3-sampled': '1' };

test('Zipkin on a listener that is not OUTBOUND shares the caller\'s span (Envoy\'s default): its ids go on, no traceparent; created ids never-indexed', async () => {
  const mesh = await meshWith({ tracing: { provider: { name: 'envoy.tracers.zipkin', typed_config: { '@type': ZIPKIN_TYPE, collector_cluster: 'zipkin' } } } });
  const continued = await sent(mesh, { ...B3_CALLER, traceparent: PARENT });
  for (const [name, value] of Object.entries(B3_CALLER)) assert.equal(continued[name], value, name);
  assert.equal(continued.traceparent, PARENT, 'the Zipkin tracer leaves a caller\'s traceparent alone');
  assert.deepEqual(neverIndexed(continued), ['x-b3-parentspanid', 'x-b3-spanid', 'x-b3-traceid', 'x-request-id']);
  const fresh = await sent(mesh);
  assert.match(String(fresh['x-b3-traceid']), /^[0-9a-f]{16}$/, 'a 64-bit trace id without trace_id_128bit');
  assert.equal(fresh['x-b3-spanid'], fresh['x-b3-traceid']);
  assert.equal(fresh['x-b3-sampled'], '1', 'random_sampling defaults to 100 %');
  assert.equal(fresh.traceparent, undefined);
  assert.deepEqual(neverIndexed(fresh), ['x-b3-spanid', 'x-b3-traceid', 'x-request-id']);
});

test('Zipkin with shared_span_context false: a span of its own, child of the caller\'s', async () => {
  const headers = await sent(await meshWith({ tracing: { provider: { name: 'envoy.tracers.zipkin', typed_config: { '@type': ZIPKIN_TYPE, collector_cluster: 'zipkin', shared_span_context: false } } } }), B3_CALLER);
  assert.equal(headers['x-b3-traceid'], B3_CALLER['x-b3-traceid']);
  assert.equal(headers['x-b3-parentspanid'], B3_CALLER['x-b3-spanid']);
  assert.match(String(headers['x-b3-spanid']), /^[0-9a-f]{16}$/);
  assert.notEqual(headers['x-b3-spanid'], B3_CALLER['x-b3-spanid']);
});

test('Zipkin sampling: the caller\'s flag wins; else x-client-trace-id (client_sampling), x-envoy-force-trace, random_sampling, then overall_sampling', async () => {
  const zipkin = { name: 'envoy.tracers.zipkin' };
  const never = await meshWith({ tracing: { provider: zipkin, random_sampling: { value: 0 }, client_sampling: { value: 100 } } });
  assert.equal((await sent(never))['x-b3-sampled'], '0');
  assert.equal((await sent(never, { 'x-b3-sampled': '1' }))['x-b3-sampled'], '1');
  assert.equal((await sent(never, { 'x-client-trace-id': 'c-1' }))['x-b3-sampled'], '1');
  assert.equal((await sent(never, { 'x-envoy-force-trace': 'yes' }))['x-b3-sampled'], '1');
  const overallOff = await meshWith({ tracing: { provider: zipkin, overall_sampling: { value: 0 } } });
  assert.equal((await sent(overallOff, { 'x-envoy-force-trace': 'yes' }))['x-b3-sampled'], '0');
  assert.equal((await sent(overallOff, { b3: 'd' }))['x-b3-sampled'], '1', 'a caller\'s debug flag');
  // The random and overall draws are the upstream request id's first 8 hex digits modulo 10 000 (Envoy's).
  const half = await meshWith({ tracing: { provider: zipkin, random_sampling: { value: 50 } } });
  assert.equal((await sent(half, { 'x-request-id': '00001388-0000-4000-8000-000000000000' }))['x-b3-sampled'], '0', '0x1388 = 5000, not under 5000');
  assert.equal((await sent(half, { 'x-request-id': '00001387-0000-4000-8000-000000000000' }))['x-b3-sampled'], '1', '0x1387 = 4999');
  assert.equal((await sent(half, { 'x-request-id': 'ffffffff-0000-4000-8000-000000000000' }))['x-b3-sampled'], '0', '4294967295 % 10000 = 7295');
  assert.equal((await sent(never, { 'x-request-id': '12345678-0000-b000-8000-000000000000' }))['x-b3-sampled'], '1', 'a request id marked sampled (b) stays traced');
  assert.equal((await sent(never, { 'x-request-id': 'not-hex-id' }))['x-b3-sampled'], '0');
  const noId = await meshWith({ generate_request_id: false, tracing: { provider: zipkin } });
  assert.equal((await sent(noId))['x-b3-sampled'], '0', 'no request id: Envoy makes no tracing decision');
  assert.equal((await sent(noId, { 'x-request-id': '00000001-0000-4000-8000-000000000000' }))['x-b3-sampled'], '1');
  // A route's tracing replaces the connection manager's settings (its absent ones are 100 %).
  const routeNever = await meshWith({ tracing: { provider: zipkin } }, {}, { tracing: { random_sampling: { numerator: 0, denominator: 'HUNDRED' } } });
  assert.equal((await sent(routeNever))['x-b3-sampled'], '0');
  const routeAlways = await meshWith({ tracing: { provider: zipkin, random_sampling: { value: 0 }, overall_sampling: { value: 0 } } }, {}, { tracing: {} });
  assert.equal((await sent(routeAlways))['x-b3-sampled'], '1');
});

test('without tracing (the default): only a request id is created; a caller traceparent passes through untouched', async () => {
  const mesh = await meshWith({});
  const fresh = await sent(mesh);
  assert.equal(fresh.traceparent, undefined);
  assert.match(String(fresh['x-request-id']), UUID_V4);
  assert.deepEqual(neverIndexed(fresh), ['x-request-id']);
  const continued = await sent(mesh, { traceparent: PARENT });
  assert.equal(continued.traceparent, PARENT);
  assert.match(String(continued['x-request-id']), UUID_V4);
  assert.notEqual(continued['x-request-id'], fresh['x-request-id']);
});

test("a generated client's calls through the mesh channel (streaming, and unary with an interceptor) send the created ids never-indexed too; caller metadata stays indexable", async () => {
  const mesh = await meshWith({ tracing: OPENTELEMETRY });
  const bytes = { serialize: (value: Buffer) => value, deserialize: (value: Buffer) => value };
  const definition = { path: PATH, requestSerialize: bytes.serialize, requestDeserialize: bytes.deserialize, responseSerialize: bytes.serialize, responseDeserialize: bytes.deserialize };
  const Ctor = grpc.makeGenericClientConstructor(
    { Replies: { ...definition, requestStream: false, responseStream: true }, Echo: { ...definition, requestStream: true, responseStream: true }, Call: { ...definition, requestStream: false, responseStream: false } },
    'Raw',
  );
  const interceptor: grpc.Interceptor = (options, nextCall) => new grpc.InterceptingCall(nextCall(options));
  const client = mesh.grpcClient(Ctor, 'raw.svc:80') as unknown as Record<string, (...args: unknown[]) => grpc.ClientReadableStream<Buffer> & grpc.ClientDuplexStream<Buffer, Buffer>>;
  const intercepted = mesh.grpcClient(Ctor, 'raw.svc:80', { interceptors: [interceptor] }) as unknown as Record<string, (...args: unknown[]) => grpc.ClientUnaryCall>;
  const metadata = new grpc.Metadata();
  metadata.set('x-caller', 'c');
  const calls: (() => grpc.Call)[] = [
    () => client.Replies!(Buffer.from('hi'), metadata).resume(),
    () => {
      const stream = client.Echo!(metadata).resume();
      stream.end(Buffer.from('hi'));
      return stream;
    },
    () => intercepted.Call!(Buffer.from('hi'), metadata, () => undefined),
  ];
  try {
    for (const make of calls) {
      const before = seen.length;
      const call = make();
      const [status] = (await once(call, 'status')) as [grpc.StatusObject];
      assert.equal(status.code, grpc.status.OK);
      const headers = seen[before]!;
      assert.equal(headers['x-caller'], 'c');
      assert.match(String(headers['x-request-id']), TRACED_UUID('9'));
      assert.deepEqual(neverIndexed(headers), ['traceparent', 'x-request-id']);
    }
  } finally {
    (client as unknown as grpc.Client).close();
    (intercepted as unknown as grpc.Client).close();
  }
});

test('generate_request_id: false adds nothing; a caller request id still passes', async () => {
  const mesh = await meshWith({ generate_request_id: false });
  const bare = await sent(mesh);
  assert.equal(bare.traceparent, undefined);
  assert.equal(bare['x-request-id'], undefined);
  assert.deepEqual(neverIndexed(bare), []);
  assert.equal((await sent(mesh, { 'x-request-id': 'req-9' }))['x-request-id'], 'req-9');
});

test('a retry sends the same x-request-id and traceparent as the first attempt', async () => {
  const mesh = await meshWith({ tracing: OPENTELEMETRY }, { retry_policy: { retry_on: 'unavailable', num_retries: 1, retry_back_off: { base_interval: '0.001s' } } });
  const before = seen.length;
  await mesh.unaryClient('raw.svc:80').unary(PATH, Buffer.from('hi'), { metadata: { 'x-fail-first': '1' } });
  const attempts = seen.slice(before);
  assert.equal(attempts.length, 2);
  assert.match(String(attempts[0]!['x-request-id']), TRACED_UUID('9'));
  assert.equal(attempts[1]!['x-request-id'], attempts[0]!['x-request-id']);
  assert.match(String(attempts[0]!.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  assert.equal(attempts[1]!.traceparent, attempts[0]!.traceparent);
});
