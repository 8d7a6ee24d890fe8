// The sidecar applies Envoy's downstream protections from the listener's HttpConnectionManager, each
// against stock node clients or raw sockets: HTTP/2 SETTINGS (max_concurrent_streams, windows),
// stream_idle_timeout (and a route's idle_timeout), request_timeout, request_headers_timeout
// (slowloris), idle_timeout, max_connection_duration, max_requests_per_connection,
// max_request_headers_kb / max_headers_count, headers_with_underscores_action, the protocol-detection
// timeout, the downstream connection limit, and the gRPC message size limit both ways. Timers are
// real but short; every bound asserted is generous on the side that cannot flake.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as connectH2, constants, type ClientHttp2Session, type IncomingHttpHeaders, type Settings } from 'node:http2';
import { connect as connectTcp, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { Agent, request } from 'undici';
import { startSidecar, type Sidecar, type SidecarLimits } from '@xmesh/sidecar';
import { loadEcho, type EchoClient } from '../support/echo-server.js';
import { unary } from '../support/grpc-call.js';
import { Frame, FrameReader, PREFACE, grpcPrefix, headersFrames, settings as settingsFrame, startRawUpstream, type RawStream, type RawUpstream } from './support/raw-h2.js';
import { hostileConfig, startGoodUpstreams, type GoodUpstreams, type HostileRoute } from './support/topology.js';
import { until, within } from './support/waits.js';

const GRPC_RESPONSE: [string, string][] = [[':status', '200'], ['content-type', 'application/grpc']];

/** Everything one test started, closed after it. */
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

interface Setup {
  readonly sidecar: Sidecar;
  readonly good: GoodUpstreams;
  readonly hostile: RawUpstream;
  /** What the hostile upstream's next stream does (default: nothing, it hangs). */
  script: (stream: RawStream) => void;
}

/** A sidecar with the HCM fields `hcm`, a good echo/web pair, and one raw upstream at `/h/raw`. */
async function setUp(hcm: Record<string, unknown> = {}, options: { limits?: Partial<SidecarLimits>; listener?: Record<string, unknown>; route?: Partial<HostileRoute> } = {}): Promise<Setup> {
  const good = await startGoodUpstreams();
  cleanup.push(() => good.close());
  const setup: Setup = { sidecar: undefined as unknown as Sidecar, good, hostile: undefined as unknown as RawUpstream, script: () => undefined };
  const hostile = await startRawUpstream((s) => setup.script(s));
  cleanup.push(() => hostile.close());
  const config = hostileConfig(good, { raw: { address: hostile.address, http2: true, timeout: '0s', ...options.route } }, hcm, options.listener);
  const sidecar = await startSidecar({ config, listen: '127.0.0.1:0', admin: false, ...(options.limits ? { limits: options.limits } : {}) });
  cleanup.push(() => sidecar.close());
  return Object.assign(setup, { sidecar, hostile });
}

function h2Session(sidecar: Sidecar): ClientHttp2Session {
  const session = connectH2(`http://${sidecar.target}`);
  session.on('error', () => undefined);
  cleanup.push(() => void session.destroy());
  return session;
}

interface Exchange {
  headers: IncomingHttpHeaders | undefined;
  trailers: IncomingHttpHeaders | undefined;
  body: Buffer;
  rstCode: number | undefined;
  closed: Promise<void>;
}

function exchange(session: ClientHttp2Session, headers: Record<string, string>, body?: Buffer, endStream = true): Exchange & { write(b: Buffer): void } {
  const stream = session.request({ ':method': 'POST', 'content-type': 'application/grpc', te: 'trailers', ...headers }, { endStream: false });
  const chunks: Buffer[] = [];
  const ex: Exchange & { write(b: Buffer): void } = {
    headers: undefined, trailers: undefined, body: Buffer.alloc(0), rstCode: undefined, closed: Promise.resolve(),
    write: (b) => void stream.write(b),
  };
  stream.on('response', (h) => (ex.headers = h));
  stream.on('trailers', (t) => (ex.trailers = t));
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('error', () => undefined);
  ex.closed = new Promise((resolve) => stream.on('close', () => {
    ex.rstCode = stream.rstCode;
    ex.body = Buffer.concat(chunks);
    resolve();
  }));
  if (body !== undefined) stream.write(body);
  if (endStream) stream.end();
  return ex;
}

function remoteSettings(session: ClientHttp2Session): Promise<Settings> {
  return new Promise((resolve) => session.once('remoteSettings', resolve));
}

function rawConnection(sidecar: Sidecar): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(sidecar.address.port, sidecar.address.host, () => resolve(socket));
    socket.on('error', reject);
    cleanup.push(() => void socket.destroy());
  });
}

