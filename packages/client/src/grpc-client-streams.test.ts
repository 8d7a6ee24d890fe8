// Streaming calls of `mesh.grpcClient` clients without grpc-js's `Client` layer, against a stock
// grpc-js server: each case runs on that path, on grpc-js's own path over the mesh channel (the same
// client with an interceptor) and straight to the server with a stock client, and what the caller
// sees — events and their order, messages, errors, metadata — must agree.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { createMesh, type Mesh } from './index.js';
import { bootstrap } from '../../../test/support/mesh-config.js';
import { waitFor } from '../../../test/support/wait.js';
import { within } from '../../../test/support/within.js';

/** Messages are their UTF-8 text; the request text is a command the server follows. */
const text = {
  serialize: (value: string) => Buffer.from(value),
  deserialize: (bytes: Buffer) => bytes.toString(),
};
function method(path: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<string, string> {
  return { path, requestStream, responseStream, requestSerialize: text.serialize, requestDeserialize: text.deserialize, responseSerialize: text.serialize, responseDeserialize: text.deserialize };
}
const SERVICE: grpc.ServiceDefinition = {
  Replies: method('/xmesh.test.Streams/Replies', false, true),
  Echo: method('/xmesh.test.Streams/Echo', true, true),
  Collect: method('/xmesh.test.Streams/Collect', true, false),
};
const StreamsCtor = grpc.makeGenericClientConstructor(SERVICE, 'Streams');
type StreamsClient = grpc.Client & {
  Replies(request: string, ...args: unknown[]): grpc.ClientReadableStream<string>;
  Echo(...args: unknown[]): grpc.ClientDuplexStream<string, string>;
  Collect(...args: unknown[]): grpc.ClientWritableStream<string>;
};
const TARGET = 'streams.test.svc:50051';
const FLOOD_MESSAGES = 400;
const FLOOD_BYTES = 16 * 1024;

/** What the server saw, for the cases that need it. */
interface ServerSide {
  cancelled: number;
  /** Flood replies written so far, and whether the last write is waiting for `drain`. */
  floodWritten: number;
  floodBlocked: boolean;
  /** Messages the `Echo` handler received, in order, across calls. */
  echoReceived: string[];
}

function trailer(value: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('x-trailer', value);
  return metadata;
}

/**
 * A stock grpc-js server. `Replies` follows its request: `count:N` (N replies, then OK with a
 * trailer), `fail:N` (N replies, then ABORTED with a trailer), `hang:N` (N replies, then nothing
 * until cancelled), `flood` (FLOOD_MESSAGES replies of FLOOD_BYTES, each write waiting for `drain`
 * when the last one said so). `Echo` echoes each message (`hang` is not answered); `Collect` joins them.
 */
async function startServer(side: ServerSide): Promise<{ port: number; close: () => void }> {
  const server = new grpc.Server();
  const headers = (call: { sendMetadata(metadata: grpc.Metadata): void }) => {
    const metadata = new grpc.Metadata();
    metadata.set('x-header', 'h');
    call.sendMetadata(metadata);
  };
  server.addService(SERVICE, {
    Replies: (call: grpc.ServerWritableStream<string, string>) => {
      headers(call);
      call.on('cancelled', () => side.cancelled++);
      const [command, n] = call.request.split(':');
      if (command === 'flood') return void flood(call, side);
      for (let i = 0; i < Number(n); i++) call.write(`m${i}`);
      if (command === 'count') call.end(trailer('done'));
      if (command === 'fail') call.emit('error', { code: grpc.status.ABORTED, details: 'failed after replies', metadata: trailer('failed') });
    },
    Echo: (call: grpc.ServerDuplexStream<string, string>) => {
      headers(call);
      call.on('cancelled', () => side.cancelled++);
      call.on('data', (message: string) => {
        side.echoReceived.push(message);
        if (message !== 'hang') call.write(`echo:${message}`);
      });
      call.on('end', () => call.end(trailer('done')));
    },
    Collect: (call: grpc.ServerReadableStream<string, string>, callback: grpc.sendUnaryData<string>) => {
      headers(call);
      const parts: string[] = [];
      call.on('data', (message: string) => parts.push(message));
      call.on('end', () => callback(null, parts.join(','), trailer('done')));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))));
  return { port, close: () => server.forceShutdown() };
}

