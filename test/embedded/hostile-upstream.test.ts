// Embedded mode against upstreams that misbehave on purpose (raw node:http2 and node:net servers,
// none of the project's code): garbage bytes, a 4 GB length prefix, truncated messages, resets
// mid-message, GOAWAY after headers, silence, header and trailer floods, invalid grpc-status values,
// compressed frames without an encoding, two messages on a unary call, HTTP status 0. Each is driven
// through every client path: the fast API (`mesh.unary`), a stock generated client through
// `mesh.grpcClient` on the lean transport and on the grpc-js transport, and `mesh.fetch` where it
// applies. Every call must end — a result or a typed error with the expected status — well within a
// generous bound of its deadline; no error may escape unhandled; connections and memory must come
// back near where they started once the meshes are closed; every call started must resolve.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as grpc from '@grpc/grpc-js';
import { isMeshError, type MeshError } from '@xmesh/core';
import { createMesh, type Mesh } from '@xmesh/client';
import { loadEcho, type EchoClient } from '../support/echo-server.js';
import { bootstrap } from '../support/mesh-config.js';
import { startHostileGrpcServer, startHostileNetServer, type GrpcBehaviour, type HostileServer } from '../support/hostile-upstreams.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const { EchoClient: EchoCtor } = loadEcho();
const TARGET = 'echo.default.svc:50051';
const METHOD = '/xmesh.echo.Echo/Echo';
/** `EchoRequest { message: "x" }`. */
const REQUEST = Buffer.from([0x0a, 0x01, 0x78]);
/** Each call's deadline, and the bound it must end within (generous: CI machines are loaded). */
const DEADLINE_MS = 1500;
const ENDS_WITHIN_MS = 10_000;
/** Concurrent calls per path and behaviour. */
const CALLS = 4;

const S = grpc.status;
type Path = 'fast' | 'drop-in/lean' | 'drop-in/grpc-js';
const PATHS: readonly Path[] = ['fast', 'drop-in/lean', 'drop-in/grpc-js'];

interface Expected {
  /** gRPC status codes acceptable on every path (a race between two calls on one dying connection may give either). */
  readonly codes: readonly number[];
  /** Paths whose answer is not asserted, and why. */
  readonly unchecked?: Partial<Record<Path, string>>;
}

const EXPECTED: Record<GrpcBehaviour | 'garbage-bytes', Expected> = {
  ok: { codes: [S.OK] },
  'garbage-body': { codes: [S.RESOURCE_EXHAUSTED] },
  'huge-prefix': { codes: [S.RESOURCE_EXHAUSTED] },
  'truncated-end': { codes: [S.INTERNAL] },
  'truncated-ok': { codes: [S.UNIMPLEMENTED] },
  'rst-mid-message': { codes: [S.INTERNAL] },
  'rst-before-headers': { codes: [S.INTERNAL] },
  'goaway-after-headers': { codes: [S.INTERNAL, S.UNAVAILABLE] },
  silent: { codes: [S.DEADLINE_EXCEEDED] },
  'header-flood': { codes: [S.INTERNAL, S.UNAVAILABLE, S.RESOURCE_EXHAUSTED] },
  'trailer-flood': { codes: [S.INTERNAL, S.UNAVAILABLE, S.RESOURCE_EXHAUSTED] },
  'status-abc': { codes: [S.UNKNOWN] },
  'status-999': { codes: [S.UNKNOWN] },
  'status-minus-1': { codes: [S.UNKNOWN] },
  'status-empty': {
    codes: [S.UNKNOWN],
    unchecked: { 'drop-in/grpc-js': 'grpc-js parses grpc-status itself (Number("") is 0) and removes it before the mesh sees the status' },
  },
  'status-missing': { codes: [S.UNKNOWN] },
  'compressed-no-encoding': { codes: [S.INTERNAL] },
  'two-messages': { codes: [S.UNIMPLEMENTED] },
  'garbage-bytes': { codes: [S.UNAVAILABLE] },
};

