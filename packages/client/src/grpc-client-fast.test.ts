// Unary calls of `mesh.grpcClient` clients on the fast path, against two servers nobody here wrote
// (stock grpc-js and connect-node): each case runs on the fast path, on grpc-js's own path over the
// mesh channel (the same client with an interceptor), and straight to the server with a stock client,
// and what the caller sees — callback, error, events and their order, metadata — must agree.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { createMesh, type Mesh } from './index.js';
import { bootstrap } from '../../../test/support/mesh-config.js';
import { closedPort } from '../../../test/support/echo-server.js';
import { within } from '../../../test/support/within.js';
import { ECHO_SERVICE, startGrpcJsPeer } from '../../grpc-lean/src/testing/grpc-js-peer.js';
import { startConnectPeer } from '../../grpc-lean/src/testing/connect-peer.js';
import { decodeReply, decodeStatusDetails, encodeRequest, type EchoRequestShape } from '../../grpc-lean/src/testing/echo-proto.js';
import type { EchoPeer } from '../../grpc-lean/src/testing/peer.js';

const EchoCtor = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'Echo');
type EchoClient = grpc.Client & { Echo: (...args: unknown[]) => grpc.ClientUnaryCall };
const TARGET = 'echo.interop.svc:50051';
const ECHO_PATH = '/xmesh.echo.Echo/Echo';

/** Everything a caller of one unary call sees, in order. */
interface Seen {
  readonly order: string[];
  error: grpc.ServiceError | null;
  reply: string | undefined;
  headers: grpc.Metadata | undefined;
  status: grpc.StatusObject | undefined;
}

/** One call of `client.Echo` with `args` before the callback; resolves once both the callback and `status` came. */
function observe(client: EchoClient, request: EchoRequestShape, ...args: unknown[]): { call: grpc.ClientUnaryCall; seen: Promise<Seen> } {
  const seen: Seen = { order: [], error: null, reply: undefined, headers: undefined, status: undefined };
  let call!: grpc.ClientUnaryCall;
  const done = new Promise<Seen>((resolve) => {
    let pending = 2;
    const step = () => --pending === 0 && resolve(seen);
    call = client.Echo(encodeRequest(request), ...args, (error: grpc.ServiceError | null, reply?: Buffer) => {
      seen.order.push('callback');
      seen.error = error;
      seen.reply = reply === undefined ? undefined : decodeReply(reply).message;
      step();
    });
    call.on('metadata', (metadata: grpc.Metadata) => {
      seen.order.push('metadata');
      seen.headers = metadata;
    });
    call.on('status', (status: grpc.StatusObject) => {
      seen.order.push('status');
      seen.status = status;
      step();
    });
  });
  return { call, seen: done };
}

/**
 * Metadata as plain data (bytes as hex), for comparisons. Without `content-type` (a stock grpc-js client
 * keeps it in a trailers-only response's metadata, the mesh's lean transport, on either path, drops it)
 * and `date` (a grpc-js server's, which changes between calls).
 */
function plain(metadata: grpc.Metadata | undefined): Record<string, string[]> | undefined {
  if (metadata === undefined) return undefined;
  const out: Record<string, string[]> = {};
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    if (key !== 'content-type' && key !== 'date') out[key] = values.map((v) => (typeof v === 'string' ? v : `0x${Buffer.from(v).toString('hex')}`));
  }
  return out;
}

/** What must agree between two paths: order of events, reply, error fields, headers and status. */
function comparable(seen: Seen) {
  return {
    order: seen.order,
    reply: seen.reply,
    error: seen.error === null ? null : { code: seen.error.code, details: seen.error.details, message: seen.error.message, metadata: plain(seen.error.metadata) },
    headers: plain(seen.headers),
    status: seen.status === undefined ? undefined : { code: seen.status.code, details: seen.status.details, metadata: plain(seen.status.metadata) },
  };
}

/** Counts the calls grpc-js's path opens on a mesh client's channel (the fast path opens none). */
function countChannelCalls(client: grpc.Client): { readonly count: number } {
  const channel = client.getChannel() as grpc.Channel & { createCall: (...args: unknown[]) => unknown };
  const original = channel.createCall.bind(channel);
  const counter = { count: 0 };
  channel.createCall = (...args: unknown[]) => {
    counter.count++;
    return original(...args);
  };
  return counter;
}

