import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadEnvoyProtos, TypeUrl, type MeshSnapshot } from '@xmesh/xds';
import { XdsClient, type NackInfo } from './index.js';
import { ScriptedAdsServer } from '../../../../test/xds/scripted-ads-server.js';
import { FakeClock, settle } from '../../../../test/support/fake-clock.js';
import { echoListener, echoRoutes, edsCluster, loadAssignment, ECHO_LISTENER, ECHO_ROUTES } from '../../../../test/xds/echo-resources.js';

const protos = loadEnvoyProtos();
const L = TypeUrl.Listener;
const R = TypeUrl.RouteConfiguration;
const C = TypeUrl.Cluster;
const E = TypeUrl.ClusterLoadAssignment;

describe('XdsClient (state of the world) against a scripted server', () => {
  const server = new ScriptedAdsServer(protos);
  let target = '';
  let client: XdsClient | undefined;
  before(async () => {
    target = await server.listen();
  });
  after(() => server.close());
  afterEach(async () => {
    await client?.close();
    client = undefined;
    await new Promise((r) => setTimeout(r, 50));
    server.drain();
  });

  const newClient = (extra: { clock?: FakeClock; listeners?: string[] } = {}) =>
    new XdsClient({
      protos,
      bootstrap: {
        xds_servers: [{ server_uri: target, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
        node: { id: 'n1', cluster: 'c1', locality: { zone: 'z1' }, metadata: { team: 'mesh' } },
      },
      listeners: extra.listeners ?? [ECHO_LISTENER],
      ...(extra.clock ? { clock: extra.clock } : {}),
    });

  it('walks LDS → RDS → CDS → EDS, ACKs each version, sends node once, and applies only the whole set; NACKs a bad update keeping the old one', async () => {
    const c = (client = newClient());
    const snapshots: MeshSnapshot[] = [];
    const nacks: NackInfo[] = [];
    c.on('snapshot', (s) => snapshots.push(s));
    c.on('nack', (n) => nacks.push(n));
    c.start();

    const lds = await server.nextRequest();
    assert.equal(lds.type_url, L);
    assert.deepEqual(lds.resource_names, [ECHO_LISTENER]);
    assert.equal(lds.node?.id, 'n1');
    assert.equal(lds.node?.cluster, 'c1');
    assert.equal(lds.node?.locality?.zone, 'z1');
    assert.equal(lds.response_nonce ?? '', '');

    server.respond(L, 'v1', 'n-1', [echoListener()]);
    const ldsAck = await server.nextRequest();
    assert.deepEqual([ldsAck.type_url, ldsAck.version_info, ldsAck.response_nonce, ldsAck.error_detail, ldsAck.node], [L, 'v1', 'n-1', undefined, undefined]);
    const rds = await server.nextRequest();
    assert.deepEqual([rds.type_url, rds.resource_names], [R, [ECHO_ROUTES]]);

    server.respond(R, 'v1', 'n-2', [echoRoutes({ split: { a: 70, b: 30 } })]);
    assert.deepEqual(pick(await server.nextRequest()), [R, 'v1', 'n-2', [ECHO_ROUTES]]);
    const cds = await server.nextRequest();
    assert.deepEqual([cds.type_url, cds.resource_names], [C, ['a', 'b']]);

    server.respond(C, 'v1', 'n-3', [edsCluster('a'), edsCluster('b')]);
    assert.deepEqual(pick(await server.nextRequest()), [C, 'v1', 'n-3', ['a', 'b']]);
    const eds = await server.nextRequest();
    assert.deepEqual([eds.type_url, eds.resource_names], [E, ['a', 'b']]);
    assert.equal(snapshots.length, 0, 'clusters without their endpoints are not applied');

    server.respond(E, 'v1', 'n-4', [loadAssignment('a', [1001])]);
    assert.deepEqual(pick(await server.nextRequest()), [E, 'v1', 'n-4', ['a', 'b']]);
    await settle();
    assert.equal(snapshots.length, 0, 'still waiting for the endpoints of b');

    server.respond(E, 'v1', 'n-5', [loadAssignment('b', [1002])]);
    assert.deepEqual(pick(await server.nextRequest()), [E, 'v1', 'n-5', ['a', 'b']]);
    assert.equal(snapshots.length, 1);
    const first = snapshots[0]!;
    assert.deepEqual(Object.keys(first.clusters).sort(), ['a', 'b']);
    assert.deepEqual(ports(first, 'a'), [1001]);
    assert.deepEqual(ports(first, 'b'), [1002]);

    // A LOGICAL_DNS cluster without load_assignment (Envoy refuses it too). NACK with the last good version.
    server.respond(C, 'v2', 'n-6', [edsCluster('a'), { '@type': C, name: 'b', type: 'LOGICAL_DNS' }]);
    const nack = await server.nextRequest();
    assert.deepEqual(pick(nack), [C, 'v1', 'n-6', ['a', 'b']]);
    assert.equal(nack.error_detail?.code, 3);
    assert.match(nack.error_detail?.message ?? '', /Cluster "b"\.load_assignment: is required for a LOGICAL_DNS cluster/);
    assert.equal(nacks.length, 1);
    assert.equal(c.snapshot, first, 'the last good snapshot stays in force');
    assert.ok(await server.quiet(), 'nothing else is requested after a NACK');
  });

  it('reports a requested resource that never comes as does-not-exist after 15 s (fake clock)', async () => {
    const clock = new FakeClock();
    const c = (client = newClient({ clock, listeners: ['missing'] }));
    const absent: string[] = [];
    c.on('does-not-exist', (e) => absent.push(`${e.typeUrl}|${e.name}`));
    c.start();
    const req = await server.nextRequest();
    assert.deepEqual(req.resource_names, ['missing']);
    clock.advance(14_999);
    assert.deepEqual(absent, []);
    clock.advance(1);
    assert.deepEqual(absent, [`${L}|missing`]);
  });

  it('treats a listener missing from an LDS response as deleted (SotW semantics)', async () => {
    const c = (client = newClient({ listeners: [ECHO_LISTENER, 'other'] }));
    const absent: string[] = [];
    c.on('does-not-exist', (e) => absent.push(e.name));
    c.start();
    await server.nextRequest();
    server.respond(L, 'v1', 'n-1', [echoListener()]);
    await server.nextRequest(); // ACK
    assert.deepEqual(absent, ['other']);
  });

  it('subscribes to every listener with wildcard LDS, then to the route configs they name', async () => {
    const c = (client = new XdsClient({
      protos,
      bootstrap: { xds_servers: [{ server_uri: target, channel_creds: [{ type: 'insecure' }] }], node: { id: 'w' } },
      wildcardListeners: true,
    }));
    c.start();
    const lds = await server.nextRequest();
    assert.deepEqual([lds.type_url, lds.resource_names], [L, []]);
    server.respond(L, 'v1', 'w-1', [echoListener('r1'), { ...echoListener('r2'), name: 'second' }]);
    assert.deepEqual(pick(await server.nextRequest()), [L, 'v1', 'w-1', []]);
    const rds = await server.nextRequest();
    assert.deepEqual([rds.type_url, rds.resource_names], [R, ['r1', 'r2']]);
  });
});

function pick(req: { type_url?: string; version_info?: string; response_nonce?: string; resource_names?: readonly string[] }) {
  return [req.type_url, req.version_info, req.response_nonce, req.resource_names];
}

function ports(snapshot: MeshSnapshot, cluster: string): number[] {
  return (snapshot.clusters[cluster]?.loadAssignment?.localities ?? []).flatMap((l) => l.endpoints.map((e) => e.port));
}
