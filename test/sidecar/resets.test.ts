// Resets both ways through the sidecar, and the peer behaviours that used to kill its process (an
// 'error' event with no listener): a client RST_STREAM with any code, rapid reset, an upstream GOAWAY
// after response headers, a route timeout after response headers, a stall then a client that drops,
// 10,000 trailers. The sidecar runs in this process under an 'uncaughtException' guard that fails
// the test. Resets map as in Envoy: a client reset cancels the upstream stream; an upstream reset
// before response headers is a local reply (503 / UNAVAILABLE), after them a reset of the client stream.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { loadEcho, type EchoClient } from '../support/echo-server.js';
import { unary } from '../support/grpc-call.js';
import { ERROR_CODES, grpcPrefix, startRawUpstream, type RawStream, type RawUpstream } from './support/raw-h2.js';
import { rapidReset } from './support/raw-client.js';
import { until } from './support/waits.js';
import { hostileConfig, startGoodUpstreams, type GoodUpstreams } from './support/topology.js';

const GRPC_HEADERS: [string, string][] = [[':status', '200'], ['content-type', 'application/grpc']];

/** What a client stream saw: response headers, trailers, its close code, any error. */
interface Seen {
  headers: IncomingHttpHeaders | undefined;
  trailers: IncomingHttpHeaders | undefined;
  rstCode: number | undefined;
  error: string | undefined;
  closed: Promise<void>;
}

function grpcRequest(session: ClientHttp2Session, path: string, body?: Buffer): { stream: ClientHttp2Stream; seen: Seen } {
  const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false });
  const seen: Seen = { headers: undefined, trailers: undefined, rstCode: undefined, error: undefined, closed: Promise.resolve() };
  seen.closed = new Promise((resolve) => stream.on('close', () => {
    seen.rstCode = stream.rstCode;
    resolve();
  }));
  stream.on('response', (h) => (seen.headers = h));
  stream.on('trailers', (t) => (seen.trailers = t));
  stream.on('error', (e: Error) => (seen.error = e.message));
  stream.resume();
  if (body !== undefined) stream.end(body);
  return { stream, seen };
}