function closedSocket(socket: Socket): Promise<string> {
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (text += chunk));
  socket.on('error', () => undefined);
  return new Promise((resolve) => socket.once('close', () => resolve(text)));
}

test('HTTP/2 SETTINGS: the HCM\'s max_concurrent_streams, windows and HPACK table; safe defaults without them', async () => {
  const defaults = await setUp();
  const plain = await remoteSettings(h2Session(defaults.sidecar));
  assert.equal(plain.maxConcurrentStreams, 1024);
  assert.equal(plain.initialWindowSize, 1024 * 1024);
  assert.equal(plain.maxHeaderListSize, 60 * 1024);
  const tuned = await setUp({ http2_protocol_options: { max_concurrent_streams: 7, initial_stream_window_size: 131_072, hpack_table_size: 0 }, max_request_headers_kb: 16 });
  const settings = await remoteSettings(h2Session(tuned.sidecar));
  assert.equal(settings.maxConcurrentStreams, 7);
  assert.equal(settings.initialWindowSize, 131_072);
  assert.equal(settings.headerTableSize, 0);
  assert.equal(settings.maxHeaderListSize, 16 * 1024);
});

test('streams beyond max_concurrent_streams: refused (REFUSED_STREAM) before the client acknowledged the limit, a connection error (GOAWAY) after; the process serves on', async () => {
  const { sidecar } = await setUp({ http2_protocol_options: { max_concurrent_streams: 3 } });
  const flood = async (acknowledge: boolean): Promise<{ refused: number[]; goaway: number | undefined; closed: Promise<string> }> => {
    const socket = await rawConnection(sidecar);
    const reader = new FrameReader();
    const seen = { refused: [] as number[], goaway: undefined as number | undefined, closed: closedSocket(socket) };
    let settingsSeen: () => void = () => undefined;
    const gotSettings = new Promise<void>((resolve) => (settingsSeen = resolve));
    // closedSocket reads it as latin1 text.
    socket.on('data', (chunk: string) => {
      for (const f of reader.push(Buffer.from(chunk, 'latin1'))) {
        if (f.type === Frame.RST_STREAM && f.payload.readUInt32BE(0) === constants.NGHTTP2_REFUSED_STREAM) seen.refused.push(f.streamId);
        if (f.type === Frame.GOAWAY) seen.goaway = f.payload.readUInt32BE(4);
        if (f.type === Frame.SETTINGS && (f.flags & 1) === 0) settingsSeen();
      }
    });
    socket.write(Buffer.concat([PREFACE, settingsFrame()]));
    await within(gotSettings, 'the server SETTINGS');
    if (acknowledge) socket.write(Buffer.from([0, 0, 0, 4, 1, 0, 0, 0, 0]));
    // Ten streams that stay open (hanging on the raw upstream, no END_STREAM): three fit.
    const frames: Buffer[] = [];
    for (let i = 0; i < 10; i++) frames.push(headersFrames(1 + 2 * i, [[':method', 'POST'], [':scheme', 'http'], [':path', `/h/raw/${i}`], [':authority', 'x'], ['content-type', 'application/grpc']], false));
    socket.write(Buffer.concat(frames));
    return seen;
  };
  const early = await flood(false);
  await until(() => early.refused.length === 7, 'seven refused streams');
  assert.deepEqual(early.refused, [7, 9, 11, 13, 15, 17, 19]);
  const acknowledged = await flood(true);
  await within(acknowledged.closed, 'the flooding connection closing');
  assert.equal(acknowledged.goaway, constants.NGHTTP2_PROTOCOL_ERROR);
  const res = await request(`http://${sidecar.target}/web/ok`);
  assert.equal(res.statusCode, 200);
  await res.body.text();
});

