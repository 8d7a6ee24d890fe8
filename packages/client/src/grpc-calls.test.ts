// Every gRPC call kind through the mesh with a stock generated client: unary, server-streaming,
// client-streaming, bidi; metadata both ways; deadlines; cancellation; mesh error statuses.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { createMesh, type Mesh } from '@xmesh/client';
import { closedPort, loadEcho, startEchoServer, type EchoClient, type EchoReply, type EchoServer } from '../../../test/support/echo-server.js';
import { bootstrap } from '../../../test/support/mesh-config.js';
import { unary } from '../../../test/support/grpc-call.js';

const { EchoClient: EchoCtor } = loadEcho();
const TARGET = 'echo.default.svc:50051';

describe('gRPC through the mesh', () => {
  let server: EchoServer;
  let refused: number;
  let mesh: Mesh;
  let echo: EchoClient;

  before(async () => {
    server = await startEchoServer('a');
    refused = await closedPort();
    mesh = await createMesh({
      config: bootstrap({
        routes: [
          { prefix: '/xmesh.echo.Echo/Echo', headers: { 'x-route': 'refused' }, cluster: 'refused' },
          { prefix: '/xmesh.echo.Echo/Echo', headers: { 'x-route': 'empty' }, cluster: 'empty' },
          { prefix: '/xmesh.echo.Echo/', cluster: 'echo' },
        ],
        clusters: { echo: [server.address], refused: [`127.0.0.1:${refused}`], empty: [] },
      }),
    });
    echo = mesh.grpcClient(EchoCtor, `dns:///${TARGET}`) as EchoClient;
  });

  after(async () => {
    echo.close();
    await mesh.close();
    await server.close();
  });

  test('unary call reaches the endpoint with the logical authority and metadata both ways', async () => {
    const md = new grpc.Metadata();
    md.set('x-echo', 'hello-md');
    let initial: grpc.Metadata | undefined;
    let trailing: grpc.Metadata | undefined;
    const reply = await new Promise<EchoReply>((resolve, reject) => {
      const call = echo.Echo({ message: 'hi' }, md, (err: grpc.ServiceError | null, res: EchoReply) => (err ? reject(err) : resolve(res)));
      call.on('metadata', (m: grpc.Metadata) => { initial = m; });
      call.on('status', (s: grpc.StatusObject) => { trailing = s.metadata; });
    });
    assert.equal(reply.message, 'hi');
    assert.equal(reply.server, `a@${server.address}`);
    assert.equal(server.lastMetadata?.get('x-echo')[0], 'hello-md');
    assert.equal(initial?.get('x-echo')[0], 'hello-md');
    assert.equal(trailing?.get('x-echo-trailer')[0], 'hello-md');
  });

  test('server streaming delivers every message in order', async () => {
    const call = echo.ServerStream({ message: 's', count: 5 });
    const got: string[] = [];
    for await (const r of call as AsyncIterable<EchoReply>) got.push(r.message);
    assert.deepEqual(got, ['s#0', 's#1', 's#2', 's#3', 's#4']);
  });

  test('client streaming sends every message before half-close', async () => {
    const reply = await new Promise<EchoReply>((resolve, reject) => {
      const call = echo.ClientStream((err: grpc.ServiceError | null, res: EchoReply) => (err ? reject(err) : resolve(res)));
      for (const m of ['x', 'y', 'z']) call.write({ message: m });
      call.end();
    });
    assert.equal(reply.message, 'x,y,z');
  });

  test('bidi streaming echoes each message as it arrives', async () => {
    const call = echo.Bidi();
    const got: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (r: EchoReply) => {
        got.push(r.message);
        if (got.length < 3) call.write({ message: `m${got.length}` });
        else call.end();
      });
      call.on('end', resolve);
      call.on('error', reject);
    });
    call.write({ message: 'm0' });
    await done;
    assert.deepEqual(got, ['echo:m0', 'echo:m1', 'echo:m2']);
  });

  test('deadline exceeded surfaces DEADLINE_EXCEEDED', async () => {
    // Held by the server until released: only the deadline can end it, however late its timer runs.
    const err = await unary(echo, { message: 'hold' }, { deadline: Date.now() + 50 }).then(() => undefined, (e: grpc.ServiceError) => e);
    server.release();
    assert.equal(err?.code, grpc.status.DEADLINE_EXCEEDED);
  });

  test('cancellation surfaces CANCELLED', async () => {
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      const call = echo.Echo({ message: 'hold' }, (e: grpc.ServiceError) => resolve(e));
      setTimeout(() => call.cancel(), 20);
    });
    server.release();
    assert.equal(err.code, grpc.status.CANCELLED);
  });

  test('no route: UNIMPLEMENTED with XMESH_NO_ROUTE in details and metadata', async () => {
    const other = mesh.grpcClient(grpc.makeGenericClientConstructor({
      Nope: { ...EchoCtor.service.Echo!, path: '/other.Service/Nope' },
    }, 'Other'), TARGET) as EchoClient;
    const err = await unary(other, { message: 'x' }, {}, 'Nope').then(() => undefined, (e: grpc.ServiceError) => e);
    other.close();
    assert.equal(err?.code, grpc.status.UNIMPLEMENTED);
    assert.match(err!.details, /^XMESH_NO_ROUTE: /);
    assert.equal(err!.metadata.get('x-xmesh-error-code')[0], 'XMESH_NO_ROUTE');
  });

  test('no endpoints: UNAVAILABLE with XMESH_NO_HEALTHY_UPSTREAM', async () => {
    const md = new grpc.Metadata();
    md.set('x-route', 'empty');
    const err = await unary(echo, { message: 'x' }, { deadline: Date.now() + 2000 }, 'Echo', md).then(() => undefined, (e: grpc.ServiceError) => e);
    assert.equal(err?.code, grpc.status.UNAVAILABLE);
    assert.match(err!.details, /^XMESH_NO_HEALTHY_UPSTREAM: /);
    assert.equal(err!.metadata.get('x-xmesh-error-code')[0], 'XMESH_NO_HEALTHY_UPSTREAM');
  });

  test('connection refused: UNAVAILABLE', async () => {
    const md = new grpc.Metadata();
    md.set('x-route', 'refused');
    const err = await unary(echo, { message: 'x' }, { deadline: Date.now() + 3000 }, 'Echo', md).then(() => undefined, (e: grpc.ServiceError) => e);
    assert.equal(err?.code, grpc.status.UNAVAILABLE);
  });

  test('a call made for a server call (`parent`) inherits its deadline and its cancellation, as grpc-js channels propagate them', async () => {
    // A middle tier: a stock grpc-js server whose handler calls the echo service through the mesh with `parent: call`.
    const inner: { code: number; ms: number }[] = [];
    const middle = new grpc.Server();
    middle.addService(EchoCtor.service, {
      Echo: (call: grpc.ServerUnaryCall<{ message: string }, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => {
        const started = Date.now();
        // One flag at a time: with both, the parent's deadline and its cancellation race at the same instant.
        const flags = call.request.message === 'deadline' ? grpc.propagate.DEADLINE : grpc.propagate.CANCELLATION;
        echo.Echo({ message: 'slow:5000' }, { parent: call, propagate_flags: flags }, (error: grpc.ServiceError | null, reply: EchoReply) => {
          inner.push({ code: error?.code ?? grpc.status.OK, ms: Date.now() - started });
          callback(error, reply);
        });
      },
    });
    const port = await new Promise<number>((resolve, reject) => middle.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    const outer = new EchoCtor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as EchoClient;
    try {
      const timedOut = await unary(outer, { message: 'deadline' }, { deadline: Date.now() + 300 }).then(() => undefined, (e: grpc.ServiceError) => e);
      assert.equal(timedOut?.code, grpc.status.DEADLINE_EXCEEDED);
      for (let i = 0; i < 200 && inner.length < 1; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(inner[0]?.code, grpc.status.DEADLINE_EXCEEDED, 'the inner call had the parent\'s deadline');
      assert.ok(inner[0]!.ms < 3_000, `the inner call ended after ${inner[0]!.ms} ms, not at the upstream's 5 s`);
      const call = outer.Echo({ message: 'cancel' }, () => {});
      setTimeout(() => call.cancel(), 200);
      for (let i = 0; i < 200 && inner.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(inner[1]?.code, grpc.status.CANCELLED, 'the parent\'s cancellation cancelled the inner call');
      assert.ok(inner[1]!.ms < 3_000);
    } finally {
      outer.close();
      await new Promise<void>((resolve) => middle.tryShutdown(() => resolve()));
    }
  });

  test('grpcChannel serves clients built by the application', async () => {
    const client = new EchoCtor('ignored:1', grpc.credentials.createInsecure(), { channelOverride: mesh.grpcChannel(TARGET) }) as EchoClient;
    const reply = await unary(client, { message: 'own' });
    client.close();
    assert.equal(reply.server, `a@${server.address}`);
  });
});
