// Where a retry goes: `retry_host_predicate` (envoy.retry_host_predicates.previous_hosts) and
// `host_selection_retry_max_attempts`, as Envoy's router and load balancers apply them, with a
// stock generated gRPC client and real servers on port 0. Without the predicate a retry is an
// ordinary pick (a consistent hash sends it back to the same host); with it, a pick that lands on
// a host already tried is made again, up to host_selection_retry_max_attempts times.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { createBalancer } from '@xmesh/balancer';
import type { PickInput } from '@xmesh/core';
import { createMesh, type Mesh } from '../index.js';
import { loadEcho, type EchoClient, type EchoReply, type EchoRequest } from '../../../../test/support/echo-server.js';
import { bootstrap } from '../../../../test/support/mesh-config.js';
import { unary } from '../../../../test/support/grpc-call.js';

const { EchoClient: EchoCtor, service } = loadEcho();
const TARGET = 'echo.hosts.svc:50051';
const PREVIOUS_HOSTS = [{ name: 'envoy.retry_host_predicates.previous_hosts' }];
const BACKOFF = { base_interval: '0.001s', max_interval: '0.002s' };

interface TestServer {
  readonly name: string;
  readonly address: string;
  calls: number;
  close(): Promise<void>;
}

/** An echo server; `failing` ones answer every call UNAVAILABLE. */
async function startServer(name: string, failing: boolean): Promise<TestServer> {
  const server = new grpc.Server();
  const s: TestServer = { name, address: '', calls: 0, close: () => new Promise((resolve) => server.tryShutdown(() => resolve())) };
  server.addService(service, {
    Echo: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => {
      s.calls++;
      if (failing) callback({ code: grpc.status.UNAVAILABLE, details: `${name} is failing` });
      else callback(null, { message: call.request.message ?? '', payload: Buffer.alloc(0), server: name });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  (s as { address: string }).address = `127.0.0.1:${port}`;
  return s;
}

type Json = Record<string, unknown>;

/** One route per entry, chosen by the `x-route` header, each to its own cluster over `servers`. */
function config(servers: readonly TestServer[], routes: Record<string, { lbPolicy: string; action: Json }>): object {
  const names = Object.keys(routes);
  const cfg = bootstrap({
    routes: names.map((name) => ({ prefix: '/', headers: { 'x-route': name }, cluster: name })),
    clusters: Object.fromEntries(names.map((n) => [n, servers.map((s) => s.address)])),
  }) as { static_resources: { clusters: Json[]; listeners: { filter_chains: { filters: { typed_config: { route_config: { virtual_hosts: { routes: { route: Json }[] }[] } } }[] }[] }[] } };
  const vhostRoutes = cfg.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.route_config.virtual_hosts[0]!.routes;
  names.forEach((name, i) => {
    Object.assign(vhostRoutes[i]!.route, routes[name]!.action);
    cfg.static_resources.clusters[i]!.lb_policy = routes[name]!.lbPolicy;
  });
  return cfg;
}

/** Retries on UNAVAILABLE, hashing on the `x-key` header. */
function hashedRetries(extra: Json): Json {
  return {
    hash_policy: [{ header: { header_name: 'x-key' } }],
    retry_policy: { retry_on: 'unavailable', num_retries: 2, retry_back_off: BACKOFF, ...extra },
  };
}

function metadata(route: string, key: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('x-route', route);
  md.set('x-key', key);
  return md;
}

describe('retry host selection with consistent hashing (ring hash and maglev)', () => {
  const servers: TestServer[] = [];
  let mesh: Mesh;
  let echo: EchoClient;
  /** Keys whose host is the failing server, per route. */
  const keysOnFailing: Record<string, string[]> = {};

  const call = (route: string, key: string) => unary(echo, { message: key }, {}, 'Echo', metadata(route, key));

  before(async () => {
    servers.push(await startServer('failing', true), await startServer('a', false), await startServer('b', false));
    mesh = await createMesh({
      env: {},
      config: config(servers, {
        ringSame: { lbPolicy: 'RING_HASH', action: hashedRetries({}) },
        // One selection more (the default) often stays on the same host on a ring of ~1024 points,
        // as in Envoy; ten make another host all but certain ((1/3)^10 per key).
        ringOther: { lbPolicy: 'RING_HASH', action: hashedRetries({ retry_host_predicate: PREVIOUS_HOSTS, host_selection_retry_max_attempts: 10 }) },
        maglevSame: { lbPolicy: 'MAGLEV', action: hashedRetries({}) },
        maglevOther: { lbPolicy: 'MAGLEV', action: hashedRetries({ retry_host_predicate: PREVIOUS_HOSTS, host_selection_retry_max_attempts: 10 }) },
      }),
    });
    echo = mesh.grpcClient(EchoCtor, TARGET) as EchoClient;
    // Find keys that hash to the failing server: their first attempt fails there.
    for (const route of ['ringSame', 'maglevSame']) {
      const keys: string[] = (keysOnFailing[route] = []);
      for (let i = 0; keys.length < 5 && i < 500; i++) {
        const before = servers[0]!.calls;
        await call(route, `key-${i}`).catch(() => undefined);
        if (servers[0]!.calls > before) keys.push(`key-${i}`);
      }
      assert.equal(keys.length, 5, `keys hashing to the failing server on ${route}`);
    }
  });

  after(async () => {
    echo.close();
    await mesh.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  for (const lb of ['ring', 'maglev'] as const) {
    test(`${lb}: without retry_host_predicate every retry goes back to the key's host (Envoy), and the call fails`, async () => {
      for (const key of keysOnFailing[`${lb}Same`]!) {
        const before = servers[0]!.calls;
        await assert.rejects(call(`${lb}Same`, key), { code: grpc.status.UNAVAILABLE });
        assert.equal(servers[0]!.calls - before, 3, `${key}: the first attempt and both retries on the failing host`);
      }
    });

    test(`${lb}: with previous_hosts the retry selects again and lands on another host`, async () => {
      // Keys hash the same way on both routes (same endpoints, same hash policy).
      for (const key of keysOnFailing[`${lb}Same`]!) {
        const before = servers[0]!.calls;
        const reply = await call(`${lb}Other`, key);
        assert.notEqual(reply.server, 'failing');
        assert.equal(servers[0]!.calls - before, 1, `${key}: only the first attempt on the failing host`);
      }
    });
  }
});

describe('host_selection_retry_max_attempts: how many selections a retry makes', () => {
  let server: TestServer;
  let mesh: Mesh;
  let echo: EchoClient;
  /** selectionAttempt of every pick, per cluster. */
  const picks = new Map<string, number[]>();

  before(async () => {
    server = await startServer('only', true);
    const retries = (extra: Json) => ({ retry_policy: { retry_on: 'unavailable', num_retries: 1, retry_back_off: BACKOFF, ...extra } });
    mesh = await createMesh({
      env: {},
      config: config([server], {
        none: { lbPolicy: 'ROUND_ROBIN', action: retries({}) },
        predicate: { lbPolicy: 'ROUND_ROBIN', action: retries({ retry_host_predicate: PREVIOUS_HOSTS }) },
        four: { lbPolicy: 'ROUND_ROBIN', action: retries({ retry_host_predicate: PREVIOUS_HOSTS, host_selection_retry_max_attempts: 4 }) },
        zero: { lbPolicy: 'ROUND_ROBIN', action: retries({ retry_host_predicate: PREVIOUS_HOSTS, host_selection_retry_max_attempts: 0 }) },
      }),
      // The real balancers, with every pick's selection attempt recorded.
      components: {
        createBalancer: (cluster, options) => {
          const balancer = createBalancer(cluster, options);
          const seen: number[] = [];
          picks.set(cluster.name, seen);
          return {
            get picker() {
              const picker = balancer.picker;
              return { pick: (input: PickInput) => (seen.push(input.selectionAttempt), picker.pick(input)) };
            },
            setEndpoints: (endpoints) => balancer.setEndpoints(endpoints),
            setExcluded: (ids) => balancer.setExcluded(ids),
            onPicker: (listener) => balancer.onPicker(listener),
            close: () => balancer.close(),
          };
        },
      },
    });
    echo = mesh.grpcClient(EchoCtor, TARGET) as EchoClient;
  });

  after(async () => {
    echo.close();
    await mesh.close();
    await server.close();
  });

  const expectations: readonly [string, number[], string][] = [
    ['none', [0, 0], 'without the predicate a retry makes one ordinary selection'],
    ['predicate', [0, 0, 1], 'the default is one selection more (host_selection_retry_max_attempts 1)'],
    ['four', [0, 0, 1, 2, 3, 4], 'four selections more, then the last one stands'],
    ['zero', [0, 0], 'zero: the predicate is checked but nothing is selected again'],
  ];
  for (const [route, expected, why] of expectations) {
    test(`${route}: ${why}`, async () => {
      picks.get(route)!.length = 0;
      const before = server.calls;
      await assert.rejects(unary(echo, { message: 'm' }, {}, 'Echo', metadata(route, 'k')), { code: grpc.status.UNAVAILABLE });
      assert.equal(server.calls - before, 2, 'the first attempt and one retry, both on the only host');
      assert.deepEqual(picks.get(route), expected);
    });
  }
});