/** The MeshError code the fast API reports for an upstream end with `status` (how a caller tells them apart). */
const FAST_CODES: Record<number, readonly string[]> = {
  [S.DEADLINE_EXCEEDED]: ['XMESH_TIMEOUT'],
  [S.UNAVAILABLE]: ['XMESH_CONNECT_FAILED', 'XMESH_UPSTREAM_RESET', 'XMESH_UPSTREAM_STATUS'],
  [S.INTERNAL]: ['XMESH_UPSTREAM_RESET', 'XMESH_UPSTREAM_STATUS'],
  [S.RESOURCE_EXHAUSTED]: ['XMESH_UPSTREAM_RESET', 'XMESH_UPSTREAM_STATUS'],
};

interface Outcome {
  readonly code: number;
  readonly details: string;
  readonly meshCode: string | undefined;
  readonly ms: number;
}

const tally = { started: 0, resolved: 0 };
const escaped: unknown[] = [];
const onEscaped = (error: unknown): void => void escaped.push(error);

/** Runs one call and records its end; rejects only if the call broke its contract (no typed end). */
async function tracked(run: () => Promise<Outcome>): Promise<Outcome> {
  tally.started++;
  try {
    return await run();
  } finally {
    tally.resolved++;
  }
}

function viaFast(mesh: Mesh, behaviour: string): Promise<Outcome> {
  return tracked(async () => {
    const start = performance.now();
    try {
      await mesh.unary(TARGET, METHOD, REQUEST, { metadata: { 'x-behaviour': behaviour }, deadline: Date.now() + DEADLINE_MS });
      return { code: S.OK, details: '', meshCode: undefined, ms: performance.now() - start };
    } catch (error) {
      assert.ok(isMeshError(error), `fast API rejected with a MeshError, got ${String(error)}`);
      const meshError = error as MeshError;
      return { code: meshError.grpcStatus, details: meshError.message, meshCode: meshError.code, ms: performance.now() - start };
    }
  });
}

function viaDropIn(client: EchoClient, behaviour: string): Promise<Outcome> {
  return tracked(() => new Promise<Outcome>((resolve) => {
    const start = performance.now();
    const metadata = new grpc.Metadata();
    metadata.set('x-behaviour', behaviour);
    client.Echo({ message: 'x' }, metadata, { deadline: Date.now() + DEADLINE_MS }, (error: grpc.ServiceError | null) => {
      resolve({ code: error === null ? S.OK : error.code, details: error === null ? '' : String(error.details), meshCode: undefined, ms: performance.now() - start });
    });
  }));
}

/** Resolves with the value of `promise`, or rejects when it has not settled within `ms` (the call hung). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not end within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** TCP sockets and servers, HTTP/2 sessions and timers alive now, by kind. */
function liveResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