async function flood(call: grpc.ServerWritableStream<string, string>, side: ServerSide): Promise<void> {
  const body = 'x'.repeat(FLOOD_BYTES);
  for (let i = 0; i < FLOOD_MESSAGES; i++) {
    side.floodWritten = i + 1;
    if (!call.write(body)) {
      side.floodBlocked = true;
      await once(call, 'drain');
      side.floodBlocked = false;
    }
  }
  call.end();
}

/** The events a caller sees on a call object, in order, until it closes (or `status` for a Writable, which never closes by itself). */
function record(call: NodeJS.EventEmitter, untilStatus = false): { readonly events: string[]; done: Promise<string[]> } {
  const events: string[] = [];
  call.on('metadata', (metadata: grpc.Metadata) => events.push(`metadata x-header=${String(metadata.get('x-header')[0])}`));
  call.on('data', (message: string) => events.push(`data ${message}`));
  call.on('end', () => events.push('end'));
  call.on('error', (error: grpc.ServiceError) => events.push(`error ${error.code} ${error.details} | ${error.message} | x-trailer=${String(error.metadata.get('x-trailer')[0])}`));
  call.on('status', (status: grpc.StatusObject) => events.push(`status ${status.code} ${status.details} x-trailer=${String(status.metadata.get('x-trailer')[0])}`));
  const done = new Promise<string[]>((resolve) => {
    if (untilStatus) call.on('status', () => setImmediate(() => resolve(events)));
    else call.on('close', () => resolve(events));
  });
  return { events, done: within(done, 10_000, 'the call') };
}