test('stream_idle_timeout: a stream with no traffic either way gets 408 / DEADLINE_EXCEEDED "stream timeout", the upstream stream is cancelled; a route idle_timeout overrides it', async () => {
  const setup = await setUp({ stream_idle_timeout: '0.3s' });
  const session = h2Session(setup.sidecar);
  const started = Date.now();
  const ex = exchange(session, { ':path': '/h/raw/idle' }, grpcPrefix(0));
  await within(ex.closed, 'the idle stream ending');
  assert.ok(Date.now() - started >= 250, 'not before the idle timeout');
  assert.equal(ex.headers?.['grpc-status'], String(grpc.status.DEADLINE_EXCEEDED));
  assert.match(decodeURIComponent(String(ex.headers?.['grpc-message'])), /stream timeout/);
  const upstreamId = setup.hostile.streams[0]!.id;
  await until(() => setup.hostile.resets.some((r) => r.id === upstreamId), 'the upstream stream cancelled');
  // HTTP/1.1 (undici): 408 with Envoy's wording.
  const res = await request(`http://${setup.sidecar.target}/h/raw/h1`, { method: 'GET' });
  assert.equal(res.statusCode, 408);
  assert.equal((await res.body.text()).trim(), 'stream timeout');
  // A stream with traffic is not idle: an upstream trickling a byte every 100 ms for 0.8 s completes.
  setup.script = (s) => {
    s.headers(GRPC_RESPONSE);
    const body = Buffer.concat([grpcPrefix(8), Buffer.alloc(8, 0x61)]);
    let sent = 0;
    const tick = setInterval(() => {
      s.data(body.subarray(sent, sent + 1));
      sent++;
      if (sent === body.length) {
        clearInterval(tick);
        s.headers([['grpc-status', '0']], true);
      }
    }, 60);
  };
  const trickle = exchange(session, { ':path': '/h/raw/trickle' }, grpcPrefix(0));
  await within(trickle.closed, 'the trickling stream ending');
  assert.equal(trickle.trailers?.['grpc-status'], '0');
  assert.equal(trickle.body.length, 13);
  // A route's idle_timeout replaces it.
  const routed = await setUp({ stream_idle_timeout: '60s' }, { route: { action: { idle_timeout: '0.2s' } } });
  const routedEx = exchange(h2Session(routed.sidecar), { ':path': '/h/raw/routed' }, grpcPrefix(0));
  await within(routedEx.closed, 'the route idle timeout');
  assert.equal(routedEx.headers?.['grpc-status'], String(grpc.status.DEADLINE_EXCEEDED));
});

test('request_timeout: a request whose body never ends gets 408 "request timeout" (HTTP/2 and HTTP/1.1)', async () => {
  const setup = await setUp({ request_timeout: '0.3s' });
  const ex = exchange(h2Session(setup.sidecar), { ':path': '/h/raw/slow-body' }, grpcPrefix(10).subarray(0, 3), false);
  await within(ex.closed, 'the request timeout');
  assert.equal(ex.headers?.['grpc-status'], String(grpc.status.DEADLINE_EXCEEDED));
  assert.match(decodeURIComponent(String(ex.headers?.['grpc-message'])), /request timeout/);
  const socket = await rawConnection(setup.sidecar);
  const text = closedSocket(socket);
  socket.write('POST /web/x HTTP/1.1\r\nHost: web.svc\r\nContent-Length: 100\r\n\r\nonly part');
  assert.match(await within(text, 'the HTTP/1.1 request timeout'), /^HTTP\/1\.1 408/);
});

test('slowloris: request_headers_timeout closes a connection whose headers trickle in; the protocol-detection timeout closes a silent one', async () => {
  const setup = await setUp({ request_headers_timeout: '1s' }, { listener: { listener_filters_timeout: '0.5s' } });
  const slow = await rawConnection(setup.sidecar);
  const slowClosed = closedSocket(slow);
  slow.write('GET /web/x HTTP/1.1\r\nHost: web.svc\r\n');
  const drip = setInterval(() => slow.write('X-Drip: a\r\n'), 100);
  cleanup.push(() => clearInterval(drip));
  const started = Date.now();
  assert.match(await within(slowClosed, 'the slow-headers connection closing'), /^HTTP\/1\.1 408/);
  assert.ok(Date.now() - started >= 900, 'not before request_headers_timeout');
  const silent = await rawConnection(setup.sidecar);
  await within(closedSocket(silent), 'the silent connection closing');
  // A good client is served meanwhile and after.
  const res = await request(`http://${setup.sidecar.target}/web/ok`);
  assert.equal(res.statusCode, 200);
  await res.body.text();
});