describe('embedded mode against hostile upstreams', () => {
  let grpcUpstream: HostileServer;
  let garbageUpstream: HostileServer;
  let httpUpstream: HostileServer;
  let lean: Mesh;
  let grpcJs: Mesh;
  let clients: Record<Exclude<Path, 'fast'>, EchoClient>;
  let heapBefore = 0;
  let rssBefore = 0;
  let resourcesBefore: Map<string, number>;

  const config = () => {
    const cfg = bootstrap({
      routes: [
        { prefix: '/', headers: { 'x-behaviour': 'garbage-bytes' }, cluster: 'garbage' },
        { prefix: '/http/', cluster: 'http' },
        { prefix: '/', cluster: 'grpc' },
      ],
      clusters: { grpc: [grpcUpstream.address], garbage: [garbageUpstream.address], http: [httpUpstream.address] },
    }) as { static_resources: { listeners: { filter_chains: { filters: { typed_config: { route_config: { virtual_hosts: { routes: { route: Record<string, unknown> }[] }[] } } }[] }[] }[] } };
    // The HTTP route's timeout ends a call to a silent upstream (HTTP calls carry no deadline of their own).
    cfg.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.route_config.virtual_hosts[0]!.routes[1]!.route.timeout = '1.5s';
    return cfg;
  };

  before(async () => {
    process.on('unhandledRejection', onEscaped);
    process.on('uncaughtExceptionMonitor', onEscaped);
    gc();
    ({ heapUsed: heapBefore, rss: rssBefore } = process.memoryUsage());
    resourcesBefore = liveResources();
    grpcUpstream = await startHostileGrpcServer();
    garbageUpstream = await startHostileNetServer({ garbage: true });
    httpUpstream = await startHostileNetServer();
    lean = await createMesh({ config: config(), env: {}, transport: { grpc: 'lean' } });
    grpcJs = await createMesh({ config: config(), env: {}, transport: { grpc: 'grpc-js' } });
    clients = {
      'drop-in/lean': lean.grpcClient(EchoCtor, TARGET) as EchoClient,
      'drop-in/grpc-js': grpcJs.grpcClient(EchoCtor, TARGET) as EchoClient,
    };
  });

  after(async () => {
    process.off('unhandledRejection', onEscaped);
    process.off('uncaughtExceptionMonitor', onEscaped);
  });

  const run = (path: Path, behaviour: string): Promise<Outcome> =>
    path === 'fast' ? viaFast(lean, behaviour) : viaDropIn(clients[path], behaviour);

  for (const [behaviour, expected] of Object.entries(EXPECTED)) {
    test(`${behaviour}: every gRPC path ends with ${expected.codes.map((c) => S[c]).join(' or ')}, and the next good call succeeds`, async () => {
      const calls = PATHS.flatMap((path) => Array.from({ length: CALLS }, () => run(path, behaviour).then((outcome) => ({ path, outcome }))));
      const results = await within(Promise.all(calls), ENDS_WITHIN_MS, `${behaviour} calls`);
      for (const { path, outcome } of results) {
        assert.ok(Number.isInteger(outcome.code) && outcome.code >= 0 && outcome.code <= 16, `${path}: a gRPC status code, got ${outcome.code}`);
        assert.equal(typeof outcome.details, 'string', `${path}: details are text`);
        assert.ok(outcome.ms < ENDS_WITHIN_MS, `${path}: ended after ${outcome.ms} ms`);
        if (expected.unchecked?.[path] !== undefined) continue;
        assert.ok(expected.codes.includes(outcome.code), `${path}: ${behaviour} ended with ${S[outcome.code]} (${outcome.details}), expected ${expected.codes.map((c) => S[c]).join('/')}`);
        if (path === 'fast' && outcome.code !== S.OK) {
          const allowed = FAST_CODES[outcome.code] ?? ['XMESH_UPSTREAM_STATUS'];
          assert.ok(allowed.includes(outcome.meshCode!), `fast: ${behaviour} is ${outcome.meshCode}, expected one of ${allowed.join(', ')}`);
        }
      }
      // The mesh keeps serving: a well-behaved call on every path right after the attack succeeds.
      const good = await within(Promise.all(PATHS.map((path) => run(path, 'ok'))), ENDS_WITHIN_MS, 'good calls');
      assert.deepEqual(good.map((o) => o.code), PATHS.map(() => S.OK), `good calls after ${behaviour}: ${good.map((o) => o.details).join(' | ')}`);
    });
  }

  test('the silent upstream is given up by the deadline, not later (generous bound)', async () => {
    const outcomes = await Promise.all(PATHS.map((path) => run(path, 'silent')));
    for (const outcome of outcomes) {
      assert.equal(outcome.code, S.DEADLINE_EXCEEDED);
      assert.ok(outcome.ms >= DEADLINE_MS - 50, `not before the deadline (${outcome.ms} ms)`);
      assert.ok(outcome.ms < DEADLINE_MS + 5_000, `soon after the deadline (${outcome.ms} ms)`);
    }
  });

  const HTTP_EXPECTED: Record<string, { status: number; code: string | null }> = {
    ok: { status: 200, code: null },
    'status-0': { status: 502, code: 'XMESH_UPSTREAM_PROTOCOL' },
    'status-000': { status: 502, code: 'XMESH_UPSTREAM_PROTOCOL' },
    'status-099': { status: 502, code: 'XMESH_UPSTREAM_PROTOCOL' },
    'garbage-status-line': { status: 502, code: 'XMESH_UPSTREAM_PROTOCOL' },
    'header-flood': { status: 502, code: 'XMESH_UPSTREAM_PROTOCOL' },
    silent: { status: 504, code: 'XMESH_TIMEOUT' },
    reset: { status: 503, code: 'XMESH_UPSTREAM_RESET' },
  };

  for (const [behaviour, expected] of Object.entries(HTTP_EXPECTED)) {
    test(`mesh.fetch, ${behaviour}: ${expected.status}${expected.code === null ? '' : ` local reply ${expected.code}`}`, async () => {
      const calls = Array.from({ length: CALLS }, () => tracked(async () => {
        const start = performance.now();
        const response = await lean.fetch('http://web.default.svc/http/x', { headers: { 'x-behaviour': behaviour } });
        const body = await response.text();
        return { code: response.status, details: body, meshCode: response.headers.get('x-xmesh-error-code') ?? undefined, ms: performance.now() - start };
      }));
      const outcomes = await within(Promise.all(calls), ENDS_WITHIN_MS, `fetch ${behaviour}`);
      for (const outcome of outcomes) {
        assert.equal(outcome.code, expected.status, `${behaviour}: ${outcome.details}`);
        assert.equal(outcome.meshCode ?? null, expected.code);
      }
    });
  }

  test('mesh.fetch, a body cut short after the headers: the response arrives and reading its body fails (as through a proxy)', async () => {
    const outcome = await within(tracked(async () => {
      const start = performance.now();
      const response = await lean.fetch('http://web.default.svc/http/x', { headers: { 'x-behaviour': 'truncated-body' } });
      assert.equal(response.status, 200);
      await assert.rejects(response.text(), TypeError);
      return { code: response.status, details: '', meshCode: undefined, ms: performance.now() - start };
    }), ENDS_WITHIN_MS, 'truncated body');
    assert.equal(outcome.code, 200);
  });

  test('after close(): every call started resolved, nothing escaped, connections and memory are back near the start', async (t) => {
    for (const client of Object.values(clients)) client.close();
    await Promise.all([lean.close(), grpcJs.close()]);
    await Promise.all([grpcUpstream.close(), garbageUpstream.close(), httpUpstream.close()]);
    assert.ok(tally.started > 0);
    assert.equal(tally.resolved, tally.started, 'every call started resolved');
    assert.deepEqual(escaped, [], 'no unhandled rejection or uncaught exception');
    // Sockets close asynchronously: give them a few turns (bounded) to go.
    const socketsBefore = (resourcesBefore.get('TCPSocketWrap') ?? 0) + (resourcesBefore.get('TCPServerWrap') ?? 0);
    const sockets = () => (liveResources().get('TCPSocketWrap') ?? 0) + (liveResources().get('TCPServerWrap') ?? 0);
    for (let i = 0; i < 100 && sockets() > socketsBefore; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(sockets(), socketsBefore, `sockets and servers left open: ${JSON.stringify([...liveResources()])}`);
    gc();
    const memory = process.memoryUsage();
    const grown = memory.heapUsed - heapBefore;
    const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;
    t.diagnostic(`calls started ${tally.started}, resolved ${tally.resolved}; heap ${mib(heapBefore)} -> ${mib(memory.heapUsed)} after close and GC (rss ${mib(rssBefore)} -> ${mib(memory.rss)}); sockets ${socketsBefore} -> ${sockets()}`);
    assert.ok(grown < 64 * 1024 * 1024, `heap grew by ${mib(grown)}`);
  });
});
