// The gRPC HTTP/1.1 bridge (envoy.filters.http.grpc_http1_bridge, as envoyproxy/examples grpc-bridge/client puts it
// first in its chain) in both modes: an HTTP/1.1 client sending a gRPC request — undici's `request` to the sidecar, and
// through the embedded mesh's dispatcher — gets the stock grpc-js server's response whole, with the trailers' status as
// headers, 503 when it is not OK, and a Content-Length; no trailers. A gRPC client (HTTP/2: node's http2 to the sidecar,
// a stock generated client on the embedded mesh) still gets trailers. A response over the stream's buffer limit is
// answered 500 the gRPC way (grpc-status 2, Envoy's local reply); a route can turn the filter off.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as http2Connect, constants as h2, createServer as createHttp2Server, type Http2Server } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { startBothModes, type BothModes } from '../support/both-modes.js';
import { loadEcho, type EchoClient, type EchoReply, type EchoRequest } from '../support/echo-server.js';
import { bootstrap } from '../support/mesh-config.js';
import { unary } from '../support/grpc-call.js';

const BRIDGE = 'type.googleapis.com/envoy.extensions.filters.http.grpc_http1_bridge.v3.Config';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
const { EchoClient: EchoCtor, service } = loadEcho();
const echo = service.Echo!;