test('idle_timeout closes an HTTP/2 connection without streams (GOAWAY) and an idle HTTP/1.1 keep-alive connection; a stream in flight keeps it open', async () => {
  const setup = await setUp({ common_http_protocol_options: { idle_timeout: '0.3s' } });
  const session = h2Session(setup.sidecar);
  const goaway = new Promise<number>((resolve) => session.once('goaway', resolve));
  await within(new Promise<void>((resolve) => session.once('close', () => resolve())), 'the idle HTTP/2 connection closing');
  assert.equal(await goaway, constants.NGHTTP2_NO_ERROR);
  // A stream longer than the idle timeout: the connection stays until it is done.
  setup.script = (s) => {
    s.headers(GRPC_RESPONSE);
    setTimeout(() => s.headers([['grpc-status', '0']], true), 700);
  };
  const busy = h2Session(setup.sidecar);
  const ex = exchange(busy, { ':path': '/h/raw/long' }, grpcPrefix(0));
  await within(ex.closed, 'the long stream');
  assert.equal(ex.trailers?.['grpc-status'], '0');
  // HTTP/1.1: the keep-alive connection is closed after its idle time.
  const socket = await rawConnection(setup.sidecar);
  const text = closedSocket(socket);
  socket.write('GET /web/ka HTTP/1.1\r\nHost: web.svc\r\n\r\n');
  assert.match(await within(text, 'the idle keep-alive connection closing'), /^HTTP\/1\.1 200/);
});

test('max_connection_duration drains an HTTP/2 connection (GOAWAY, the stream in flight completes) and closes an HTTP/1.1 one after its response', async () => {
  const setup = await setUp({ common_http_protocol_options: { max_connection_duration: '0.4s' } });
  setup.script = (s) => {
    s.headers(GRPC_RESPONSE);
    setTimeout(() => s.headers([['grpc-status', '0']], true), 800);
  };
  const session = h2Session(setup.sidecar);
  const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
  const ex = exchange(session, { ':path': '/h/raw/long' }, grpcPrefix(0));
  await within(goaway, 'GOAWAY at the max duration');
  await within(ex.closed, 'the stream in flight');
  assert.equal(ex.trailers?.['grpc-status'], '0', 'the stream in flight completed');
  const socket = await rawConnection(setup.sidecar);
  const text = closedSocket(socket);
  socket.write('GET /web/a HTTP/1.1\r\nHost: web.svc\r\n\r\n');
  assert.match(await within(text, 'the HTTP/1.1 connection closing at its max duration'), /^HTTP\/1\.1 200/);
});

test('max_requests_per_connection: HTTP/2 gets GOAWAY after that many streams; HTTP/1.1 gets Connection: close on the last response', async () => {
  const setup = await setUp({ common_http_protocol_options: { max_requests_per_connection: 3 } });
  const { EchoClient } = loadEcho();
  const session = h2Session(setup.sidecar);
  const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
  for (let i = 0; i < 3; i++) {
    const ex = exchange(session, { ':path': '/xmesh.echo.Echo/Echo' }, Buffer.concat([grpcPrefix(0)]));
    await within(ex.closed, `request ${i}`);
    assert.equal(ex.trailers?.['grpc-status'] ?? ex.headers?.['grpc-status'], '0');
  }
  await within(goaway, 'GOAWAY after three streams');
  // A stock grpc-js client reconnects and carries on.
  const client = new EchoClient(setup.sidecar.target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }) as EchoClient;
  cleanup.push(() => client.close());
  for (let i = 0; i < 7; i++) assert.equal((await unary(client, { message: `m${i}` }, { deadline: Date.now() + 10_000 })).message, `m${i}`);
  const agent = new Agent({ connections: 1 });
  cleanup.push(() => agent.close());
  const headers: string[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await request(`http://${setup.sidecar.target}/web/${i}`, { dispatcher: agent });
    await res.body.text();
    headers.push(String(res.headers.connection));
  }
  assert.equal(headers[2], 'close');
});

