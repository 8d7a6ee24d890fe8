// The fast unary API (serialized messages on the lean transport, every policy applied) and the
// per-cluster / mesh-wide choice of gRPC transport, against stock grpc-js servers on port 0.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadProtoCodecs } from '@xmesh/codec';
import { LeanCallError } from '@xmesh/grpc-lean';
import { MeshError } from '@xmesh/core';
import { createMesh, type Mesh } from './index.js';
import { closedPort, loadEcho, type EchoReply, type EchoRequest } from '../../../test/support/echo-server.js';
import { bootstrap } from '../../../test/support/mesh-config.js';

const { service, EchoClient: EchoCtor } = loadEcho();
const TARGET = 'echo.fast.svc:50051';
const ECHO = '/xmesh.echo.Echo/Echo';
const codecs = loadProtoCodecs(join(import.meta.dirname, '..', '..', '..', 'examples', 'quickstart', 'proto', 'echo.proto'));
const echoMethod = codecs.method(ECHO)!;

type Behaviour = (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => void;

interface Seen {
  readonly id: string;
  readonly authority: string;
  readonly userAgent: string;
  readonly traceparent: string;
}

interface TestServer {
  readonly address: string;
  readonly seen: Seen[];
  close(): Promise<void>;
}

async function startServer(name: string, behaviour: Behaviour): Promise<TestServer> {
  const server = new grpc.Server();
  const seen: Seen[] = [];
  const text = (md: grpc.Metadata, key: string) => String(md.get(key)[0] ?? '');
  server.addService(service, {
    Echo: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => {
      const md = call.metadata;
      seen.push({ id: text(md, 'x-call'), authority: call.getHost(), userAgent: text(md, 'user-agent'), traceparent: text(md, 'traceparent') });
      behaviour(call, callback);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { address: `127.0.0.1:${port}`, seen, close: () => new Promise((resolve) => server.tryShutdown(() => resolve())) };
}

const ok = (name: string): Behaviour => (call, callback) => callback(null, { message: call.request.message ?? '', payload: call.request.payload ?? Buffer.alloc(0), server: name });
const failing = (code: grpc.status, details: string): Behaviour => (_call, callback) => callback({ code, details });
/** Answers after `ms`, unless the call was cancelled first; the timer never keeps the process alive. */
const slow = (name: string, ms: number): Behaviour => (call, callback) => {
  const timer = setTimeout(() => ok(name)(call, callback), ms).unref();
  (call as unknown as { on(event: 'cancelled', listener: () => void): void }).on('cancelled', () => clearTimeout(timer));
};

type Cfg = { static_resources: { clusters: Record<string, unknown>[]; listeners: { filter_chains: { filters: { typed_config: { route_config: { virtual_hosts: { routes: { route: Record<string, unknown> }[] }[] } } }[] }[] }[] } };

/** One route per cluster, chosen by the `x-route` header; `action` extras per route, cluster `transport` per cluster. */
function config(clusters: Record<string, { addresses: string[]; action?: Record<string, unknown>; transport?: string }>): object {
  const names = Object.keys(clusters);
  const cfg = bootstrap({
    routes: names.map((name) => ({ prefix: '/', headers: { 'x-route': name }, cluster: name })),
    clusters: Object.fromEntries(names.map((n) => [n, clusters[n]!.addresses])),
    hcm: { tracing: { provider: { name: 'envoy.tracers.opentelemetry' } } },
  }) as Cfg;
  const routes = cfg.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.route_config.virtual_hosts[0]!.routes;
  names.forEach((name, i) => {
    Object.assign(routes[i]!.route, clusters[name]!.action ?? {});
    const transport = clusters[name]!.transport;
    if (transport !== undefined) cfg.static_resources.clusters[i]!.metadata = { filter_metadata: { xmesh: { transport } } };
  });
  return cfg;
}

const request = (message: string) => echoMethod.request.encode({ message, payload: Buffer.alloc(3, 7) });
const route = (name: string, id = '') => ({ metadata: { 'x-route': name, 'x-call': id } });
const decode = (bytes: Buffer) => echoMethod.response.decode(bytes) as EchoReply;
const backoff = { base_interval: '0.001s', max_interval: '0.002s' };

describe('fast unary API through the mesh', () => {
  let servers: Record<string, TestServer>;
  let refused: string;
  let mesh: Mesh;

  before(async () => {
    servers = {
      up: await startServer('up', ok('up')),
      down: await startServer('down', failing(grpc.status.UNAVAILABLE, 'down is down')),
      missing: await startServer('missing', failing(grpc.status.NOT_FOUND, 'no such thing: 100%')),
      // Far beyond every timeout below: only a timeout can end a call to it early, however late its timer runs.
      slow: await startServer('slow', slow('slow', 10_000)),
    };
    refused = `127.0.0.1:${await closedPort()}`;
    mesh = await createMesh({
      env: {},
      config: config({
        plain: { addresses: [servers.up!.address] },
        flaky: { addresses: [servers.down!.address, servers.up!.address], action: { retry_policy: { retry_on: 'unavailable', num_retries: 1, retry_back_off: backoff } } },
        refusing: { addresses: [refused, servers.up!.address], action: { retry_policy: { retry_on: 'connect-failure', num_retries: 1, retry_back_off: backoff } } },
        refusedOnly: { addresses: [refused] },
        missing: { addresses: [servers.missing!.address] },
        slowOnly: { addresses: [servers.slow!.address], action: { timeout: '0.2s' } },
        // Per-try 1 s: long enough for 'up' to answer a retry on a busy machine, far below 'slow's 10 s.
        perTry: { addresses: [servers.slow!.address, servers.up!.address], action: { timeout: '20s', retry_policy: { retry_on: 'gateway-error', num_retries: 1, per_try_timeout: '1s', retry_back_off: backoff, retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }] } } },
        empty: { addresses: [] },
      }),
    });
  });

  after(async () => {
    await mesh.close();
    await Promise.all(Object.values(servers).map((s) => s.close()));
  });

  const stat = (name: string) => mesh.observability.store.value(name);

  test('a typed call reaches the endpoint on the lean transport with the logical authority, metadata and trace headers', async () => {
    const reply = (await mesh.unaryClient(`dns:///${TARGET}`).call(echoMethod, { message: 'hi', payload: Buffer.from('xyz') }, route('plain', 'typed'))) as EchoReply;
    assert.equal(reply.message, 'hi');
    assert.equal(reply.server, 'up');
    assert.deepEqual(Buffer.from(reply.payload), Buffer.from('xyz'));
    const seen = servers.up!.seen.find((s) => s.id === 'typed')!;
    assert.equal(seen.authority, TARGET);
    assert.match(seen.userAgent, /xmesh-grpc-lean/);
    assert.match(seen.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    assert.equal(stat('cluster.plain.upstream_rq_total'), 1);
  });

  test('the bytes form and the callback form return the serialized reply; the callback is never synchronous', async () => {
    const bytes = await mesh.unary(TARGET, ECHO, request('bytes'), route('plain'));
    assert.equal(decode(bytes).message, 'bytes');
    let returned = false;
    const reply = await new Promise<Buffer>((resolve, reject) => {
      mesh.unaryClient(TARGET).unaryCallback(ECHO, request('cb'), route('plain'), (error, out) => {
        assert.equal(returned, true);
        if (error === null) resolve(out!);
        else reject(error);
      });
      returned = true;
    });
    assert.equal(decode(reply).message, 'cb');
  });

  test('retries re-send the same bytes on the other endpoint', async () => {
    for (let i = 0; i < 6; i++) {
      const reply = decode(await mesh.unary(TARGET, ECHO, request(`r${i}`), route('flaky', `flaky-${i}`)));
      assert.deepEqual([reply.server, reply.message, Buffer.from(reply.payload)], ['up', `r${i}`, Buffer.alloc(3, 7)]);
    }
    const retried = servers.down!.seen.filter((s) => s.id.startsWith('flaky-')).length;
    assert.ok(retried >= 2, `round robin sent some first attempts to the failing endpoint (${retried})`);
    assert.equal(servers.up!.seen.filter((s) => s.id.startsWith('flaky-')).length, 6);
    assert.equal(stat('cluster.flaky.upstream_rq_retry'), retried);
    assert.equal(stat('cluster.flaky.upstream_rq_retry_success'), retried);
  });

  test('a refused connection is a connect failure: retried under connect-failure, else XMESH_CONNECT_FAILED / UNAVAILABLE', async () => {
    for (let i = 0; i < 4; i++) assert.equal(decode(await mesh.unary(TARGET, ECHO, request('c'), route('refusing'))).server, 'up');
    assert.ok((stat('cluster.refusing.upstream_rq_retry') ?? 0) >= 1);
    await assert.rejects(mesh.unary(TARGET, ECHO, request('c'), route('refusedOnly')), (error: MeshError) => {
      assert.ok(error instanceof MeshError);
      assert.equal(error.code, 'XMESH_CONNECT_FAILED');
      assert.equal(error.grpcStatus, grpc.status.UNAVAILABLE);
      assert.equal(error.cluster, 'refusedOnly');
      assert.equal(error.endpoint, refused);
      return true;
    });
  });

  test('an upstream status surfaces as XMESH_UPSTREAM_STATUS with the gRPC status, details and the transport error as cause', async () => {
    await assert.rejects(mesh.unary(TARGET, ECHO, request('m'), route('missing')), (error: MeshError) => {
      assert.equal(error.code, 'XMESH_UPSTREAM_STATUS');
      assert.equal(error.grpcStatus, grpc.status.NOT_FOUND);
      assert.equal(error.message, 'no such thing: 100%');
      assert.ok(error.cause instanceof LeanCallError);
      return true;
    });
  });

  test('mesh-originated failures keep their codes and gRPC statuses', async () => {
    await assert.rejects(mesh.unary(TARGET, ECHO, request('e'), route('empty')), (error: MeshError) => {
      assert.equal(error.code, 'XMESH_NO_HEALTHY_UPSTREAM');
      assert.equal(error.grpcStatus, grpc.status.UNAVAILABLE);
      return true;
    });
    await assert.rejects(mesh.unary(TARGET, ECHO, request('e'), route('nowhere')), (error: MeshError) => {
      assert.equal(error.code, 'XMESH_NO_ROUTE');
      assert.equal(error.grpcStatus, grpc.status.UNIMPLEMENTED);
      return true;
    });
  });

  test('route timeout ends the call with XMESH_TIMEOUT / DEADLINE_EXCEEDED; a per-try timeout is retried elsewhere', async () => {
    const started = Date.now();
    await assert.rejects(mesh.unary(TARGET, ECHO, request('t'), route('slowOnly')), (error: MeshError) => {
      assert.equal(error.code, 'XMESH_TIMEOUT');
      assert.equal(error.grpcStatus, grpc.status.DEADLINE_EXCEEDED);
      return true;
    });
    const took = Date.now() - started;
    assert.ok(took >= 180 && took < 5_000, `ended at the 200 ms route timeout (${took} ms)`);
    for (let i = 0; i < 4; i++) assert.equal(decode(await mesh.unary(TARGET, ECHO, request('p'), route('perTry'))).server, 'up');
    assert.ok((stat('cluster.perTry.upstream_rq_per_try_timeout') ?? 0) >= 1);
  });

  test("the caller's deadline is sent and enforced", async () => {
    const started = Date.now();
    const timeoutsBefore = stat('cluster.slowOnly.upstream_rq_timeout') ?? 0;
    await assert.rejects(mesh.unary(TARGET, ECHO, request('d'), { ...route('slowOnly'), deadline: Date.now() + 50 }), (error: MeshError) => {
      assert.equal(error.code, 'XMESH_TIMEOUT');
      assert.equal(error.grpcStatus, grpc.status.DEADLINE_EXCEEDED);
      assert.doesNotMatch(error.message, /route timeout/, 'ended by the caller\'s deadline, not the 200 ms route timeout');
      return true;
    });
    const took = Date.now() - started;
    assert.ok(took >= 40 && took < 5_000, `ended after the caller's 50 ms deadline (${took} ms)`);
    assert.equal(stat('cluster.slowOnly.upstream_rq_timeout') ?? 0, timeoutsBefore, 'the route timeout did not fire');
  });

  test('cancel() ends the call with XMESH_CANCELLED / CANCELLED', async () => {
    const error = await new Promise<MeshError | null>((resolve) => {
      const call = mesh.unaryClient(TARGET).unaryCallback(ECHO, request('x'), route('slowOnly'), (e) => resolve(e));
      setTimeout(() => call.cancel('gave up'), 30);
    });
    assert.equal(error?.code, 'XMESH_CANCELLED');
    assert.equal(error?.grpcStatus, grpc.status.CANCELLED);
  });

  test('after close, calls fail with XMESH_CLOSED', async () => {
    const closed = await createMesh({ env: {}, config: config({ plain: { addresses: [servers.up!.address] } }) });
    await closed.close();
    await assert.rejects(closed.unary(TARGET, ECHO, request('z'), route('plain')), (error: MeshError) => error.code === 'XMESH_CLOSED');
  });
});

describe('gRPC transport selection', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer('up', ok('up'));
  });

  after(async () => {
    await server.close();
  });

  /** The user-agent the server saw for one drop-in call to `cluster` through a mesh built with `options`. */
  async function userAgentOf(options: { env?: Record<string, string>; grpc?: 'lean' | 'grpc-js' }, cluster: string): Promise<string> {
    const mesh = await createMesh({
      env: options.env ?? {},
      ...(options.grpc ? { transport: { grpc: options.grpc } } : {}),
      config: config({ plain: { addresses: [server.address] }, pinnedJs: { addresses: [server.address], transport: 'grpc-js' }, pinnedLean: { addresses: [server.address], transport: 'lean' } }),
    });
    const client = mesh.grpcClient(EchoCtor, TARGET) as grpc.Client & { Echo: (req: EchoRequest, md: grpc.Metadata, cb: (e: grpc.ServiceError | null, r: EchoReply) => void) => void };
    try {
      const md = new grpc.Metadata();
      md.set('x-route', cluster);
      const id = `${cluster}-${Math.random()}`;
      md.set('x-call', id);
      await new Promise<EchoReply>((resolve, reject) => client.Echo({ message: 'ua' }, md, (e, r) => (e ? reject(e) : resolve(r))));
      const seen = server.seen.find((s) => s.id === id)!;
      assert.equal(seen.authority, TARGET);
      return seen.userAgent;
    } finally {
      client.close();
      await mesh.close();
    }
  }

  test('the default is lean; a cluster can pin grpc-js', async () => {
    assert.match(await userAgentOf({}, 'plain'), /xmesh-grpc-lean/);
    assert.match(await userAgentOf({}, 'pinnedJs'), /^grpc-node-js\//);
  });

  test('transport.grpc and XMESH_GRPC_TRANSPORT set the default; the env wins; a cluster setting wins over both', async () => {
    assert.match(await userAgentOf({ grpc: 'grpc-js' }, 'plain'), /^grpc-node-js\//);
    assert.match(await userAgentOf({ env: { XMESH_GRPC_TRANSPORT: 'grpc-js' } }, 'plain'), /^grpc-node-js\//);
    assert.match(await userAgentOf({ env: { XMESH_GRPC_TRANSPORT: 'lean' }, grpc: 'grpc-js' }, 'plain'), /xmesh-grpc-lean/);
    assert.match(await userAgentOf({ env: { XMESH_GRPC_TRANSPORT: 'grpc-js' } }, 'pinnedLean'), /xmesh-grpc-lean/);
  });

  test('a bad XMESH_GRPC_TRANSPORT rejects mesh creation with XMESH_CONFIG_INVALID naming it', async () => {
    await assert.rejects(createMesh({ env: { XMESH_GRPC_TRANSPORT: 'quic' }, config: config({ plain: { addresses: [server.address] } }) }), (error: MeshError) => {
      assert.equal(error.code, 'XMESH_CONFIG_INVALID');
      assert.match(error.message, /XMESH_GRPC_TRANSPORT: must be one of grpc-js, lean, got "quic"/);
      return true;
    });
  });
});
