// The stream idle timeout in embedded mode: a call without a caller deadline on a route without a
// timeout still ends, by the route's idle_timeout or the HCM's stream_idle_timeout (Envoy's 5 min
// default), counted from the last traffic either way. Real stock grpc-js and node:http servers; the
// mesh clock is a fake one the test moves, so no bound depends on the machine's speed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { createMesh, type Mesh } from '@xmesh/client';
import { loadEcho, type EchoClient, type EchoReply, type EchoRequest } from '../../../../test/support/echo-server.js';
import { bootstrap } from '../../../../test/support/mesh-config.js';
import { unary } from '../../../../test/support/grpc-call.js';
import { FakeClock } from '../../../../test/support/fake-clock.js';
import { waitFor } from '../../../../test/support/wait-for.js';
import { within } from '../../../../test/support/within.js';

const { EchoClient: EchoCtor, service } = loadEcho();

/** A stock grpc-js server whose calls never answer by themselves: the test sends stream messages and ends them. */
interface SilentServer {
  readonly address: string;
  /** Unary and server-streaming calls received and not ended. */
  readonly open: Set<grpc.ServerWritableStream<EchoRequest, EchoReply> | grpc.ServerUnaryCall<EchoRequest, EchoReply>>;
  /** Calls whose client went away (the mesh cut them). */
  cancelled: number;
  close(): void;
}