describe('sidecar resets and crash-prone peers', () => {
  const uncaught: Error[] = [];
  const guard = (error: Error): void => void uncaught.push(error);
  let good: GoodUpstreams;
  let sidecar: Sidecar;
  let echo: EchoClient;
  const hostile: Record<string, RawUpstream> = {};
  /** Per upstream, what its next stream does. */
  const scripts: Record<string, (stream: RawStream) => void> = {};

  before(async () => {
    process.on('uncaughtException', guard);
    good = await startGoodUpstreams();
    for (const name of ['hang', 'goaway', 'trailers', 'rst', 'slow']) hostile[name] = await startRawUpstream((s) => scripts[name]?.(s));
    const timeouts: Record<string, string> = { hang: '0s', slow: '0.3s' };
    const routes = Object.fromEntries(Object.entries(hostile).map(([name, up]) => [name, { address: up.address, http2: true, timeout: timeouts[name] ?? '5s' }]));
    const config = hostileConfig(good, routes);
    sidecar = await startSidecar({ config, listen: '127.0.0.1:0', admin: false });
    const { EchoClient: Ctor } = loadEcho();
    echo = new Ctor(sidecar.target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }) as EchoClient;
  });

  after(async () => {
    echo.close();
    await sidecar.close();
    await Promise.all(Object.values(hostile).map((h) => h.close()));
    await good.close();
    process.off('uncaughtException', guard);
  });

  afterEach(async () => {
    // Late events of a case (a reset arriving after its assertions) land before the next one.
    await sleep(50);
    const thrown = uncaught.splice(0).map((e) => `${(e as { code?: string }).code}: ${e.message}`);
    assert.deepEqual(thrown, [], 'nothing may throw out of an event handler');
    // The sidecar still serves a stock client afterwards.
    assert.equal((await unary(echo, { message: 'still here' }, { deadline: Date.now() + 10_000 })).message, 'still here');
  });

  test('a client RST_STREAM with any error code, before or after response headers, cancels the upstream stream', async () => {
    const upstream = hostile.hang!;
    const session = connect(`http://${sidecar.target}`);
    session.on('error', () => undefined);
    let answer = false;
    scripts.hang = (s) => {
      if (answer) {
        s.headers(GRPC_HEADERS);
        s.data(grpcPrefix(10).subarray(0, 3));
      }
    };
    for (const afterHeaders of [false, true]) {
      answer = afterHeaders;
      for (const code of ERROR_CODES) {
        const seenBefore = upstream.streams.length;
        const { stream, seen } = grpcRequest(session, `/h/hang/${code}`);
        stream.write(grpcPrefix(1));
        await until(() => upstream.streams.length > seenBefore, 'the upstream stream');
        if (afterHeaders) await until(() => seen.headers !== undefined, 'response headers');
        const upstreamId = upstream.streams.at(-1)!.id;
        stream.close(code);
        await seen.closed;
        await until(() => upstream.resets.some((r) => r.id === upstreamId), `the upstream reset after a client ${code}`);
        assert.equal(upstream.resets.find((r) => r.id === upstreamId)?.code, constants.NGHTTP2_CANCEL);
      }
    }
    session.close();
  });

  test('rapid reset (CVE-2023-44487): thousands of streams opened and reset at once; the connection is closed, the process lives', async () => {
    const total = 4000;
    const { opened, closedByServer } = await rapidReset(sidecar.target, '/xmesh.echo.Echo/Echo', total, 100);
    assert.ok(opened >= total, `opened ${opened} streams`);
    assert.ok(sidecar.stats.downstream_rq_too_many_premature_resets >= 1, 'connections with mostly premature resets are closed');
    assert.ok(closedByServer >= 1, 'the sidecar closed the attacker\'s connection');
  });

  test('rapid reset does not get the shared upstream connection closed: a call in flight on it completes (the sidecar budgets its upstream resets)', async () => {
    // grpc-js's server (nghttp2) closes a connection whose peer resets more than 1000 streams at once.
    const inFlight = unary(echo, { message: 'slow:1500' }, { deadline: Date.now() + 20_000 });
    await sleep(100);
    const { opened } = await rapidReset(sidecar.target, '/xmesh.echo.Echo/Echo', 3000, 100);
    assert.equal(opened, 3000);
    assert.equal((await inFlight).message, 'slow:1500');
  });

  test('upstream GOAWAY(INTERNAL_ERROR) after response headers resets the client stream; before them, a local reply UNAVAILABLE', async () => {
    let headersFirst = true;
    scripts.goaway = (s) => {
      if (headersFirst) {
        s.headers(GRPC_HEADERS);
        s.data(grpcPrefix(100).subarray(0, 4));
      }
      setTimeout(() => s.goaway(constants.NGHTTP2_INTERNAL_ERROR), 20);
    };
    const session = connect(`http://${sidecar.target}`);
    session.on('error', () => undefined);
    const afterHeaders = grpcRequest(session, '/h/goaway/a', grpcPrefix(0));
    await afterHeaders.seen.closed;
    assert.equal(afterHeaders.seen.headers?.[':status'], 200);
    assert.equal(afterHeaders.seen.trailers, undefined);
    assert.equal(afterHeaders.seen.rstCode, constants.NGHTTP2_INTERNAL_ERROR);
    headersFirst = false;
    const beforeHeaders = grpcRequest(session, '/h/goaway/b', grpcPrefix(0));
    await beforeHeaders.seen.closed;
    assert.equal(beforeHeaders.seen.headers?.['grpc-status'], String(grpc.status.UNAVAILABLE));
    session.close();
  });

  test('upstream RST_STREAM before response headers is a local reply UNAVAILABLE; after them, a reset of the client stream', async () => {
    let headersFirst = false;
    scripts.rst = (s) => {
      if (headersFirst) s.headers(GRPC_HEADERS);
      setTimeout(() => s.rst(constants.NGHTTP2_INTERNAL_ERROR), 20);
    };
    const session = connect(`http://${sidecar.target}`);
    session.on('error', () => undefined);
    const before = grpcRequest(session, '/h/rst/a', grpcPrefix(0));
    await before.seen.closed;
    assert.equal(before.seen.headers?.['grpc-status'], String(grpc.status.UNAVAILABLE));
    assert.equal(before.seen.headers?.['x-xmesh-error-code'], 'XMESH_UPSTREAM_RESET');
    headersFirst = true;
    const afterHeaders = grpcRequest(session, '/h/rst/b', grpcPrefix(0));
    await afterHeaders.seen.closed;
    assert.equal(afterHeaders.seen.headers?.[':status'], 200);
    assert.equal(afterHeaders.seen.rstCode, constants.NGHTTP2_INTERNAL_ERROR);
    session.close();
  });

  test('a route timeout after response headers went out (an ordinary slow upstream) resets the client stream; before them, DEADLINE_EXCEEDED', async () => {
    let headersFirst = true;
    scripts.slow = (s) => {
      if (!headersFirst) return;
      s.headers(GRPC_HEADERS);
      s.data(Buffer.concat([grpcPrefix(100), Buffer.alloc(10)]));
    };
    const session = connect(`http://${sidecar.target}`);
    session.on('error', () => undefined);
    const started = Date.now();
    const afterHeaders = grpcRequest(session, '/h/slow/a', grpcPrefix(0));
    await afterHeaders.seen.closed;
    assert.ok(Date.now() - started < 10_000, 'ended by the 0.3 s route timeout');
    assert.equal(afterHeaders.seen.headers?.[':status'], 200);
    assert.equal(afterHeaders.seen.rstCode, constants.NGHTTP2_INTERNAL_ERROR);
    headersFirst = false;
    const beforeHeaders = grpcRequest(session, '/h/slow/b', grpcPrefix(0));
    await beforeHeaders.seen.closed;
    assert.equal(beforeHeaders.seen.headers?.['grpc-status'], String(grpc.status.DEADLINE_EXCEEDED));
    assert.equal(beforeHeaders.seen.headers?.['x-xmesh-error-code'], 'XMESH_TIMEOUT');
    session.close();
  });

  test('upstream sends headers and part of a message, stalls, then the client drops its connection: the upstream stream is cancelled', async () => {
    const upstream = hostile.hang!;
    scripts.hang = (s) => {
      s.headers(GRPC_HEADERS);
      s.data(Buffer.concat([grpcPrefix(1000), Buffer.alloc(10)]));
    };
    const session = connect(`http://${sidecar.target}`);
    session.on('error', () => undefined);
    const count = upstream.streams.length;
    const { seen } = grpcRequest(session, '/h/hang/stall', grpcPrefix(0));
    await until(() => seen.headers !== undefined, 'response headers');
    const upstreamId = upstream.streams[count]!.id;
    session.destroy();
    await until(() => upstream.resets.some((r) => r.id === upstreamId), 'the upstream reset');
  });

  test('10,000 response trailers reset the client stream; 10,000 response headers are a local reply; the process lives', async () => {
    const many = Array.from({ length: 10_000 }, (_, i) => [`x-flood-${i}`, 'v'] as [string, string]);
    let trailersCase = true;
    scripts.trailers = (s) => {
      if (trailersCase) {
        s.headers(GRPC_HEADERS);
        s.data(grpcPrefix(0));
        s.headers([['grpc-status', '0'], ...many], true);
      } else {
        s.headers([...GRPC_HEADERS, ...many]);
      }
    };
    const session = connect(`http://${sidecar.target}`);
    session.on('error', () => undefined);
    const trailers = grpcRequest(session, '/h/trailers/a', grpcPrefix(0));
    await trailers.seen.closed;
    assert.equal(trailers.seen.trailers, undefined, 'no trailers reach the client');
    assert.notEqual(trailers.seen.rstCode, constants.NGHTTP2_NO_ERROR, 'the stream was reset');
    trailersCase = false;
    const headers = grpcRequest(session, '/h/trailers/b', grpcPrefix(0));
    await headers.seen.closed;
    assert.equal(headers.seen.headers?.['grpc-status'], String(grpc.status.UNAVAILABLE));
    session.close();
  });
});