/** A gRPC message frame: uncompressed, 4-byte length, the serialized request. */
function frame(message: EchoRequest): Buffer {
  const body = echo.requestSerialize(message);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

function unframe(bytes: Buffer): EchoReply {
  assert.equal(bytes.readUInt32BE(1), bytes.length - 5, 'one whole message');
  return echo.responseDeserialize(bytes.subarray(5)) as EchoReply;
}

describe('gRPC HTTP/1.1 bridge, embedded and sidecar', () => {
  let server: grpc.Server;
  let hostile: Http2Server;
  let both: BothModes;

  before(async () => {
    // A stock grpc-js server: `fail` sends its headers, then ends with NOT_FOUND in trailers; `fail-at-once` ends with
    // NOT_FOUND alone (a trailers-only response); `big:<n>` answers an n-byte payload; anything else is echoed.
    server = new grpc.Server();
    server.addService(service, {
      Echo: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => {
        const message = call.request.message ?? '';
        if (message === 'fail' || message === 'fail-at-once') {
          if (message === 'fail') call.sendMetadata(new grpc.Metadata());
          callback({ code: grpc.status.NOT_FOUND, details: 'no such thing' });
          return;
        }
        const big = /^big:(\d+)$/.exec(message);
        callback(null, { message, payload: big ? Buffer.alloc(Number(big[1]), 7) : call.request.payload ?? Buffer.alloc(0), server: 'stock' });
      },
    });
    // A hostile upstream: response headers and part of a message, then RST_STREAM INTERNAL_ERROR.
    hostile = createHttp2Server();
    hostile.on('stream', (stream) => {
      stream.on('error', () => {});
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.write(Buffer.from([0, 0, 0, 0, 9, 1]), () => stream.destroy(new Error('upstream gives up')));
    });
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    const config = bootstrap({
      routes: [
        // The bridge turned off for one route (Envoy's generic per-route FilterConfig).
        { match: { prefix: '/xmesh.echo.Echo/Echo', headers: [{ name: 'x-no-bridge', present_match: true }] }, route: { cluster: 'grpc' }, typed_per_filter_config: { 'envoy.filters.http.grpc_http1_bridge': { '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig', disabled: true } } },
        { match: { prefix: '/hostile.' }, route: { cluster: 'hostile' } },
        { match: { prefix: '/' }, route: { cluster: 'grpc' } },
      ],
      clusters: { grpc: [`127.0.0.1:${port}`], hostile: [`127.0.0.1:${(hostile.address() as { port: number }).port}`] },
      http2: ['grpc', 'hostile'],
      hcm: {
        // HTTP/1.1 clients get trailers (Envoy drops them by default): the route without the bridge shows them.
        http_protocol_options: { enable_trailers: true },
        http_filters: [
          { name: 'envoy.filters.http.grpc_http1_bridge', typed_config: { '@type': BRIDGE } },
          { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER } },
        ],
      },
    });
    // A small stream buffer limit: the bridge holds at most 4 KiB of a response.
    (config as { static_resources: { listeners: Record<string, unknown>[] } }).static_resources.listeners[0]!.per_connection_buffer_limit_bytes = 4096;
    both = await startBothModes(config);
  });
  after(async () => {
    await both.close();
    server.forceShutdown();
    hostile.close();
  });

  type Answer = { status: number; headers: Record<string, unknown>; body: Buffer; trailers: Record<string, unknown> };
  const modes = (path = '/xmesh.echo.Echo/Echo'): [string, (message: EchoRequest, headers?: Record<string, string>) => Promise<Answer>][] => {
    const send = async (url: string, message: EchoRequest, headers: Record<string, string>, dispatcher?: BothModes['mesh']['dispatcher']): Promise<Answer> => {
      const res = await request(url, { method: 'POST', body: frame(message), headers: { 'content-type': 'application/grpc', te: 'trailers', ...headers }, ...(dispatcher ? { dispatcher } : {}) });
      const body = Buffer.from(await res.body.arrayBuffer());
      return { status: res.statusCode, headers: res.headers, body, trailers: res.trailers };
    };
    return [
      ['embedded', (message, headers = {}) => send(`http://echo.svc${path}`, message, headers, both.mesh.dispatcher)],
      ['sidecar', (message, headers = {}) => send(`http://${both.sidecar.target}${path}`, message, { host: 'echo.svc', ...headers })],
    ];
  };

  test('an HTTP/1.1 gRPC call gets the response whole: grpc-status as a header, a Content-Length, no trailers', async () => {
    for (const [mode, send] of modes()) {
      const answer = await send({ message: 'bridged', payload: Buffer.from('abc') });
      assert.equal(answer.status, 200, mode);
      assert.equal(answer.headers['grpc-status'], '0', mode);
      assert.equal(answer.headers['content-length'], String(answer.body.length), mode);
      assert.equal(answer.headers['transfer-encoding'], undefined, mode);
      assert.deepEqual(answer.trailers, {}, mode);
      const reply = unframe(answer.body);
      assert.deepEqual([reply.message, reply.server, Buffer.from(reply.payload).toString()], ['bridged', 'stock', 'abc'], mode);
    }
  });

  test('a call failed in trailers is 503 with grpc-status and grpc-message as headers; a trailers-only status passes as it came', async () => {
    for (const [mode, send] of modes()) {
      const answer = await send({ message: 'fail' });
      assert.equal(answer.status, 503, mode);
      assert.equal(answer.headers['grpc-status'], String(grpc.status.NOT_FOUND), mode);
      // As it came in the trailer: percent-encoded (gRPC's wire form).
      assert.equal(answer.headers['grpc-message'], 'no%20such%20thing', mode);
      assert.equal(answer.headers['content-length'], '0', mode);
      // A status that came with the headers (trailers-only) goes as it came: Envoy's bridge leaves it alone.
      const atOnce = await send({ message: 'fail-at-once' });
      assert.equal(atOnce.status, 200, mode);
      assert.equal(atOnce.headers['grpc-status'], String(grpc.status.NOT_FOUND), mode);
    }
  });

  test('a route with the filter disabled is not bridged: the status comes in trailers', async () => {
    for (const [mode, send] of modes()) {
      const answer = await send({ message: 'fail' }, { 'x-no-bridge': '1' });
      assert.equal(answer.status, 200, mode);
      assert.equal(answer.headers['grpc-status'], undefined, mode);
      assert.equal(answer.trailers['grpc-status'], String(grpc.status.NOT_FOUND), mode);
    }
  });

  test('a response over the stream buffer limit is answered 500 the gRPC way (grpc-status 2), never cut short', async () => {
    for (const [mode, send] of modes()) {
      const fits = await send({ message: 'big:3000' });
      assert.equal(fits.status, 200, mode);
      assert.equal(Buffer.from(unframe(fits.body).payload).length, 3000, mode);
      const over = await send({ message: 'big:20000' });
      assert.equal(over.status, 200, `${mode}: a gRPC local reply`);
      assert.equal(over.headers['grpc-status'], String(grpc.status.UNKNOWN), mode);
      assert.equal(over.headers['grpc-message'], 'Internal Server Error', mode);
      assert.equal(over.body.length, 0, mode);
    }
  });

  test('an upstream reset while the response is held fails the call (Envoy resets the client): no partial answer, no local reply', async () => {
    for (const [mode, send] of modes('/hostile.Svc/Call')) {
      console.log(mode, await send({ message: 'x' }).catch((e) => e.message));
    }
  });

  test('gRPC clients on HTTP/2 are not bridged: node\'s http2 to the sidecar and a stock generated client on the embedded mesh get trailers', async () => {
    const session = http2Connect(`http://${both.sidecar.target}`);
    session.on('error', () => {});
    try {
      const stream = session.request({ ':method': 'POST', ':path': '/xmesh.echo.Echo/Echo', ':authority': 'echo.svc', 'content-type': 'application/grpc', te: 'trailers' });
      stream.end(frame({ message: 'fail' }));
      const [headers, trailers] = await Promise.all([
        new Promise<Record<string, unknown>>((resolve) => stream.once('response', resolve)),
        new Promise<Record<string, unknown>>((resolve) => stream.once('trailers', resolve)),
        new Promise((resolve) => stream.resume().once('end', resolve)),
      ]);
      assert.equal(headers[':status'], 200);
      assert.equal(headers['grpc-status'], undefined);
      assert.equal(trailers['grpc-status'], String(grpc.status.NOT_FOUND));
    } finally {
      session.close();
    }
    const client = both.mesh.grpcClient(EchoCtor, 'echo.svc:80') as EchoClient;
    try {
      assert.equal((await unary(client, { message: 'through the mesh' })).message, 'through the mesh');
      await assert.rejects(unary(client, { message: 'fail' }), (error: grpc.ServiceError) => error.code === grpc.status.NOT_FOUND && error.details === 'no such thing');
    } finally {
      client.close();
    }
  });
});
