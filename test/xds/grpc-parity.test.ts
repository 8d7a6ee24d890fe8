// A stock @grpc/grpc-js-xds client is the oracle: it and an xmesh mesh (createMesh({ xds }), stock
// generated clients on `xds:///` targets) run side by side against one control plane that answers only
// named requests (as grpc-node's xDS test server does), fed the resources grpc-node's own test framework
// builds, and each case asserts that xmesh does what grpc-js-xds does: where calls land, which response
// is NACKed with what (the control plane's recorded error_detail), what a deleted cluster fails, how a
// control plane restart goes. Where they differ on purpose, the case says why.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { ControlPlane, silentLogger, type NackEvent, type ResponseEvent } from '@xmesh/control-plane';
import { createMesh, type Mesh } from '@xmesh/client';
import type { XdsBootstrap } from '@xmesh/discovery';
import { loadEnvoyProtos, TypeUrl } from '@xmesh/xds';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { runConcurrently, unary } from '../support/grpc-call.js';
import { within } from '../support/within.js';
import { frameworkCluster, frameworkEndpoints, frameworkListener, frameworkRouteConfig, type FrameworkLocality } from './grpc-node-framework.js';

const { EchoClient: EchoCtor } = loadEcho();
const protos = loadEnvoyProtos();
/** grpc-js-xds reads a per-channel bootstrap from this channel option (its resolver-xds.ts), so each client here has its own. */
const BOOTSTRAP_OPTION = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';

/** One client implementation: stock grpc clients on `xds:///<listener>` targets. */
interface Side {
  readonly name: string;
  /** The node id it sends, to tell its ACKs and NACKs apart on the control plane. */
  readonly node: string;
  client(listener: string): EchoClient;
  close(): Promise<void>;
}

function grpcJsXds(bootstrap: XdsBootstrap): Side {
  const clients = new Map<string, EchoClient>();
  return {
    name: 'grpc-js-xds',
    node: bootstrap.node.id,
    client(listener) {
      let client = clients.get(listener);
      if (!client) clients.set(listener, (client = new EchoCtor(`xds:///${listener}`, grpc.credentials.createInsecure(), { [BOOTSTRAP_OPTION]: JSON.stringify(bootstrap) }) as EchoClient));
      return client;
    },
    async close() {
      for (const client of clients.values()) client.close();
    },
  };
}

async function xmesh(bootstrap: XdsBootstrap, listener?: string): Promise<Side & { mesh: Mesh }> {
  const mesh = await createMesh({ xds: bootstrap, ...(listener === undefined ? {} : { listener }) });
  const clients = new Map<string, EchoClient>();
  return {
    name: 'xmesh',
    node: bootstrap.node.id,
    mesh,
    client(target) {
      let client = clients.get(target);
      if (!client) clients.set(target, (client = mesh.grpcClient(EchoCtor, target.includes(':') ? target : `xds:///${target}`) as EchoClient));
      return client;
    },
    async close() {
      for (const client of clients.values()) client.close();
      await mesh.close();
    },
  };
}

const serverOf = (reply: { server: string }) => reply.server.split('@')[0]!;

/** `n` calls, 16 at a time: the backend names, or `!<gRPC code>` for a failed call. */
async function land(client: EchoClient, n: number, deadlineMs = 5000): Promise<string[]> {
  return runConcurrently(n, 16, () =>
    unary(client, { message: 'x' }, { deadline: Date.now() + deadlineMs }).then(serverOf, (err: grpc.ServiceError) => `!${grpc.status[err.code]}`));
}

const share = (landed: readonly string[], pick: (s: string) => boolean) => landed.filter(pick).length / landed.length;

/** Calls until `done` holds for the last `window` results; rejects after `ms`. */
async function until(client: EchoClient, done: (recent: string[]) => boolean, ms = 10_000, window = 20): Promise<void> {
  const started = Date.now();
  let recent: string[] = [];
  while (Date.now() - started < ms) {
    recent = await land(client, window, 2000);
    if (done(recent)) return;
  }
  throw new Error(`not reached within ${ms} ms; last calls landed on ${recent.join(' ')}`);
}