test('max_request_headers_kb and max_headers_count: HTTP/1.1 gets 431, HTTP/2 a stream reset; a request within them is served', async () => {
  const setup = await setUp({ max_request_headers_kb: 2, common_http_protocol_options: { max_headers_count: 10 } });
  const big = await request(`http://${setup.sidecar.target}/web/big`, { headers: { 'x-big': 'a'.repeat(4096) } }).then((r) => r.statusCode, (e: Error & { code?: string }) => e.code);
  assert.equal(big, 431);
  const many = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`x-h${i}`, 'v']));
  const manyRes = await request(`http://${setup.sidecar.target}/web/many`, { headers: many });
  assert.equal(manyRes.statusCode, 431);
  await manyRes.body.text();
  const session = h2Session(setup.sidecar);
  await remoteSettings(session);
  const bigH2 = exchange(session, { ':path': '/xmesh.echo.Echo/Echo', 'x-big': 'a'.repeat(4096) }, grpcPrefix(0));
  await within(bigH2.closed, 'the oversized HTTP/2 request ending');
  assert.equal(bigH2.rstCode, constants.NGHTTP2_ENHANCE_YOUR_CALM);
  const manyH2 = exchange(session, { ':path': '/xmesh.echo.Echo/Echo', ...many }, grpcPrefix(0));
  await within(manyH2.closed, 'the HTTP/2 request with too many headers ending');
  assert.equal(manyH2.rstCode, constants.NGHTTP2_ENHANCE_YOUR_CALM);
  const fine = exchange(session, { ':path': '/xmesh.echo.Echo/Echo', 'x-one': 'v' }, grpcPrefix(0));
  await within(fine.closed, 'a good request');
  assert.equal(fine.trailers?.['grpc-status'], '0');
});

test('headers_with_underscores_action: REJECT_REQUEST answers 400; DROP_HEADER forwards the request without them', async () => {
  const reject = await setUp({ common_http_protocol_options: { headers_with_underscores_action: 'REJECT_REQUEST' } });
  const res = await request(`http://${reject.sidecar.target}/web/u`, { headers: { x_under: '1' } });
  assert.equal(res.statusCode, 400);
  await res.body.text();
  const drop = await setUp({ common_http_protocol_options: { headers_with_underscores_action: 'DROP_HEADER' } });
  const { EchoClient } = loadEcho();
  const client = new EchoClient(drop.sidecar.target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }) as EchoClient;
  cleanup.push(() => client.close());
  const md = new grpc.Metadata();
  md.set('x_under', 'dropped');
  md.set('x-dash', 'kept');
  await unary(client, { message: 'u' }, { deadline: Date.now() + 10_000 }, 'Echo', md);
  assert.deepEqual(drop.good.echo.lastMetadata?.get('x_under'), []);
  assert.deepEqual(drop.good.echo.lastMetadata?.get('x-dash'), ['kept']);
});

test('connection limit: connections beyond maxConnections are closed at accept, open ones keep being served, and slots free up', async () => {
  const setup = await setUp({}, { limits: { maxConnections: 4 } });
  const { EchoClient } = loadEcho();
  const client = new EchoClient(setup.sidecar.target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }) as EchoClient;
  cleanup.push(() => client.close());
  assert.equal((await unary(client, { message: 'first' }, { deadline: Date.now() + 10_000 })).message, 'first');
  const held = await Promise.all([0, 1, 2].map(() => rawConnection(setup.sidecar)));
  await until(() => setup.sidecar.connections === 4, 'four connections');
  const extra = await Promise.all([0, 1, 2, 3, 4].map(() => rawConnection(setup.sidecar).then(closedSocket)));
  assert.equal(extra.length, 5, 'every connection over the limit was closed');
  assert.equal(setup.sidecar.stats.downstream_cx_overflow, 5);
  assert.equal((await unary(client, { message: 'still' }, { deadline: Date.now() + 10_000 })).message, 'still');
  held[0]!.destroy();
  await until(() => setup.sidecar.connections === 3, 'a slot freed');
  const res = await request(`http://${setup.sidecar.target}/web/after`);
  assert.equal(res.statusCode, 200);
  await res.body.text();
});