const passThrough: grpc.Interceptor = (options, nextCall) => new grpc.InterceptingCall(nextCall(options));

const PEERS = [
  { name: 'grpc-js', start: startGrpcJsPeer },
  { name: 'connect', start: startConnectPeer },
] as const;

for (const peerKind of PEERS) {
  describe(`grpcClient unary calls on the fast path, against a ${peerKind.name} server`, () => {
    let peer: EchoPeer;
    let mesh: Mesh;
    let fast: EchoClient;
    let slow: EchoClient;
    let direct: EchoClient;
    let fastChannelCalls: { readonly count: number };
    let slowChannelCalls: { readonly count: number };

    before(async () => {
      peer = await peerKind.start(0);
      const refused = await closedPort();
      mesh = await createMesh({
        config: bootstrap({
          routes: [
            { prefix: '/', headers: { 'x-route': 'refused' }, cluster: 'refused' },
            { prefix: '/', headers: { 'x-route': 'empty' }, cluster: 'empty' },
            { prefix: '/', cluster: 'echo' },
          ],
          clusters: { echo: [`127.0.0.1:${peer.port}`], refused: [`127.0.0.1:${refused}`], empty: [] },
        }),
      });
      fast = mesh.grpcClient(EchoCtor, TARGET) as unknown as EchoClient;
      slow = mesh.grpcClient(EchoCtor, TARGET, { interceptors: [passThrough] }) as unknown as EchoClient;
      direct = new EchoCtor(`127.0.0.1:${peer.port}`, grpc.credentials.createInsecure()) as unknown as EchoClient;
      fastChannelCalls = countChannelCalls(fast);
      slowChannelCalls = countChannelCalls(slow);
    });

    after(async () => {
      fast.close();
      slow.close();
      direct.close();
      await mesh.close();
      await peer.close();
    });

    test('every argument overload works and the calls take the fast path', async () => {
      const before = fastChannelCalls.count;
      const md = () => {
        const metadata = new grpc.Metadata();
        metadata.set('x-token', 'overload');
        return metadata;
      };
      const deadline = () => ({ deadline: Date.now() + 10_000 });
      const outcomes = await Promise.all([
        observe(fast, { message: 'a' }).seen,
        observe(fast, { message: 'b' }, md()).seen,
        observe(fast, { message: 'c' }, deadline()).seen,
        observe(fast, { message: 'd' }, md(), deadline()).seen,
      ]);
      assert.deepEqual(outcomes.map((o) => o.reply), ['a', 'b', 'c', 'd']);
      assert.deepEqual(outcomes.map((o) => o.error), [null, null, null, null]);
      assert.deepEqual(outcomes.map((o) => o.headers?.get('x-echo-token')[0]), [undefined, 'overload', undefined, 'overload']);
      assert.equal(fastChannelCalls.count, before, 'no call went through grpc-js on the mesh channel');
      // grpc-js's own check of the arguments, word for word.
      assert.throws(() => fast.Echo(encodeRequest({ message: 'x' }), md(), {}), { message: 'Incorrect arguments passed' });
      assert.throws(() => direct.Echo(encodeRequest({ message: 'x' }), md(), {}), { message: 'Incorrect arguments passed' });
    });

    test('metadata both ways (-bin included), events in grpc-js order: metadata, callback, status', async () => {
      const metadata = () => {
        const md = new grpc.Metadata();
        md.set('x-token', 'from-client');
        md.set('x-blob-bin', Buffer.from([0, 1, 2, 250, 255]));
        return md;
      };
      const onFast = await observe(fast, { message: 'meta' }, metadata()).seen;
      assert.deepEqual(onFast.order, ['metadata', 'callback', 'status']);
      assert.equal(onFast.reply, 'meta');
      assert.deepEqual(onFast.headers?.get('x-echo-token'), ['from-client']);
      assert.deepEqual(onFast.headers?.get('x-echo-blob-bin'), [Buffer.from([0, 1, 2, 250, 255])]);
      assert.deepEqual(onFast.status?.metadata.get('x-trailer'), ['done']);
      assert.equal(onFast.status?.code, grpc.status.OK);
      const onSlow = await observe(slow, { message: 'meta' }, metadata()).seen;
      const straight = await observe(direct, { message: 'meta' }, metadata()).seen;
      assert.deepEqual(comparable(onFast), comparable(onSlow));
      assert.deepEqual(comparable(onFast).order, comparable(straight).order);
      assert.deepEqual(comparable(onFast).status, comparable(straight).status);
    });

    test('every status code: code, details, trailers and status details as grpc-js reports them', async () => {
      for (let code = 1; code <= 16; code++) {
        const request = { message: `fail:${code}:failure ${code}` };
        const onFast = await observe(fast, request).seen;
        assert.equal(onFast.error?.code, code);
        assert.equal(onFast.error?.details, `failure ${code}`);
        assert.equal(onFast.error?.message, `${code} ${grpc.status[code]}: failure ${code}`);
        assert.ok(onFast.error instanceof Error);
        assert.deepEqual(onFast.error.metadata.get('x-trailer'), ['failed']);
        assert.equal(decodeStatusDetails(onFast.error.metadata.get('grpc-status-details-bin')[0] as Buffer).code, code);
        const onSlow = await observe(slow, request).seen;
        const straight = await observe(direct, request).seen;
        assert.deepEqual(comparable(onFast), comparable(onSlow), `code ${code}: fast path and grpc-js's path agree`);
        assert.deepEqual(comparable(onFast).error, comparable(straight).error, `code ${code}: as a stock client sees it`);
        assert.deepEqual(comparable(onFast).order, comparable(straight).order);
      }
    });

    test('a server cancellation arrives as CANCELLED, as on the other paths', async () => {
      const onFast = await observe(fast, { message: 'cancel' }).seen;
      const onSlow = await observe(slow, { message: 'cancel' }).seen;
      assert.equal(onFast.error?.code, grpc.status.CANCELLED);
      assert.deepEqual(comparable(onFast), comparable(onSlow));
    });

    test('a deadline (Date or epoch ms) ends the call with DEADLINE_EXCEEDED', async () => {
      const started = Date.now();
      // The server never answers: only the deadlines can end these calls, however late their timers run.
      const [byNumber, byDate, onSlow] = await Promise.all([
        observe(fast, { message: 'hang' }, { deadline: Date.now() + 200 }).seen,
        observe(fast, { message: 'hang' }, new grpc.Metadata(), { deadline: new Date(Date.now() + 200) }).seen,
        observe(slow, { message: 'hang' }, { deadline: Date.now() + 200 }).seen,
      ]);
      assert.ok(Date.now() - started < 10_000);
      for (const seen of [byNumber, byDate]) {
        assert.equal(seen.error?.code, grpc.status.DEADLINE_EXCEEDED);
        assert.deepEqual(seen.order, ['callback', 'status']);
        assert.equal(seen.status?.code, grpc.status.DEADLINE_EXCEEDED);
      }
      assert.equal(onSlow.error?.code, grpc.status.DEADLINE_EXCEEDED);
    });

    test('cancel() ends the call with CANCELLED, resets the stream (the server sees it) and is a no-op afterwards', async () => {
      let cancelledBefore = 0;
      let seenByServer!: Promise<void>;
      const { call, seen } = observe(fast, { message: 'hang' }, { deadline: Date.now() + 30_000 });
      // Cancel a while after the endpoint was picked, so the request reached the server (as the transport's own interop test does).
      const picked = setInterval(() => {
        if (call.getPeer() === 'unknown') return;
        clearInterval(picked);
        setTimeout(() => {
          cancelledBefore = peer.events.cancelledCalls;
          seenByServer = new Promise<void>((resolve) => (peer.events.onCancelled = resolve));
          call.cancel();
        }, 100);
      }, 10);
      const outcome = await seen;
      assert.equal(outcome.error?.code, grpc.status.CANCELLED);
      assert.equal(outcome.error?.details, 'Cancelled on client');
      assert.equal(outcome.error?.message, '1 CANCELLED: Cancelled on client');
      assert.deepEqual(outcome.order, ['callback', 'status']);
      await seenByServer;
      assert.equal(peer.events.cancelledCalls, cancelledBefore + 1);
      assert.equal(call.getPeer(), `127.0.0.1:${peer.port}`);

      const done = observe(fast, { message: 'after' });
      const finished = await done.seen;
      done.call.cancel();
      assert.equal(finished.error, null);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(finished.order, ['metadata', 'callback', 'status'], 'nothing after the end');
    });

    test('waitForReady: the client method, and calls whose metadata asks for it', async () => {
      await new Promise<void>((resolve, reject) => fast.waitForReady(Date.now() + 5000, (error) => (error ? reject(error) : resolve())));
      const metadata = new grpc.Metadata({ waitForReady: true });
      metadata.set('x-token', 'ready');
      const seen = await observe(fast, { message: 'ready' }, metadata).seen;
      assert.equal(seen.reply, 'ready');
      assert.deepEqual(seen.headers?.get('x-echo-token'), ['ready']);
    });

    test('the promise style (util.promisify) resolves with the reply and rejects with the ServiceError', async () => {
      const echo = promisify(fast.Echo).bind(fast) as (request: Buffer, options?: grpc.CallOptions) => Promise<Buffer>;
      assert.equal(decodeReply(await echo(encodeRequest({ message: 'promised' }))).message, 'promised');
      await assert.rejects(echo(encodeRequest({ message: 'fail:5:missing' })), (error: grpc.ServiceError) => error.code === grpc.status.NOT_FOUND && error.details === 'missing');
      const bound = promisify(fast.Echo.bind(fast)) as (request: Buffer, metadata: grpc.Metadata) => Promise<Buffer>;
      assert.equal(decodeReply(await bound(encodeRequest({ message: 'bound' }), new grpc.Metadata())).message, 'bound');
    });

    test('calls with interceptors (client options or call options) take grpc-js path, and the interceptors run', async () => {
      const slowBefore = slowChannelCalls.count;
      assert.equal((await observe(slow, { message: 'via-client-interceptor' }).seen).reply, 'via-client-interceptor');
      assert.equal(slowChannelCalls.count, slowBefore + 1);

      const fastBefore = fastChannelCalls.count;
      let intercepted = 0;
      const counting: grpc.Interceptor = (options, nextCall) => {
        intercepted++;
        return new grpc.InterceptingCall(nextCall(options));
      };
      assert.equal((await observe(fast, { message: 'via-call-interceptor' }, { interceptors: [counting] }).seen).reply, 'via-call-interceptor');
      assert.equal(intercepted, 1);
      assert.equal(fastChannelCalls.count, fastBefore + 1, 'the call with an interceptor went through grpc-js');
      await observe(fast, { message: 'plain' }).seen;
      assert.equal(fastChannelCalls.count, fastBefore + 1, 'the next call is back on the fast path');
    });

    test('mesh failures give the statuses (and x-xmesh-error-code) grpc-js path gives', async () => {
      const routed = (route: string) => {
        const md = new grpc.Metadata();
        md.set('x-route', route);
        return md;
      };
      const empty = await observe(fast, { message: 'x' }, routed('empty'), { deadline: Date.now() + 10_000 }).seen;
      const emptySlow = await observe(slow, { message: 'x' }, routed('empty'), { deadline: Date.now() + 10_000 }).seen;
      assert.equal(empty.error?.code, grpc.status.UNAVAILABLE);
      assert.deepEqual(empty.error?.metadata.get('x-xmesh-error-code'), ['XMESH_NO_HEALTHY_UPSTREAM']);
      assert.deepEqual(comparable(empty), comparable(emptySlow));
      const refused = await observe(fast, { message: 'x' }, routed('refused'), { deadline: Date.now() + 10_000 }).seen;
      assert.equal(refused.error?.code, grpc.status.UNAVAILABLE);
      assert.match(refused.error?.details ?? '', /ECONNREFUSED/);
      assert.deepEqual(refused.order, ['callback', 'status']);
      // The endpoint's connection is in back-off now: the transport fails the next call at once, inside the
      // method call; the caller still gets the end on a later tick, after it attached its listeners.
      // grpc-js's path over the mesh channel (a client with an interceptor) likewise.
      for (const client of [fast, slow]) {
        let returned = false;
        let calledBack: string | undefined;
        const call = client.Echo(encodeRequest({ message: 'x' }), routed('refused'), { deadline: Date.now() + 10_000 }, (error: grpc.ServiceError | null) => {
          calledBack = `${returned ? 'after' : 'before'} the method returned: ${error?.code}`;
        });
        returned = true;
        const status = await within(new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve)), 10_000, 'the status event');
        assert.equal(calledBack, `after the method returned: ${grpc.status.UNAVAILABLE}`, client === fast ? 'fast path' : 'grpc-js path');
        assert.equal(status.code, grpc.status.UNAVAILABLE);
      }
      const timedOut = await observe(fast, { message: 'hang' }, { timeoutMs: 100 }).seen;
      const timedOutSlow = await observe(slow, { message: 'hang' }, { timeoutMs: 100 }).seen;
      assert.equal(timedOut.error?.code, grpc.status.DEADLINE_EXCEEDED);
      assert.deepEqual(timedOut.error?.metadata.get('x-xmesh-error-code'), ['XMESH_TIMEOUT']);
      assert.deepEqual(comparable(timedOut), comparable(timedOutSlow));
    });

    test('generic makeUnaryRequest: serializer and deserializer failures end the call with INTERNAL', async () => {
      const call = (serialize: (value: unknown) => Buffer, deserialize: (bytes: Buffer) => unknown) => new Promise<grpc.ServiceError | null>((resolve) => {
        fast.makeUnaryRequest(ECHO_PATH, serialize, deserialize, { message: 'x' }, (error) => resolve(error));
      });
      const serializeFails = await call(() => {
        throw new Error('cannot encode');
      }, (bytes) => bytes);
      assert.equal(serializeFails?.code, grpc.status.INTERNAL);
      assert.equal(serializeFails?.details, 'Request message serialization failure: cannot encode');
      const deserializeFails = await call((value) => encodeRequest(value as EchoRequestShape), () => {
        throw new Error('cannot decode');
      });
      assert.equal(deserializeFails?.code, grpc.status.INTERNAL);
      assert.equal(deserializeFails?.details, 'Response message parsing error: cannot decode');
      const works = await new Promise<string>((resolve, reject) => {
        fast.makeUnaryRequest(ECHO_PATH, (value: EchoRequestShape) => encodeRequest(value), decodeReply, { message: 'generic' }, new grpc.Metadata(), {}, (error, reply) => (error ? reject(error) : resolve(reply!.message)));
      });
      assert.equal(works, 'generic');
    });
  });
}

