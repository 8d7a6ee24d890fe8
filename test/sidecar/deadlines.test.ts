// Deadlines in the sidecar, on a fake mesh clock (no test waits on a real timer): `grpc-timeout`
// ends a call by itself (capped by `max_stream_duration.grpc_timeout_header_max`, shortened by
// `grpc_timeout_header_offset`, as embedded mode computes it), and the route timeout covers the
// whole response, a stalled body included. A call that got nothing yet ends DEADLINE_EXCEEDED
// (trailers-only) / 504; one whose headers went out is reset. The upstream stream is cancelled.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { FakeClock } from '../support/fake-clock.js';
import { grpcPrefix, startRawUpstream, type RawStream, type RawUpstream } from './support/raw-h2.js';
import { hostileConfig, startGoodUpstreams, type GoodUpstreams } from './support/topology.js';
import { until, within } from './support/waits.js';

interface Call {
  headers: IncomingHttpHeaders | undefined;
  rstCode: number | undefined;
  done: boolean;
  closed: Promise<void>;
}

function grpcCall(session: ClientHttp2Session, path: string, grpcTimeout: string | undefined): Call {
  const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...(grpcTimeout ? { 'grpc-timeout': grpcTimeout } : {}) });
  const call: Call = { headers: undefined, rstCode: undefined, done: false, closed: Promise.resolve() };
  stream.on('response', (h) => (call.headers = h));
  stream.on('error', () => undefined);
  call.closed = new Promise((resolve) => stream.on('close', () => {
    call.rstCode = stream.rstCode;
    call.done = true;
    resolve();
  }));
  stream.resume();
  stream.end(grpcPrefix(0));
  return call;
}

