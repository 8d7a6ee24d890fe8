/**
 * Transport behaviour against a raw node:http2 server that answers in ways
 * stock servers rarely do: trailers-only, compressed and split frames, HTTP
 * errors, refused streams, silent peers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createServer, constants as h2, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import type { LeanCallError } from './call-error.js';
import { ConnectivityState } from './connectivity.js';
import { encodeMessageFrame } from './frames.js';
import { LeanChannel } from './lean-channel.js';
import { GrpcStatus } from './status.js';

const GRPC_HEADERS = { ':status': 200, 'content-type': 'application/grpc' };

/** Answers 'slow' and OK after 300 ms. */
function answerSlowly(stream: ServerHttp2Stream): void {
  stream.respond(GRPC_HEADERS, { waitForTrailers: true });
  stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  setTimeout(() => stream.end(encodeMessageFrame(Buffer.from('slow'), 'identity')), 300);
}

function unary(channel: LeanChannel, path: string, deadline?: number) {
  return new Promise<{ code: number; details: string; reply: string | null; headersSeen: boolean }>((resolve) => {
    let headersSeen = false;
    let reply: string | null = null;
    const stream = channel.stream(path, undefined, deadline, {
      onHeaders: () => (headersSeen = true),
      onMessage: (message) => (reply = message.toString()),
      onStatus: (code, details) => resolve({ code, details, reply, headersSeen }),
    });
    stream.write(Buffer.from('request'));
    stream.end();
  });
}