describe('grpcClient unary calls that stay on grpc-js path', () => {
  test('a cluster on the grpc-js transport, per-call credentials, a client transformer; a closed client fails as before', async () => {
    const peer = await startGrpcJsPeer(0);
    const cfg = bootstrap({ routes: [{ prefix: '/', cluster: 'echo' }], clusters: { echo: [`127.0.0.1:${peer.port}`] } }) as { static_resources: { clusters: Record<string, unknown>[] } };
    const mesh = await createMesh({ config: structuredClone(cfg) });
    try {
      const client = mesh.grpcClient(EchoCtor, TARGET) as unknown as EchoClient;
      const calls = countChannelCalls(client);
      await observe(client, { message: 'lean' }).seen;
      assert.equal(calls.count, 0);
      cfg.static_resources.clusters[0]!.metadata = { filter_metadata: { xmesh: { transport: 'grpc-js' } } };
      await mesh.update(cfg);
      const viaGrpcJs = await observe(client, { message: 'grpc-js' }).seen;
      assert.equal(viaGrpcJs.reply, 'grpc-js');
      assert.equal(calls.count, 1, 'a cluster on grpc-js: the call went through grpc-js');

      await mesh.update(structuredClone(bootstrap({ routes: [{ prefix: '/', cluster: 'echo' }], clusters: { echo: [`127.0.0.1:${peer.port}`] } })));
      await observe(client, { message: 'lean again' }).seen;
      assert.equal(calls.count, 1, 'back on the lean transport: the fast path again');
      const credentials = grpc.credentials.createFromMetadataGenerator((_params, callback) => callback(null, new grpc.Metadata()));
      assert.equal((await observe(client, { message: 'with credentials' }, { credentials }).seen).reply, 'with credentials');
      assert.equal(calls.count, 2, 'per-call credentials: grpc-js path');

      let transformed = 0;
      const own = mesh.grpcClient(EchoCtor, TARGET, { callInvocationTransformer: (call) => (transformed++, call) }) as unknown as EchoClient;
      const ownCalls = countChannelCalls(own);
      assert.equal((await observe(own, { message: 'own transformer' }).seen).reply, 'own transformer');
      assert.equal(transformed, 1);
      assert.equal(ownCalls.count, 1, 'a client with its own transformer: grpc-js path');
      own.close();

      client.close();
      const closed = await observe(client, { message: 'closed' }).seen;
      assert.equal(closed.error?.code, grpc.status.UNAVAILABLE);
      assert.match(closed.error?.details ?? '', /^XMESH_CLOSED: /);
    } finally {
      await mesh.close();
      await peer.close();
    }
  });
});