describe('grpcClient streaming calls without grpc-js Client, against a stock grpc-js server', () => {
  const side: ServerSide = { cancelled: 0, floodWritten: 0, floodBlocked: false, echoReceived: [] };
  let server: { port: number; close: () => void };
  let mesh: Mesh;
  let fast: StreamsClient;
  let intercepted: StreamsClient;
  let direct: StreamsClient;
  /** The classes of grpc-js's call objects, from a stock client's calls. */
  const grpcJsCalls = new Set<unknown>();
  /** The call took the path without grpc-js's `Client`: its object is none of grpc-js's. */
  const assertMeshCall = (call: object) => assert.ok(!grpcJsCalls.has(call.constructor), `${call.constructor.name} is a grpc-js call object`);
  let interceptorRuns = 0;
  const passThrough: grpc.Interceptor = (options, nextCall) => {
    interceptorRuns++;
    return new grpc.InterceptingCall(nextCall(options));
  };

  before(async () => {
    server = await startServer(side);
    mesh = await createMesh({ config: bootstrap({ routes: [{ prefix: '/', cluster: 'streams' }], clusters: { streams: [`127.0.0.1:${server.port}`] } }) });
    fast = mesh.grpcClient(StreamsCtor, TARGET) as unknown as StreamsClient;
    intercepted = mesh.grpcClient(StreamsCtor, TARGET, { interceptors: [passThrough] }) as unknown as StreamsClient;
    direct = new StreamsCtor(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure()) as unknown as StreamsClient;
    const probes = [direct.Replies('count:0'), direct.Echo(), direct.Collect(() => undefined)];
    for (const probe of probes) {
      grpcJsCalls.add(probe.constructor);
      if (probe instanceof Writable) probe.end();
    }
    await Promise.all(probes.map((probe) => once(probe, 'status')));
    assert.equal(grpcJsCalls.size, 3);
  });

  after(async () => {
    fast.close();
    intercepted.close();
    direct.close();
    await mesh.close();
    server.close();
  });

  /** `Ctor`'s clients three ways: through the mesh without grpc-js's `Client`, through it with an interceptor, straight to the server. */
  const threeClients = (Ctor: grpc.ServiceClientConstructor): StreamsClient[] =>
    [
      mesh.grpcClient(Ctor, TARGET),
      mesh.grpcClient(Ctor, TARGET, { interceptors: [passThrough] }),
      new Ctor(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure()),
    ] as unknown as StreamsClient[];

  /** The same call on the three clients: events in the same order, with the same content. */
  async function agree(make: (client: StreamsClient) => NodeJS.EventEmitter, untilStatus = false): Promise<string[]> {
    const before = interceptorRuns;
    const onFast = make(fast);
    assertMeshCall(onFast);
    const seenFast = await record(onFast, untilStatus).done;
    assert.equal(interceptorRuns, before, 'no interceptor ran on the fast client');
    const onIntercepted = make(intercepted);
    assert.ok(grpcJsCalls.has(onIntercepted.constructor), "the client with an interceptor took grpc-js's path");
    const seenIntercepted = await record(onIntercepted, untilStatus).done;
    assert.equal(interceptorRuns, before + 1, 'its interceptor ran');
    const seenDirect = await record(make(direct), untilStatus).done;
    assert.deepEqual(seenFast, seenIntercepted, "as on grpc-js's path over the mesh channel");
    assert.deepEqual(seenFast, seenDirect, 'as a stock client straight to the server sees it');
    return seenFast;
  }

  test('server streaming: metadata, every message, end, status in grpc-js order; stats counted', async () => {
    const total = mesh.observability.store.value('cluster.streams.upstream_rq_total');
    const seen = await agree((client) => client.Replies('count:3'));
    assert.deepEqual(seen, ['metadata x-header=h', 'data m0', 'data m1', 'data m2', 'status 0 OK x-trailer=done', 'end']);
    assert.equal(mesh.observability.store.value('cluster.streams.upstream_rq_total') - total, 2, 'both mesh calls counted by the cluster');
  });

  test('makeServerStreamRequest with metadata and options takes the same path', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-token', 't');
    const stream = fast.makeServerStreamRequest('/xmesh.test.Streams/Replies', text.serialize, text.deserialize, 'count:2', metadata, { deadline: Date.now() + 10_000 });
    assertMeshCall(stream);
    assert.deepEqual(await record(stream).done, ['metadata x-header=h', 'data m0', 'data m1', 'status 0 OK x-trailer=done', 'end']);
  });

  test('server error after some messages: the messages, then the error (code, details, trailers), then status', async () => {
    const seen = await agree((client) => client.Replies('fail:2'));
    assert.deepEqual(seen.slice(0, 3), ['metadata x-header=h', 'data m0', 'data m1']);
    assert.ok(seen.includes('error 10 failed after replies | 10 ABORTED: failed after replies | x-trailer=failed'), seen.join('\n'));
    assert.equal(seen.at(-2), 'status 10 failed after replies x-trailer=failed');
    assert.equal(seen.at(-1), 'end');
  });

  test('cancel mid-stream: the server sees the cancel, the caller gets CANCELLED', async () => {
    const cancelledBefore = side.cancelled;
    const stream = fast.Replies('hang:2');
    assertMeshCall(stream);
    const seen = record(stream);
    let received = 0;
    stream.on('data', () => ++received === 2 && stream.cancel());
    const events = await seen.done;
    assert.deepEqual(events.slice(0, 3), ['metadata x-header=h', 'data m0', 'data m1']);
    assert.ok(events.includes('error 1 Cancelled on client | 1 CANCELLED: Cancelled on client | x-trailer=undefined'), events.join('\n'));
    await waitFor(() => side.cancelled === cancelledBefore + 1, 'the server to see the cancel');
  });

  test('deadline mid-stream: DEADLINE_EXCEEDED after the messages that came', async () => {
    const started = Date.now();
    const stream = fast.Replies('hang:1', { deadline: Date.now() + 300 });
    assertMeshCall(stream);
    const events = await record(stream).done;
    assert.deepEqual(events.slice(0, 2), ['metadata x-header=h', 'data m0']);
    assert.ok(events.some((e) => e.startsWith('error 4 ')), events.join('\n'));
    assert.ok(events.some((e) => e.startsWith('status 4 ')), events.join('\n'));
    assert.ok(Date.now() - started < 10_000);
  });

  test('a slow reader holds the server back: its writes block, the reader buffers a bounded number of messages', async () => {
    side.floodWritten = 0;
    side.floodBlocked = false;
    const stream = fast.Replies('flood');
    assertMeshCall(stream);
    const status = once(stream, 'status');
    // The reader takes one message, then stops: the stream reads ahead to its high-water mark, then the server must wait.
    let received = 0;
    stream.on('data', () => ++received === 1 && stream.pause());
    await waitFor(() => received === 1 && side.floodBlocked, 'the first message and the server write to block');
    await sleep(300);
    assert.ok(side.floodBlocked, 'still blocked while nobody reads');
    assert.ok(side.floodWritten < FLOOD_MESSAGES / 2, `server wrote ${side.floodWritten} of ${FLOOD_MESSAGES}`);
    assert.ok(stream.readableLength <= stream.readableHighWaterMark, `buffered ${stream.readableLength}`);
    assert.equal(received, 1);
    stream.resume();
    const [{ code }] = (await within(status, 10_000, 'the flood')) as [grpc.StatusObject];
    assert.equal(code, grpc.status.OK);
    assert.equal(received, FLOOD_MESSAGES);
  });

  test('bidi: interleaved writes, each echoed before the next is written; end half-closes', async () => {
    const stream = fast.Echo();
    assertMeshCall(stream);
    const seen = record(stream);
    for (const word of ['a', 'b', 'c']) {
      const echoed = once(stream, 'data');
      stream.write(word);
      assert.deepEqual(await within(echoed, 10_000, `echo of ${word}`), [`echo:${word}`]);
    }
    stream.end();
    assert.deepEqual(await seen.done, ['metadata x-header=h', 'data echo:a', 'data echo:b', 'data echo:c', 'status 0 OK x-trailer=done', 'end']);
    assert.match(stream.getPeer(), /^127\.0\.0\.1:\d+$/);
  });

  test('bidi: events agree with grpc-js and a stock client; cancel reaches the server', async () => {
    await agree((client) => {
      const stream = client.Echo();
      stream.write('x');
      stream.write('y');
      stream.end();
      return stream;
    });
    const cancelledBefore = side.cancelled;
    const stream = fast.Echo(new grpc.Metadata(), {});
    assertMeshCall(stream);
    // The request side stays open: the call object never closes by itself.
    const seen = record(stream, true);
    stream.write('hang');
    await waitFor(() => seen.events.length > 0, 'response headers');
    stream.cancel();
    assert.ok((await seen.done).some((e) => e.startsWith('status 1 Cancelled on client')));
    await waitFor(() => side.cancelled === cancelledBefore + 1, 'the server to see the cancel');
  });

  test('a reply that fails to parse and a request that fails to serialize end the call with INTERNAL, as in grpc-js', async () => {
    const strict = (definition: grpc.MethodDefinition<string, string>) => ({
      ...definition,
      requestSerialize: (value: string) => {
        if (value === 'unserializable') throw new Error('no bytes for that');
        return text.serialize(value);
      },
      responseDeserialize: (bytes: Buffer) => {
        if (bytes.toString() === 'm1') throw new Error('not a reply');
        return text.deserialize(bytes);
      },
    });
    const StrictCtor = grpc.makeGenericClientConstructor({ Replies: strict(SERVICE.Replies!), Echo: strict(SERVICE.Echo!) } as grpc.ServiceDefinition, 'Streams');
    const clients = threeClients(StrictCtor);
    try {
      const parsed = await Promise.all(clients.map((client) => record(client.Replies('count:3')).done));
      assert.deepEqual(parsed[0], parsed[1]);
      assert.deepEqual(parsed[0], parsed[2]);
      assert.ok(parsed[0]!.includes('status 13 Response message parsing error: not a reply x-trailer=undefined'), parsed[0]!.join('\n'));
      const unsent = await Promise.all(clients.map((client) => record(client.Replies('unserializable')).done));
      assert.deepEqual(unsent[0], unsent[1]);
      assert.deepEqual(unsent[0], unsent[2]);
      assert.ok(unsent[0]!.includes('status 13 Request message serialization failure: no bytes for that x-trailer=undefined'), unsent[0]!.join('\n'));
    } finally {
      for (const client of clients) client.close();
    }
  });

  test('bidi: a burst of writes (each with a callback) then end: every callback once, in order, before finish; echoes in order, as in grpc-js', async () => {
    const words = Array.from({ length: 12 }, (_, i) => `w${i}`);
    const callbacks: string[][] = [];
    const seen = await agree((client) => {
      const called: string[] = [];
      callbacks.push(called);
      const stream = client.Echo();
      for (const word of words) stream.write(word, () => called.push(word));
      stream.on('finish', () => called.push('finish'));
      stream.end();
      return stream;
    });
    assert.deepEqual(seen, ['metadata x-header=h', ...words.map((word) => `data echo:${word}`), 'status 0 OK x-trailer=done', 'end']);
    assert.equal(callbacks.length, 3);
    for (const called of callbacks) assert.deepEqual(called, [...words, 'finish']);
  });

  test('bidi: a request that fails to serialize in the middle of a burst ends the call with INTERNAL; what follows it is never sent', async () => {
    const StrictCtor = grpc.makeGenericClientConstructor({
      Echo: {
        ...SERVICE.Echo!,
        requestSerialize: (value: string) => {
          if (value === 'unserializable') throw new Error('no bytes for that');
          return text.serialize(value);
        },
      },
    } as grpc.ServiceDefinition, 'Streams');
    const clients = threeClients(StrictCtor);
    try {
      for (const client of clients) {
        side.echoReceived = [];
        const stream = client.Echo();
        const called: string[] = [];
        const seen = record(stream, true);
        for (const word of ['a', 'b', 'unserializable', 'c']) stream.write(word, () => called.push(word));
        stream.end();
        const events = await seen.done;
        assert.ok(events.includes('status 13 Request message serialization failure: no bytes for that x-trailer=undefined'), events.join('\n'));
        await sleep(100);
        assert.ok(!side.echoReceived.includes('c'), `the server got ${side.echoReceived.join(',')}`);
        assert.ok(!called.includes('unserializable') && !called.includes('c'), `callbacks of ${called.join(',')}`);
      }
    } finally {
      for (const client of clients) client.close();
    }
  });

  test("response metadata: the route's response_headers_to_add reach the metadata event; a call nobody asks metadata of still ends as usual", async () => {
    const edited = await createMesh({
      config: bootstrap({
        routes: [{ match: { prefix: '/' }, route: { cluster: 'streams' }, response_headers_to_add: [{ header: { key: 'x-added', value: 'a' } }] }],
        clusters: { streams: [`127.0.0.1:${server.port}`] },
      }),
    });
    const client = edited.grpcClient(StreamsCtor, TARGET) as unknown as StreamsClient;
    try {
      const stream = client.Replies('count:2');
      assertMeshCall(stream);
      const [metadata] = (await within(once(stream, 'metadata'), 10_000, 'response metadata')) as [grpc.Metadata];
      assert.deepEqual([metadata.get('x-header'), metadata.get('x-added')], [['h'], ['a']]);
      const replies: string[] = [];
      const quiet = client.Replies('count:2');
      quiet.on('data', (message: string) => replies.push(message));
      const [status] = (await within(once(quiet, 'status'), 10_000, 'the call without metadata listeners')) as [grpc.StatusObject];
      assert.equal(status.code, grpc.status.OK);
      assert.equal(status.metadata.get('x-trailer')[0], 'done');
      assert.deepEqual(replies, ['m0', 'm1']);
      stream.resume();
      await within(once(stream, 'status'), 10_000, 'the first call');
    } finally {
      client.close();
      await edited.close();
    }
  });

  test('client streaming: the callback gets the one reply, then status; agrees with grpc-js', async () => {
    const replies: (string | undefined)[] = [];
    const seen = await agree((client) => {
      const stream = client.Collect((error: grpc.ServiceError | null, reply?: string) => replies.push(error === null ? reply : `error ${error.code}`));
      stream.write('a');
      stream.write('b');
      stream.end();
      return stream;
    }, true);
    assert.deepEqual(seen, ['metadata x-header=h', 'status 0 OK x-trailer=done']);
    assert.deepEqual(replies, ['a,b', 'a,b', 'a,b']);
  });
});