describe('stream calls against a raw HTTP/2 server', () => {
  let server: Http2Server;
  let channel: LeanChannel;
  let refusedOnce = false;
  let attempts = 0;
  let pings = 0;

  before(async () => {
    server = createServer();
    server.on('session', (session) => session.on('ping', () => pings++));
    server.on('stream', (stream: ServerHttp2Stream, headers) => {
      const path = headers[':path'];
      stream.on('data', () => {});
      stream.on('error', () => {});
      switch (path) {
        case '/t/stalled':
          // Headers, then nothing: only the caller's deadline can end the call, however late its timer runs.
          stream.respond(GRPC_HEADERS);
          return;
        case '/t/trailers-only':
          stream.respond({ ...GRPC_HEADERS, 'grpc-status': '5', 'grpc-message': 'no%20such%20thing' }, { endStream: true });
          return;
        case '/t/gzip-split': {
          stream.respond({ ...GRPC_HEADERS, 'grpc-encoding': 'gzip' }, { waitForTrailers: true });
          const body = gzipSync(Buffer.from('inflated reply'));
          const frame = Buffer.concat([Buffer.from([1, 0, 0, 0, body.length]), body]);
          stream.write(frame.subarray(0, 3));
          setTimeout(() => stream.end(frame.subarray(3)), 10);
          stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          return;
        }
        case '/t/http503':
          stream.respond({ ':status': 503 }, { endStream: true });
          return;
        case '/t/html':
          stream.respond({ ':status': 200, 'content-type': 'text/html' });
          stream.end('<html>');
          return;
        case '/t/no-status':
          stream.respond(GRPC_HEADERS);
          stream.end(encodeMessageFrame(Buffer.from('x'), 'identity'));
          return;
        case '/t/refuse-once':
          attempts++;
          if (!refusedOnce) {
            refusedOnce = true;
            stream.close(h2.NGHTTP2_REFUSED_STREAM);
            return;
          }
          stream.respond(GRPC_HEADERS, { waitForTrailers: true });
          stream.end(encodeMessageFrame(Buffer.from('second try'), 'identity'));
          stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          return;
        default:
          answerSlowly(stream);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    channel = new LeanChannel(`127.0.0.1:${(server.address() as AddressInfo).port}`, {
      'grpc.keepalive_time_ms': 50,
      'grpc.keepalive_permit_without_calls': 1,
    });
  });

  after(async () => {
    channel.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('a trailers-only response gives its status and no response headers', async () => {
    const outcome = await unary(channel, '/t/trailers-only');
    assert.deepEqual(outcome, { code: GrpcStatus.NOT_FOUND, details: 'no such thing', reply: null, headersSeen: false });
  });

  test('a gzip frame split across DATA frames is reassembled and inflated', async () => {
    const outcome = await unary(channel, '/t/gzip-split');
    assert.deepEqual(outcome, { code: GrpcStatus.OK, details: '', reply: 'inflated reply', headersSeen: true });
  });

  test('HTTP errors and non-gRPC responses map to gRPC status codes', async () => {
    assert.equal((await unary(channel, '/t/http503')).code, GrpcStatus.UNAVAILABLE);
    assert.equal((await unary(channel, '/t/html')).code, GrpcStatus.UNKNOWN);
    const noStatus = await unary(channel, '/t/no-status');
    assert.equal(noStatus.code, GrpcStatus.INTERNAL, 'a stream ended without trailers, as grpc-js reports it');
    assert.equal(noStatus.details, 'Received RST_STREAM with code 0 (Call ended without gRPC status)');
  });

  test('a refused stream is replayed once, transparently, when the request was complete', async () => {
    const reply = await new Promise<string>((resolve, reject) =>
      channel.unary('/t/refuse-once', Buffer.from('r'), undefined, undefined, (error, bytes) => (error ? reject(error) : resolve(bytes!.toString()))),
    );
    assert.equal(reply, 'second try');
    assert.equal(attempts, 2);
  });

  test('the local deadline cancels a slow call', async () => {
    const started = Date.now();
    const outcome = await unary(channel, '/t/stalled', Date.now() + 50);
    assert.equal(outcome.code, GrpcStatus.DEADLINE_EXCEEDED);
    // The server never answers: the bound only tells a deadline that fired from one that did not.
    assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
  });

  test('keepalive pings go out at grpc.keepalive_time_ms', async () => {
    // Pings every 50 ms: two arrive in about 100 ms; a busy machine only delays them.
    const before = pings;
    const started = Date.now();
    while (pings - before < 2 && Date.now() - started < 10_000) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(pings - before >= 2, `saw ${pings - before} pings in ${Date.now() - started} ms`);
  });
});

describe('connection failures', () => {
  test('a refused connection is UNAVAILABLE; the pool backs off, then goes IDLE', async () => {
    const probe = createNetServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    // A 2 s back-off (1.6–2.4 s with jitter): a call that waited for it could not end within 1 s.
    const channel = new LeanChannel(`127.0.0.1:${port}`, { 'grpc.initial_reconnect_backoff_ms': 2_000 });
    try {
      const first = await unary(channel, '/x');
      assert.equal(first.code, GrpcStatus.UNAVAILABLE);
      assert.match(first.details, /Failed to connect to 127\.0\.0\.1/);
      assert.equal(channel.getConnectivityState(false), ConnectivityState.TRANSIENT_FAILURE);
      const started = Date.now();
      const fastFail = await unary(channel, '/x');
      assert.equal(fastFail.code, GrpcStatus.UNAVAILABLE);
      assert.ok(Date.now() - started < 1_000, `calls fail fast during backoff (${Date.now() - started} ms)`);
      await new Promise<void>((resolve) => channel.watchConnectivityState(ConnectivityState.TRANSIENT_FAILURE, Date.now() + 10_000, () => resolve()));
      assert.equal(channel.getConnectivityState(false), ConnectivityState.IDLE);
    } finally {
      channel.close();
    }
  });

  test('a peer that never answers PING is dropped after grpc.keepalive_timeout_ms', async () => {
    const sockets: Socket[] = [];
    // Sends the server preface (an empty SETTINGS frame) and then ignores everything.
    const silent: Server = createNetServer((socket) => {
      sockets.push(socket);
      socket.on('data', () => {});
      socket.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const channel = new LeanChannel(`127.0.0.1:${(silent.address() as AddressInfo).port}`, {
      'grpc.keepalive_time_ms': 50,
      'grpc.keepalive_timeout_ms': 100,
    });
    try {
      const outcome = await unary(channel, '/hangs');
      assert.equal(outcome.code, GrpcStatus.UNAVAILABLE);
    } finally {
      channel.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  test('getConnectivityState(true) connects and watchers see READY', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const channel = new LeanChannel(`127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      assert.equal(channel.getConnectivityState(false), ConnectivityState.IDLE);
      assert.equal(channel.getConnectivityState(true), ConnectivityState.CONNECTING);
      await new Promise<void>((resolve) => channel.watchConnectivityState(ConnectivityState.CONNECTING, Date.now() + 2000, () => resolve()));
      assert.equal(channel.getConnectivityState(false), ConnectivityState.READY);
      channel.close();
      assert.equal(channel.getConnectivityState(false), ConnectivityState.SHUTDOWN);
      assert.equal((await unary(channel, '/x')).code, GrpcStatus.UNAVAILABLE);
    } finally {
      channel.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('request validation', () => {
  test('metadata node:http2 refuses fails that call with INTERNAL and leaves the connection usable', async () => {
    const server = createServer();
    server.on('stream', (stream: ServerHttp2Stream) => {
      stream.on('data', () => {});
      stream.respond({ ...GRPC_HEADERS, 'grpc-status': '0' }, { endStream: true });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const channel = new LeanChannel(`127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const run = (metadata: Record<string, string>) =>
        new Promise<number>((resolve) => channel.unary('/x', Buffer.alloc(0), metadata, undefined, (error) => resolve(error?.code ?? 0)));
      assert.equal(await run({ 'x-ok': 'fine' }), GrpcStatus.UNIMPLEMENTED, 'OK without a message is UNIMPLEMENTED, as grpc-js');
      assert.equal(await run({ upgrade: 'h2c' }), GrpcStatus.INTERNAL, 'node:http2 rejects connection-specific headers');
      assert.equal(await run({ 'x-ok': 'again' }), GrpcStatus.UNIMPLEMENTED);
      assert.equal(channel.connectionStats().opened, 1);
    } finally {
      channel.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('calls end by their deadline, whatever the server sends', () => {
  let server: Http2Server;
  let channel: LeanChannel;
  const identity = (b: Buffer) => b;
  const method = (path: string) => ({ path, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity });
  const Client = grpc.makeGenericClientConstructor({ Two: method('/t/two'), Slow: method('/t/slow'), Rst0: method('/t/rst0') }, 'Hostile');

  before(async () => {
    server = createServer();
    server.on('stream', (stream: ServerHttp2Stream, headers) => {
      stream.on('data', () => {});
      stream.on('error', () => {});
      switch (headers[':path']) {
        case '/t/two':
          stream.respond(GRPC_HEADERS, { waitForTrailers: true });
          stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          stream.write(encodeMessageFrame(Buffer.from('one'), 'identity'));
          stream.end(encodeMessageFrame(Buffer.from('two'), 'identity'));
          return;
        case '/t/rst0':
          stream.close(h2.NGHTTP2_NO_ERROR);
          return;
        case '/t/bad-status':
          stream.respond({ ...GRPC_HEADERS, 'grpc-status': 'abc' }, { endStream: true });
          return;
        case '/t/late-status':
          stream.respond(GRPC_HEADERS, { waitForTrailers: true });
          stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '13', 'grpc-message': 'late' }));
          stream.end();
          return;
        default:
          answerSlowly(stream);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    channel = new LeanChannel(`127.0.0.1:${(server.address() as AddressInfo).port}`);
  });

  after(async () => {
    channel.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('a grpc-js Client whose unary call gets two messages (it reads one) still ends at its deadline', async () => {
    // Its own channel: closing a grpc-js Client closes the channel it was given.
    const own = new LeanChannel(channel.getTarget());
    const client = new Client(own.getTarget(), grpc.credentials.createInsecure(), { channelOverride: own });
    const started = Date.now();
    const error = await new Promise<grpc.ServiceError | null>((resolve) => {
      client.Two!(Buffer.from('r'), { deadline: Date.now() + 300 }, (e: grpc.ServiceError | null) => resolve(e));
    });
    assert.equal(error?.code, GrpcStatus.DEADLINE_EXCEEDED, 'the held OK status is replaced at the deadline, as grpc-js does');
    assert.ok(Date.now() - started < 10_000, `ended after ${Date.now() - started} ms`);
    // A cancel replaces a held status too.
    const cancelled = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = client.Two!(Buffer.from('r'), (e: grpc.ServiceError | null) => resolve(e));
      setTimeout(() => call.cancel(), 100);
    });
    assert.equal(cancelled?.code, GrpcStatus.CANCELLED);
    client.close();
  });

  test('a deadline further away than a node timer can wait is not timed locally (it would fire at once)', async () => {
    const far = Date.now() + 30 * 24 * 3600 * 1000;
    const outcome = await unary(channel, '/t/slow', far);
    assert.equal(outcome.code, GrpcStatus.OK);
    assert.equal(outcome.reply, 'slow');
  });

  test('a stream closed with NO_ERROR before any response is INTERNAL, a reset worded as grpc-js words it', async () => {
    const outcome = await unary(channel, '/t/rst0');
    assert.equal(outcome.code, GrpcStatus.INTERNAL);
    assert.equal(outcome.details, 'Received RST_STREAM with code 0 (Call ended without gRPC status)');
  });

  test('an invalid grpc-status is UNKNOWN and says what was received', async () => {
    const outcome = await unary(channel, '/t/bad-status');
    assert.deepEqual([outcome.code, outcome.details], [GrpcStatus.UNKNOWN, 'Received an invalid grpc-status "abc"']);
  });

  test('a failed unary call says whether the response had started (trailers-only: no; status after headers: yes)', async () => {
    const run = (path: string) => new Promise<LeanCallError>((resolve) => channel.unary(path, Buffer.alloc(0), undefined, undefined, (error) => resolve(error!)));
    const trailersOnly = await run('/t/bad-status');
    const afterHeaders = await run('/t/late-status');
    const reset = await run('/t/rst0');
    assert.deepEqual([trailersOnly.responseStarted, afterHeaders.responseStarted, reset.responseStarted], [false, true, false]);
    assert.deepEqual([afterHeaders.code, afterHeaders.details], [GrpcStatus.INTERNAL, 'late']);
  });
});