describe('parity with a stock grpc-js-xds client, on grpc-node test-framework resources', () => {
  const backends: Record<string, EchoServer> = {};
  let plane: ControlPlane;
  let planePort = 0;
  let sides: Side[] = [];
  let version = 0;
  const nextVersion = () => `v${++version}`;
  const bootstrapFor = (node: string, features: string[] = []): XdsBootstrap => ({
    xds_servers: [{ server_uri: `127.0.0.1:${planePort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3', ...features] }],
    node: { id: node, locality: {} },
  });
  const ports = (...names: string[]) => names.map((n) => backends[n]!.port);
  const region1 = (...names: string[]): FrameworkLocality[] => [{ locality: { region: 'region1' }, ports: ports(...names) }];
  /** listener1 → cluster1 (a1, a2); listener2 → cluster3 (c1); weighted → cluster1 70 / cluster2 (b1) 30. */
  const base = () => [
    frameworkListener('listener1', 'route1'),
    frameworkRouteConfig('route1', [{ cluster: 'cluster1' }]),
    frameworkListener('listener2', 'route2'),
    frameworkRouteConfig('route2', [{ cluster: 'cluster3' }]),
    frameworkListener('weighted', 'route3'),
    frameworkRouteConfig('route3', [{ weightedClusters: [{ cluster: 'cluster1', weight: 70 }, { cluster: 'cluster2', weight: 30 }] }]),
    frameworkCluster('cluster1', 'endpoint1'),
    frameworkEndpoints('endpoint1', region1('a1', 'a2')),
    frameworkCluster('cluster2', 'endpoint2'),
    frameworkEndpoints('endpoint2', region1('b1')),
    frameworkCluster('cluster3', 'endpoint3'),
    frameworkEndpoints('endpoint3', region1('c1')),
  ];
  /**
   * Resets the control plane to `base()` and waits until both sides route by it again. The grpc-js-xds
   * side gets new channels: grpc-js-xds 1.14.1 does not take back a cluster deleted and sent again (its
   * channel keeps failing it "does not exist"); xmesh's mesh lives through every case.
   */
  async function reset(): Promise<void> {
    await sides[0]!.close();
    sides[0] = grpcJsXds(bootstrapFor('grpc-js-xds'));
    plane.setSnapshot(nextVersion(), base());
    for (const side of sides) {
      await until(side.client('weighted'), (r) => r.includes('b1') && r.every((s) => ['a1', 'a2', 'b1'].includes(s)), 10_000, 40);
      await until(side.client('listener1'), (r) => r.every((s) => s === 'a1' || s === 'a2'));
    }
  }
  /** The next NACK the control plane records from `side` for `typeUrl`. */
  const nackFrom = (side: Side, typeUrl: string) =>
    within(new Promise<NackEvent>((resolve) => {
      const on = (e: NackEvent) => {
        if (e.nodeId !== side.node || e.typeUrl !== typeUrl) return;
        plane.off('nack', on);
        resolve(e);
      };
      plane.on('nack', on);
    }), 10_000, `a NACK of ${typeUrl} from ${side.name}`);

  before(async () => {
    for (const name of ['a1', 'a2', 'b1', 'b2', 'c1']) backends[name] = await startEchoServer(name, undefined, '::1');
    plane = new ControlPlane({ protos, logger: silentLogger, namedOnly: true });
    planePort = await plane.listen(0);
    plane.setSnapshot(nextVersion(), base());
    const xds = await import('@grpc/grpc-js-xds');
    xds.register();
    // Start-up without a listener name, against a control plane that answers named requests only.
    sides = [grpcJsXds(bootstrapFor('grpc-js-xds')), await within(xmesh(bootstrapFor('xmesh')), 10_000, 'createMesh({ xds }) without a listener')];
  });

  after(async () => {
    for (const side of sides) await side.close();
    await plane.close();
    await Promise.all(Object.values(backends).map((b) => b.close()));
  });

  test("grpc-node's test-framework resources, unchanged: both clients reach every backend of the listener's cluster", async () => {
    for (const side of sides) {
      const landed = await land(side.client('listener1'), 40);
      assert.deepEqual(new Set(landed), new Set(['a1', 'a2']), `${side.name}: ${landed.join(' ')}`);
    }
  });

  // Both clients pick a weighted cluster at random, as Envoy does: over 6 000 calls one standard
  // deviation of a 70 % share is 0.59 %, so ±3 % is five of them (a false failure about once in
  // two million runs; over 2 000 calls it was 2.9 and failed about once in 300).
  test('a weighted 70/30 split holds within 3 % over 6 000 calls, for both clients', async () => {
    for (const side of sides) {
      const landed = await land(side.client('weighted'), 6000);
      const a = share(landed, (s) => s.startsWith('a'));
      const b = share(landed, (s) => s === 'b1');
      assert.ok(Math.abs(a - 0.7) <= 0.03, `${side.name}: cluster1 got ${(a * 100).toFixed(1)} %`);
      assert.ok(Math.abs(b - 0.3) <= 0.03, `${side.name}: cluster2 got ${(b * 100).toFixed(1)} %`);
      assert.equal(a + b, 1, `${side.name}: every call succeeded`);
    }
  });

  test('an endpoint removed and added back is followed by both clients', async () => {
    plane.updateSnapshot(nextVersion(), { set: [frameworkEndpoints('endpoint1', region1('a1'))] });
    for (const side of sides) await until(side.client('listener1'), (r) => r.every((s) => s === 'a1'));
    plane.updateSnapshot(nextVersion(), { set: [frameworkEndpoints('endpoint1', region1('a1', 'a2'))] });
    for (const side of sides) await until(side.client('listener1'), (r) => r.includes('a2'));
  });

  test('xds:/// targets for two listeners reach their own clusters; a listener that does not exist is never served by another', async () => {
    for (const side of sides) {
      assert.deepEqual(new Set(await land(side.client('listener2'), 20)), new Set(['c1']), side.name);
      assert.equal(backends['c1']!.lastAuthority, 'listener2', `${side.name} sends the target's name as :authority`);
      assert.deepEqual(new Set(await land(side.client('listener1'), 20)), new Set(['a1', 'a2']), side.name);
      // Both wait for the listener's does-not-exist timer (15 s: the control plane answering without it
      // does not prove it absent, xDS protocol) and the calls' deadline passes first. Neither lands anywhere.
      const missing = await land(side.client('nope'), 4, 1500);
      assert.deepEqual(missing, ['!DEADLINE_EXCEEDED', '!DEADLINE_EXCEEDED', '!DEADLINE_EXCEEDED', '!DEADLINE_EXCEEDED'], side.name);
    }
    // A mesh whose own listener is listener1 still reaches listener2's cluster through an xds:/// target.
    const pinned = await xmesh(bootstrapFor('xmesh-pinned'), 'listener1');
    try {
      assert.deepEqual(new Set(await land(pinned.client('listener2'), 20)), new Set(['c1']));
      assert.deepEqual(new Set(await land(pinned.client('listener1:50051'), 20)), new Set(['a1', 'a2']), 'a plain target uses the mesh\'s listener');
    } finally {
      await pinned.close();
    }
  });

  test('a Cluster {type: EDS} without eds_cluster_config is NACKed in its CDS response by both; the last good cluster keeps serving', async () => {
    await reset();
    const nacks = sides.map((side) => nackFrom(side, TypeUrl.Cluster));
    const v = nextVersion();
    plane.updateSnapshot(v, { set: [{ '@type': TypeUrl.Cluster, name: 'cluster1', type: 'EDS', lb_policy: 'ROUND_ROBIN' }] });
    const [viaGrpc, viaMesh] = await Promise.all(nacks);
    assert.match(viaGrpc!.message, /cluster1|eds_cluster_config is unset/);
    assert.match(viaMesh!.message, /^Cluster "cluster1"\.eds_cluster_config: is required for an EDS cluster/m);
    // The type's version moves on when the response had a valid resource (gRFC A46, grpc-js-xds's rule):
    // xmesh's one ADS stream also got cluster2 and cluster3, valid. (Each grpc-js-xds channel given its
    // own bootstrap has its own stream: listener1's asks for cluster1 only and keeps the old version,
    // weighted's also got cluster2 and moves on; whichever NACKs first is recorded here.)
    assert.equal(viaMesh!.version, v);
    for (const side of sides) assert.deepEqual(new Set(await land(side.client('listener1'), 20)), new Set(['a1', 'a2']), side.name);
  });

  test('endpoints without a locality are NACKed in their EDS response by both; the last good endpoints keep serving', async () => {
    await reset();
    const nacks = sides.map((side) => nackFrom(side, TypeUrl.ClusterLoadAssignment));
    const noLocality = frameworkEndpoints('endpoint1', region1('b2'));
    delete (noLocality['endpoints'] as Record<string, unknown>[])[0]!['locality'];
    plane.updateSnapshot(nextVersion(), { set: [noLocality] });
    const [viaGrpc, viaMesh] = await Promise.all(nacks);
    assert.match(viaGrpc!.message, /locality unset/);
    assert.match(viaMesh!.message, /^ClusterLoadAssignment "endpoint1"\.endpoints\[0\]\.locality: is required by a gRPC client/m);
    for (const side of sides) assert.deepEqual(new Set(await land(side.client('listener1'), 20)), new Set(['a1', 'a2']), side.name);
  });

  test('an invalid route configuration is NACKed in the RDS response that carried it (its nonce), never in a later one', async () => {
    await reset();
    const carried = new Map<string, string>();
    const onResponse = (e: ResponseEvent) => {
      if (e.typeUrl === TypeUrl.RouteConfiguration && e.resources.includes('route1')) carried.set(e.nodeId, e.nonce);
    };
    const later: NackEvent[] = [];
    plane.on('response', onResponse);
    const nacks = sides.map((side) => nackFrom(side, TypeUrl.RouteConfiguration));
    plane.updateSnapshot(nextVersion(), { set: [frameworkRouteConfig('route1', [{ weightedClusters: [{ cluster: 'cluster1', weight: 0 }] }])] });
    const events = await Promise.all(nacks);
    plane.off('response', onResponse);
    events.forEach((nack, i) => assert.equal(nack.nonce, carried.get(sides[i]!.node), `${sides[i]!.name} NACKed the response that carried route1`));
    assert.match(events[0]!.message, /sum of weights is 0/);
    assert.match(events[1]!.message, /^RouteConfiguration "route1"\.virtual_hosts\[0\]\.routes\[0\]\.route\.weighted_clusters\.clusters: the weights must sum to more than 0/m);
    // A later, valid EDS response is ACKed, not blamed.
    plane.on('nack', (e) => later.push(e));
    plane.updateSnapshot(nextVersion(), { set: [frameworkEndpoints('endpoint1', region1('a1'))] });
    for (const side of sides) await until(side.client('listener1'), (r) => r.every((s) => s === 'a1'));
    assert.deepEqual(later.map((e) => `${e.nodeId} ${e.typeUrl}`), []);
  });

  test('the valid clusters of a partly invalid CDS response are applied by both; the invalid one keeps its last good version', async () => {
    await reset();
    const nacks = sides.map((side) => nackFrom(side, TypeUrl.Cluster));
    plane.updateSnapshot(nextVersion(), {
      set: [
        frameworkCluster('cluster1', 'endpoint1', 'CLUSTER_PROVIDED'),
        frameworkCluster('cluster2', 'endpoint2b'),
        frameworkEndpoints('endpoint2b', region1('b2')),
      ],
    });
    const [viaGrpc, viaMesh] = await Promise.all(nacks);
    assert.match(viaGrpc!.message, /CLUSTER_PROVIDED/);
    assert.match(viaMesh!.message, /^Cluster "cluster1"\.lb_policy: CLUSTER_PROVIDED is not supported/m);
    assert.doesNotMatch(viaMesh!.message, /cluster2/);
    for (const side of sides) {
      await until(side.client('weighted'), (r) => r.includes('b2') && !r.includes('b1') && r.every((s) => ['a1', 'a2', 'b2'].includes(s)), 10_000, 40);
    }
  });

  test('a deleted cluster fails only its share of a weighted route (UNAVAILABLE), for both', async () => {
    await reset();
    plane.updateSnapshot(nextVersion(), { remove: [{ typeUrl: TypeUrl.Cluster, name: 'cluster2' }] });
    for (const side of sides) {
      await until(side.client('weighted'), (r) => r.includes('!UNAVAILABLE'), 10_000, 40);
      const landed = await land(side.client('weighted'), 400);
      const ok = share(landed, (s) => s === 'a1' || s === 'a2');
      assert.ok(Math.abs(ok - 0.7) <= 0.1, `${side.name}: ${(ok * 100).toFixed(1)} % succeeded`);
      assert.ok(landed.every((s) => s === 'a1' || s === 'a2' || s === '!UNAVAILABLE'), `${side.name}: ${[...new Set(landed)].join(' ')}`);
    }
    const errors: grpc.ServiceError[] = [];
    for (let i = 0; i < 40 && errors.length === 0; i++) {
      await unary(sides[1]!.client('weighted'), { message: 'x' }, { deadline: Date.now() + 5000 }).catch((e: grpc.ServiceError) => errors.push(e));
    }
    assert.match(errors[0]!.details, /cluster "cluster2" does not exist/, 'the failure names the cluster');
  });

  test('with ignore_resource_deletion (gRFC A53) the deleted cluster keeps serving, for both', async () => {
    await reset();
    const keep = [grpcJsXds(bootstrapFor('grpc-js-xds-keep', ['ignore_resource_deletion'])), await xmesh(bootstrapFor('xmesh-keep', ['ignore_resource_deletion']))];
    try {
      for (const side of keep) await until(side.client('weighted'), (r) => r.includes('b1'), 10_000, 40);
      plane.updateSnapshot(nextVersion(), { remove: [{ typeUrl: TypeUrl.Cluster, name: 'cluster2' }] });
      // The others see the deletion: the control plane has sent it.
      await until(sides[1]!.client('weighted'), (r) => r.includes('!UNAVAILABLE'), 10_000, 40);
      for (const side of keep) {
        const landed = await land(side.client('weighted'), 300);
        assert.ok(landed.every((s) => ['a1', 'a2', 'b1'].includes(s)), `${side.name}: ${[...new Set(landed)].join(' ')}`);
        assert.ok(landed.includes('b1'), `${side.name}: the kept cluster still serves`);
      }
    } finally {
      for (const side of keep) await side.close();
    }
  });

  test('a control plane restarted under load: zero failed calls for both, and config resumes', async () => {
    await reset();
    let running = true;
    const failures: string[] = [];
    const counts = new Map<string, number>();
    const loads = sides.flatMap((side) => Array.from({ length: 4 }, async () => {
      while (running) {
        const [landed] = await land(side.client('listener1'), 1, 5000);
        if (landed!.startsWith('!')) failures.push(`${side.name} ${landed}`);
        counts.set(side.name, (counts.get(side.name) ?? 0) + 1);
      }
    }));
    try {
      await new Promise((r) => setTimeout(r, 300));
      await plane.close();
      await new Promise((r) => setTimeout(r, 1500));
      const before = new Map(counts);
      plane = new ControlPlane({ protos, logger: silentLogger, namedOnly: true });
      plane.setSnapshot(nextVersion(), base());
      await plane.listen(planePort);
      await new Promise((r) => setTimeout(r, 1000));
      for (const side of sides) assert.ok((counts.get(side.name) ?? 0) > (before.get(side.name) ?? 0), `${side.name} kept calling`);
      // The new control plane's config reaches both.
      plane.updateSnapshot(nextVersion(), { set: [frameworkEndpoints('endpoint1', region1('a2'))] });
      for (const side of sides) await until(side.client('listener1'), (r) => r.every((s) => s === 'a2'), 15_000);
    } finally {
      running = false;
      await Promise.all(loads);
    }
    assert.deepEqual(failures, []);
  });
});