describe('sidecar deadlines', () => {
  const clock = new FakeClock(1_000_000);
  let good: GoodUpstreams;
  let upstream: RawUpstream;
  let h1: Server;
  const h1Responses: ServerResponse[] = [];
  let sidecar: Sidecar;
  let session: ClientHttp2Session;
  let script: (s: RawStream) => void = () => undefined;

  before(async () => {
    good = await startGoodUpstreams();
    upstream = await startRawUpstream((s) => script(s));
    h1 = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first part of the body;');
      h1Responses.push(res);
    });
    await new Promise<void>((resolve) => h1.listen(0, '127.0.0.1', resolve));
    const h1Address = `127.0.0.1:${(h1.address() as { port: number }).port}`;
    const config = hostileConfig(good, {
      // Envoy's default route timeout (15 s): only grpc-timeout can end these earlier.
      plain: { address: upstream.address, http2: true },
      capped: { address: upstream.address, http2: true, action: { max_stream_duration: { grpc_timeout_header_max: '1s' } } },
      offset: { address: upstream.address, http2: true, action: { max_stream_duration: { grpc_timeout_header_max: '0s', grpc_timeout_header_offset: '0.1s' } } },
      short: { address: upstream.address, http2: true, timeout: '1s' },
      body: { address: h1Address, http2: false, timeout: '1s' },
    });
    sidecar = await startSidecar({ config, listen: '127.0.0.1:0', admin: false, clock });
    session = connect(`http://${sidecar.target}`);
    session.on('error', () => undefined);
  });

  after(async () => {
    session.close();
    await sidecar.close();
    for (const res of h1Responses) res.destroy();
    h1.close();
    await upstream.close();
    await good.close();
  });

  /** Starts a call and waits until the upstream holds its stream. */
  async function started(path: string, grpcTimeout: string | undefined, headersFirst: boolean): Promise<{ call: Call; upstreamId: number }> {
    script = (s) => {
      if (headersFirst) {
        s.headers([[':status', '200'], ['content-type', 'application/grpc']]);
        s.data(grpcPrefix(50).subarray(0, 4));
      }
    };
    const count = upstream.streams.length;
    const call = grpcCall(session, path, grpcTimeout);
    await until(() => upstream.streams.length > count, 'the upstream stream');
    if (headersFirst) await until(() => call.headers !== undefined, 'response headers');
    return { call, upstreamId: upstream.streams[count]!.id };
  }

  async function cancelledUpstream(id: number): Promise<void> {
    await until(() => upstream.resets.some((r) => r.id === id && r.code === constants.NGHTTP2_CANCEL), `the upstream stream ${id} cancelled`);
  }

  test('grpc-timeout shorter than the route timeout ends the call at the grpc-timeout: DEADLINE_EXCEEDED, upstream cancelled', async () => {
    const { call, upstreamId } = await started('/h/plain/a', '200m', false);
    clock.advance(150);
    await sleep(50);
    assert.equal(call.done, false, 'not before its grpc-timeout');
    clock.advance(60);
    await within(call.closed, 'the call ending');
    assert.equal(call.headers?.['grpc-status'], String(grpc.status.DEADLINE_EXCEEDED));
    assert.equal(call.headers?.['x-xmesh-error-code'], 'XMESH_TIMEOUT');
    await cancelledUpstream(upstreamId);
  });

  test('grpc-timeout is capped by grpc_timeout_header_max', async () => {
    const { call, upstreamId } = await started('/h/capped/a', '10S', false);
    clock.advance(990);
    await sleep(50);
    assert.equal(call.done, false);
    clock.advance(20);
    await within(call.closed, 'the call ending');
    assert.equal(call.headers?.['grpc-status'], String(grpc.status.DEADLINE_EXCEEDED));
    await cancelledUpstream(upstreamId);
  });

  test('grpc_timeout_header_offset shortens the grpc-timeout', async () => {
    const { call } = await started('/h/offset/a', '1S', false);
    clock.advance(890);
    await sleep(50);
    assert.equal(call.done, false);
    clock.advance(20);
    await within(call.closed, 'the call ending');
    assert.equal(call.headers?.['grpc-status'], String(grpc.status.DEADLINE_EXCEEDED));
  });

  test('without grpc_timeout_header_max a longer grpc-timeout does not extend the route timeout', async () => {
    const { call } = await started('/h/short/a', '10S', false);
    clock.advance(1010);
    await within(call.closed, 'the call ending');
    assert.equal(call.headers?.['grpc-status'], String(grpc.status.DEADLINE_EXCEEDED));
  });

  test('a stalled response body is ended by the grpc-timeout after headers went out: the client stream is reset', async () => {
    const { call, upstreamId } = await started('/h/plain/b', '300m', true);
    clock.advance(310);
    await within(call.closed, 'the call ending');
    assert.equal(call.headers?.[':status'], 200);
    assert.equal(call.rstCode, constants.NGHTTP2_INTERNAL_ERROR);
    await cancelledUpstream(upstreamId);
  });

  test('the route timeout covers a stalled gRPC response body', async () => {
    const { call, upstreamId } = await started('/h/short/b', undefined, true);
    clock.advance(1010);
    await within(call.closed, 'the call ending');
    assert.equal(call.rstCode, constants.NGHTTP2_INTERNAL_ERROR);
    await cancelledUpstream(upstreamId);
  });

  test('the route timeout covers a stalled HTTP/1.1 response body (undici client): the body fails, the upstream connection is closed', async () => {
    const count = h1Responses.length;
    const res = await request(`http://${sidecar.target}/h/body/x`, { headers: { host: 'web.svc' } });
    assert.equal(res.statusCode, 200);
    await until(() => h1Responses.length > count, 'the upstream response');
    const closedUpstream = new Promise<void>((resolve) => h1Responses[count]!.on('close', () => resolve()));
    const body = res.body.text().then(() => 'complete', (e: Error & { code?: string }) => e.code ?? e.message);
    clock.advance(1010);
    assert.equal(await within(body, 'the body failing'), 'UND_ERR_SOCKET');
    await within(closedUpstream, 'the upstream connection closing');
  });
});