async function startSilentServer(): Promise<SilentServer> {
  const server = new grpc.Server();
  const state: SilentServer = { address: '', open: new Set(), cancelled: 0, close: () => server.forceShutdown() };
  const track = (call: grpc.ServerWritableStream<EchoRequest, EchoReply> | grpc.ServerUnaryCall<EchoRequest, EchoReply>) => {
    state.open.add(call);
    call.on('cancelled', () => {
      state.cancelled++;
      state.open.delete(call);
    });
  };
  server.addService(service, {
    Echo: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>) => track(call),
    ServerStream: (call: grpc.ServerWritableStream<EchoRequest, EchoReply>) => track(call),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return Object.assign(state, { address: `127.0.0.1:${port}` });
}

/** One route per `x-route` value, each with its own route action extras; `hcm` extras on the listener. */
function config(address: string, routes: Record<string, Record<string, unknown>>, hcm: Record<string, unknown> = {}): object {
  const names = Object.keys(routes);
  const cfg = bootstrap({
    routes: names.map((name) => ({ prefix: '/', headers: { 'x-route': name }, cluster: 'silent' })),
    clusters: { silent: [address] },
    http2: ['silent'],
    hcm,
  }) as { static_resources: { listeners: { filter_chains: { filters: { typed_config: { route_config: { virtual_hosts: { routes: { route: Record<string, unknown> }[] }[] } } }[] }[] }[] } };
  const table = cfg.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.route_config.virtual_hosts[0]!.routes;
  names.forEach((name, i) => Object.assign(table[i]!.route, routes[name]));
  return cfg;
}

function routeMeta(route: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('x-route', route);
  return metadata;
}

/** Lets real I/O run (the servers, the sockets) without moving the mesh clock. */
const realTurn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

describe('stream idle timeout on embedded gRPC calls (fake mesh clock)', () => {
  const clock = new FakeClock(1_000_000);
  let server: SilentServer;
  let mesh: Mesh;
  let echo: EchoClient;

  before(async () => {
    server = await startSilentServer();
    mesh = await createMesh({
      clock,
      config: config(server.address, {
        idle: { timeout: '0s', idle_timeout: '2s' },
        listenerIdle: { timeout: '0s' },
        off: { timeout: '0s', idle_timeout: '0s' },
      }, { stream_idle_timeout: '3s' }),
    });
    echo = mesh.grpcClient(EchoCtor, 'dns:///silent.default.svc:50051') as EchoClient;
  });

  after(async () => {
    echo.close();
    await mesh.close();
    server.close();
  });

  test('a unary call with no deadline on a route with timeout 0 ends at the route idle_timeout with DEADLINE_EXCEEDED', async () => {
    let outcome: grpc.ServiceError | EchoReply | undefined;
    const call = unary(echo, { message: 'never' }, {}, 'Echo', routeMeta('idle')).then((r) => (outcome = r), (e: grpc.ServiceError) => (outcome = e));
    await waitFor(() => server.open.size, (n) => n === 1, 'the call to reach the server');
    clock.advance(1_999);
    await realTurn();
    assert.equal(outcome, undefined, 'still running before the idle timeout');
    clock.advance(1);
    await within(call, 10_000, 'the idle call');
    const error = outcome as grpc.ServiceError;
    assert.equal(error.code, grpc.status.DEADLINE_EXCEEDED, `${error.code} ${error.details}`);
    assert.match(error.details, /XMESH_TIMEOUT: stream timeout/);
    await waitFor(() => server.open.size, (n) => n === 0, 'the upstream call to be cancelled');
  });

  test('without a route idle_timeout the listener\'s stream_idle_timeout applies', async () => {
    let outcome: grpc.ServiceError | EchoReply | undefined;
    const call = unary(echo, { message: 'never' }, {}, 'Echo', routeMeta('listenerIdle')).then((r) => (outcome = r), (e: grpc.ServiceError) => (outcome = e));
    await waitFor(() => server.open.size, (n) => n === 1, 'the call to reach the server');
    clock.advance(2_999);
    await realTurn();
    assert.equal(outcome, undefined, 'the route has no idle_timeout: the HCM\'s 3 s applies, not 2 s');
    clock.advance(1);
    await within(call, 10_000, 'the idle call');
    assert.equal((outcome as grpc.ServiceError).code, grpc.status.DEADLINE_EXCEEDED);
    await waitFor(() => server.open.size, (n) => n === 0, 'the upstream call to be cancelled');
  });

  test('traffic resets the idle timeout: a stream that sends every 1.5 s outlives a 2 s idle timeout, then ends 2 s after its last message', async () => {
    const received: string[] = [];
    let status: grpc.StatusObject | undefined;
    const stream = echo.ServerStream({ message: 'stream', count: 0 }, routeMeta('idle')) as grpc.ClientReadableStream<EchoReply>;
    stream.on('data', (reply: EchoReply) => received.push(reply.message));
    stream.on('error', () => undefined);
    stream.on('status', (s: grpc.StatusObject) => (status = s));
    await waitFor(() => server.open.size, (n) => n === 1, 'the stream to reach the server');
    const upstream = [...server.open][0] as grpc.ServerWritableStream<EchoRequest, EchoReply>;
    for (let i = 1; i <= 4; i++) {
      clock.advance(1_500);
      upstream.write({ message: `m${i}`, payload: Buffer.alloc(0), server: 'silent' });
      await waitFor(() => received.length, (n) => n === i, `message ${i}`);
    }
    assert.equal(status, undefined, '6 s of streaming with no gap of 2 s: still open');
    clock.advance(1_999);
    await realTurn();
    assert.equal(status, undefined);
    clock.advance(1);
    await waitFor(() => status, (s) => s !== undefined, 'the stream to end');
    assert.equal(status!.code, grpc.status.DEADLINE_EXCEEDED, status!.details);
    assert.match(status!.details, /stream timeout/);
  });

  test('idle_timeout 0 disables it: the call runs until the caller cancels', async () => {
    let outcome: grpc.ServiceError | EchoReply | undefined;
    const pending = new Promise<void>((resolve) => {
      const call = echo.Echo({ message: 'never' }, routeMeta('off'), (err: grpc.ServiceError | null, reply: EchoReply) => {
        outcome = err ?? reply;
        resolve();
      });
      void waitFor(() => server.open.size, (n) => n === 1, 'the call to reach the server').then(async () => {
        clock.advance(3_600_000);
        await realTurn();
        assert.equal(outcome, undefined, 'no idle timeout, no route timeout');
        call.cancel();
      });
    });
    await within(pending, 20_000, 'the cancelled call');
    assert.equal((outcome as grpc.ServiceError).code, grpc.status.CANCELLED);
  });
});

describe('Envoy\'s default stream idle timeout (5 min) bounds an embedded call with no other bound', () => {
  const clock = new FakeClock(0);
  let server: SilentServer;
  let mesh: Mesh;
  let echo: EchoClient;

  before(async () => {
    server = await startSilentServer();
    mesh = await createMesh({ clock, config: config(server.address, { plain: { timeout: '0s' } }) });
    echo = mesh.grpcClient(EchoCtor, 'dns:///silent.default.svc:50051') as EchoClient;
  });

  after(async () => {
    echo.close();
    await mesh.close();
    server.close();
  });

  test('a call with no deadline on a route with timeout 0 ends after 300 s without traffic', async () => {
    let outcome: grpc.ServiceError | EchoReply | undefined;
    const call = unary(echo, { message: 'never' }, {}, 'Echo', routeMeta('plain')).then((r) => (outcome = r), (e: grpc.ServiceError) => (outcome = e));
    await waitFor(() => server.open.size, (n) => n === 1, 'the call to reach the server');
    clock.advance(299_999);
    await realTurn();
    assert.equal(outcome, undefined);
    clock.advance(1);
    await within(call, 10_000, 'the idle call');
    assert.equal((outcome as grpc.ServiceError).code, grpc.status.DEADLINE_EXCEEDED);
  });
});

describe('stream idle timeout on mesh.fetch (fake mesh clock, node:http upstream)', () => {
  const clock = new FakeClock(0);
  let upstream: Server;
  let mesh: Mesh;
  /** Responses the upstream holds open (headers sent, body not ended), or requests it never answered. */
  const held: { res: import('node:http').ServerResponse; started: boolean }[] = [];

  before(async () => {
    upstream = createServer((req, res) => {
      req.resume();
      const started = req.url === '/headers-then-stall';
      if (started) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first');
      }
      held.push({ res, started });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    const cfg = bootstrap({ routes: [{ prefix: '/', cluster: 'web' }], clusters: { web: [address] } }) as never;
    const route = (cfg as { static_resources: { listeners: { filter_chains: { filters: { typed_config: { route_config: { virtual_hosts: { routes: { route: Record<string, unknown> }[] }[] } } }[] }[] }[] } })
      .static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.route_config.virtual_hosts[0]!.routes[0]!.route;
    Object.assign(route, { timeout: '0s', idle_timeout: '2s' });
    mesh = await createMesh({ clock, config: cfg });
  });

  after(async () => {
    for (const { res } of held) res.destroy();
    await mesh.close();
    upstream.closeAllConnections();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });

  test('no response at all: the caller gets the 408 local reply at the idle timeout', async () => {
    const response = mesh.fetch('http://web.local/never');
    await waitFor(() => held.length, (n) => n === 1, 'the request to reach the upstream');
    clock.advance(2_000);
    const reply = await within(response, 10_000, 'the idle request');
    assert.equal(reply.status, 408);
    assert.equal(reply.headers.get('x-xmesh-error-code'), 'XMESH_TIMEOUT');
    assert.match(await reply.text(), /stream timeout/);
  });

  test('a body that stalls after the headers is cut at the idle timeout counted from the last chunk', async () => {
    const response = await within(mesh.fetch('http://web.local/headers-then-stall'), 10_000, 'the response headers');
    assert.equal(response.status, 200);
    const reader = response.body!.getReader();
    const first = await reader.read();
    assert.equal(Buffer.from(first.value!).toString(), 'first');
    clock.advance(1_500);
    held.at(-1)!.res.write('second');
    const second = await within(reader.read(), 10_000, 'the second chunk');
    assert.equal(Buffer.from(second.value!).toString(), 'second');
    clock.advance(1_999);
    await realTurn();
    clock.advance(1);
    await assert.rejects(within(reader.read(), 10_000, 'the stalled body'), (error: Error) => /stream timeout|terminated|XMESH_TIMEOUT/.test(`${error.message} ${String((error as { cause?: unknown }).cause)}`));
  });
});