test('connection limit from the bootstrap\'s overload manager (global_downstream_max_connections), followed as the config changes', async () => {
  const good = await startGoodUpstreams();
  cleanup.push(() => good.close());
  // The shape of Envoy's overload-manager docs (configuration/operations/overload_manager), written for this test.
  const withLimit = (max: number) => ({
    ...(hostileConfig(good) as Record<string, unknown>),
    header_prefix: 'x-envoy',
    overload_manager: {
      refresh_interval: '0.25s',
      resource_monitors: [{
        name: 'envoy.resource_monitors.global_downstream_max_connections',
        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig', max_active_downstream_connections: max },
      }],
    },
  });
  const sidecar = await startSidecar({ config: withLimit(2), listen: '127.0.0.1:0', admin: false });
  cleanup.push(() => sidecar.close());
  assert.equal(sidecar.limits.maxConnections, 2);
  await Promise.all([0, 1].map(() => rawConnection(sidecar)));
  await until(() => sidecar.connections === 2, 'two connections');
  await closedSocket(await rawConnection(sidecar));
  assert.equal(sidecar.stats.downstream_cx_overflow, 1, 'the third was closed at accept');
  await sidecar.mesh.update(withLimit(5));
  assert.equal(sidecar.limits.maxConnections, 5);
  await rawConnection(sidecar);
  await until(() => sidecar.connections === 3, 'a third connection under the new limit');
  assert.equal(sidecar.stats.downstream_cx_overflow, 1);
  // The served listener's ignore_global_conn_limit: the overload manager's limit no longer applies to it.
  const exempt = withLimit(1) as { static_resources: { listeners: Record<string, unknown>[] } };
  exempt.static_resources.listeners[0]!['ignore_global_conn_limit'] = true;
  await sidecar.mesh.update(exempt);
  assert.ok(sidecar.limits.maxConnections > 3, 'the sidecar\'s own default instead');
  await rawConnection(sidecar);
  await until(() => sidecar.connections === 4, 'a fourth connection despite max_active_downstream_connections 1');
});

test('gRPC message size limit: an oversized length prefix ends the stream at once with RESOURCE_EXHAUSTED, either way', async () => {
  const setup = await setUp({}, { limits: { maxGrpcMessageBytes: 1024 } });
  const session = h2Session(setup.sidecar);
  // From the client: a 4 GiB prefix.
  const count = setup.hostile.streams.length;
  const fromClient = exchange(session, { ':path': '/h/raw/up' }, grpcPrefix(0xffff_ffff), false);
  await within(fromClient.closed, 'the oversized request ending');
  assert.equal(fromClient.headers?.['grpc-status'], String(grpc.status.RESOURCE_EXHAUSTED));
  assert.equal(fromClient.headers?.['x-xmesh-error-code'], 'XMESH_MESSAGE_TOO_LARGE');
  if (setup.hostile.streams.length > count) {
    const id = setup.hostile.streams[count]!.id;
    await until(() => setup.hostile.resets.some((r) => r.id === id), 'the upstream stream cancelled');
  }
  // From the upstream, after a good message: the client gets that one, then RESOURCE_EXHAUSTED trailers.
  setup.script = (s) => {
    s.headers(GRPC_RESPONSE);
    s.data(Buffer.concat([grpcPrefix(3), Buffer.from('abc'), grpcPrefix(0xffff_ffff), Buffer.alloc(100)]));
  };
  const fromUpstream = exchange(session, { ':path': '/h/raw/down' }, grpcPrefix(0));
  await within(fromUpstream.closed, 'the oversized response ending');
  assert.equal(fromUpstream.trailers?.['grpc-status'], String(grpc.status.RESOURCE_EXHAUSTED));
  assert.deepEqual(fromUpstream.body, Buffer.concat([grpcPrefix(3), Buffer.from('abc')]));
  const downId = setup.hostile.streams.at(-1)!.id;
  await until(() => setup.hostile.resets.some((r) => r.id === downId && r.code === constants.NGHTTP2_CANCEL), 'the upstream stream cancelled');
  // A stock grpc-js client sending a message over the limit gets RESOURCE_EXHAUSTED.
  const { EchoClient } = loadEcho();
  const client = new EchoClient(setup.sidecar.target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }) as EchoClient;
  cleanup.push(() => client.close());
  const error = await unary(client, { message: 'x', payload: Buffer.alloc(2048) }, { deadline: Date.now() + 10_000 }).then(() => undefined, (e: grpc.ServiceError) => e);
  assert.equal(error?.code, grpc.status.RESOURCE_EXHAUSTED);
  assert.equal((await unary(client, { message: 'small' }, { deadline: Date.now() + 10_000 })).message, 'small');
});

test('the default gRPC message limit is 4 MiB: a 4 GiB prefix from the upstream ends the stream at once', async () => {
  const setup = await setUp();
  setup.script = (s) => {
    s.headers(GRPC_RESPONSE);
    s.data(grpcPrefix(0xffff_ffff));
  };
  const ex = exchange(h2Session(setup.sidecar), { ':path': '/h/raw/huge' }, grpcPrefix(0));
  await within(ex.closed, 'the 4 GiB message ending the stream', 5000);
  assert.equal(ex.trailers?.['grpc-status'], String(grpc.status.RESOURCE_EXHAUSTED));
});

test('common_http_protocol_options.max_stream_duration ends a stream that lives longer: 408 / DEADLINE_EXCEEDED "downstream duration timeout"', async () => {
  const setup = await setUp({ common_http_protocol_options: { max_stream_duration: '0.4s' } });
  // The upstream keeps the stream busy (a byte every 50 ms): it is not idle, only too old.
  setup.script = (s) => {
    s.headers(GRPC_RESPONSE);
    s.data(grpcPrefix(1000));
    const tick = setInterval(() => (s.socket.destroyed ? clearInterval(tick) : s.data(Buffer.alloc(1))), 50);
    cleanup.push(() => clearInterval(tick));
  };
  const afterHeaders = exchange(h2Session(setup.sidecar), { ':path': '/h/raw/old' }, grpcPrefix(0));
  await within(afterHeaders.closed, 'the old stream ending');
  assert.equal(afterHeaders.headers?.[':status'], 200);
  assert.equal(afterHeaders.rstCode, constants.NGHTTP2_INTERNAL_ERROR, 'headers went out: reset');
  setup.script = () => undefined;
  const before = exchange(h2Session(setup.sidecar), { ':path': '/h/raw/old2' }, grpcPrefix(0));
  await within(before.closed, 'the unanswered stream ending');
  assert.equal(before.headers?.['grpc-status'], String(grpc.status.DEADLINE_EXCEEDED));
  assert.match(decodeURIComponent(String(before.headers?.['grpc-message'])), /downstream duration timeout/);
});

test('http_protocol_options.enable_trailers: HTTP/1.1 clients get the upstream\'s trailers only when it is set', async () => {
  const trailersOf = async (setup: Setup): Promise<Record<string, string>> => {
    setup.script = (s) => {
      s.headers([[':status', '200'], ['content-type', 'text/plain']]);
      s.data(Buffer.from('body'));
      s.headers([['x-trailer', 'yes']], true);
    };
    const socket = await rawConnection(setup.sidecar);
    const text = closedSocket(socket);
    socket.write('GET /h/raw/t HTTP/1.1\r\nHost: x\r\nTE: trailers\r\nConnection: close\r\n\r\n');
    const reply = await within(text, 'the HTTP/1.1 response');
    const tail = reply.split('\r\n0\r\n')[1] ?? '';
    return Object.fromEntries(tail.split('\r\n').filter((l) => l.includes(':')).map((l) => l.split(/:\s*/) as [string, string]));
  };
  assert.deepEqual(await trailersOf(await setUp()), {});
  assert.deepEqual(await trailersOf(await setUp({ http_protocol_options: { enable_trailers: true } })), { 'x-trailer': 'yes' });
});

test('http2_protocol_options.initial_connection_window_size opens the client connection\'s window to it', async () => {
  const setup = await setUp({ http2_protocol_options: { initial_connection_window_size: 2_097_152 } });
  const session = h2Session(setup.sidecar);
  await remoteSettings(session);
  await until(() => session.state.remoteWindowSize === 2_097_152, `the connection window (${session.state.remoteWindowSize})`);
});

test('continue_on_listener_filters_timeout: a connection silent past the detection timeout is served as HTTP/1.1', async () => {
  const setup = await setUp({}, { listener: { listener_filters_timeout: '0.3s', continue_on_listener_filters_timeout: true } });
  const socket = await rawConnection(setup.sidecar);
  const text = closedSocket(socket);
  await sleep(800);
  socket.write('GET /web/late HTTP/1.1\r\nHost: web.svc\r\nConnection: close\r\n\r\n');
  const reply = await within(text, 'the late request answered');
  assert.match(reply, /^HTTP\/1\.1 200/);
  assert.match(reply, /web \/web\/late$/);
});
