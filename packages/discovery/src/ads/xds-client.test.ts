import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadEnvoyProtos, TypeUrl, type MeshSnapshot } from '@xmesh/xds';
import { XdsClient, type NackInfo, type XdsUpdate } from './index.js';
import { short } from './watch-state.js';
import { ScriptedAdsServer } from '../../../../test/xds/scripted-ads-server.js';
import { FakeClock, settle } from '../../../../test/support/fake-clock.js';
import { echoListener, echoRoutes, edsCluster, loadAssignment, ECHO_LISTENER, ECHO_ROUTES } from '../../../../test/xds/echo-resources.js';

const protos = loadEnvoyProtos();
const L = TypeUrl.Listener;
const R = TypeUrl.RouteConfiguration;
const C = TypeUrl.Cluster;
const E = TypeUrl.ClusterLoadAssignment;
const S = TypeUrl.Secret;

/**
 * A scripted ADS server for one describe block (started before it, closed after it) and the clients its
 * tests make, each closed after its test.
 */
function scriptedServer() {
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
  const own = (c: XdsClient): XdsClient => (client = c);
  const newClient = (extra: { clock?: FakeClock; listeners?: string[]; features?: string[] } = {}) =>
    own(new XdsClient({
      protos,
      bootstrap: {
        xds_servers: [{ server_uri: target, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3', ...(extra.features ?? [])] }],
        node: { id: 'n1', cluster: 'c1', locality: { zone: 'z1' }, metadata: { team: 'mesh' } },
      },
      listeners: extra.listeners ?? [ECHO_LISTENER],
      ...(extra.clock ? { clock: extra.clock } : {}),
    }));
  return { server, newClient, own, target: () => target };
}

describe('XdsClient (state of the world) against a scripted server', () => {
  const { server, newClient, own, target } = scriptedServer();

  it('walks LDS → RDS → CDS → EDS, ACKs each version, sends node once, and applies only the whole set; NACKs a bad update keeping the old one', async () => {
    const c = newClient();
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

    // A LOGICAL_DNS cluster without load_assignment is invalid (Envoy refuses it too): NACKed; "a" in the same
    // response is valid, so the type's version moves on (gRFC A46, as grpc-js-xds), and "b" keeps its last good version.
    server.respond(C, 'v2', 'n-6', [edsCluster('a'), { '@type': C, name: 'b', type: 'LOGICAL_DNS' }]);
    const nack = await server.nextRequest();
    assert.deepEqual(pick(nack), [C, 'v2', 'n-6', ['a', 'b']]);
    assert.equal(nack.error_detail?.code, 3);
    assert.match(nack.error_detail?.message ?? '', /Cluster "b"\.load_assignment: is required for a LOGICAL_DNS cluster/);
    assert.equal(nacks.length, 1);
    assert.equal(c.snapshot, first, 'nothing routed differently: the last good snapshot stays in force');
    assert.ok(await server.quiet(), 'nothing else is requested after a NACK');

    // A response whose only resource is invalid leaves the version where it was.
    server.respond(C, 'v3', 'n-7', [edsCluster('a'), { '@type': C, name: 'b', type: 'EDS' }]);
    const whole = await server.nextRequest();
    assert.deepEqual(pick(whole), [C, 'v3', 'n-7', ['a', 'b']]);
    assert.match(whole.error_detail?.message ?? '', /Cluster "b"\.eds_cluster_config: is required for an EDS cluster/);
    server.respond(R, 'v2', 'n-8', [{ ...echoRoutes({ split: { a: 1 } }), virtual_hosts: [{ name: 'x', domains: ['a*b'], routes: [] }] }]);
    const rdsNack = await server.nextRequest();
    assert.deepEqual(pick(rdsNack), [R, 'v1', 'n-8', [ECHO_ROUTES]]);
    assert.match(rdsNack.error_detail?.message ?? '', /RouteConfiguration "echo-routes"\.virtual_hosts\[0\]\.domains\[0\]: a gRPC client allows one "\*"/);
    assert.equal(c.snapshot, first);
  });

  it('reports a requested resource that never comes as does-not-exist after 15 s (fake clock)', async () => {
    const clock = new FakeClock();
    const c = newClient({ clock, listeners: ['missing'] });
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

  it('treats a held listener missing from an LDS response as deleted; one never received waits for its timer (SotW semantics)', async () => {
    const clock = new FakeClock();
    const c = newClient({ clock, listeners: [ECHO_LISTENER, 'other'] });
    const absent: string[] = [];
    c.on('does-not-exist', (e) => absent.push(e.name));
    c.start();
    await server.nextRequest();
    server.respond(L, 'v1', 'n-1', [echoListener()]);
    await server.nextRequest(); // ACK
    // The response may predate the request naming "other" (xDS protocol): not taken as its absence.
    assert.deepEqual(absent, []);
    server.respond(L, 'v2', 'n-2', []);
    while ((await server.nextRequest()).response_nonce !== 'n-2'); // its ACK (the RDS subscription may come first)
    assert.deepEqual(absent, [ECHO_LISTENER]);
    clock.advance(15_000);
    assert.deepEqual(absent, [ECHO_LISTENER, 'other']);
  });

  it('subscribes to every listener with wildcard LDS, then to the route configs they name', async () => {
    const c = own(new XdsClient({
      protos,
      bootstrap: { xds_servers: [{ server_uri: target(), channel_creds: [{ type: 'insecure' }] }], node: { id: 'w' } },
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

describe('XdsClient: per-resource validation, deletion and consistency per listener (state of the world)', () => {
  const { server, newClient } = scriptedServer();

  /** Starts `c` and serves it the echo chain (listener, routes splitting over `clusters`, EDS clusters, endpoints), reading every ACK. */
  async function serveChain(c: XdsClient, clusters: string[]): Promise<MeshSnapshot> {
    const first = new Promise<MeshSnapshot>((resolve) => c.once('snapshot', resolve));
    c.start();
    await server.nextRequest();
    server.respond(L, 'v1', 'c-1', [echoListener()]);
    await server.nextRequest(); // ACK
    await server.nextRequest(); // RDS
    server.respond(R, 'v1', 'c-2', [echoRoutes({ split: Object.fromEntries(clusters.map((n) => [n, 1])) })]);
    await server.nextRequest(); // ACK
    await server.nextRequest(); // CDS
    server.respond(C, 'v1', 'c-3', clusters.map((n) => edsCluster(n)));
    await server.nextRequest(); // ACK
    await server.nextRequest(); // EDS
    server.respond(E, 'v1', 'c-4', clusters.map((n, i) => loadAssignment(n, [2001 + i])));
    await server.nextRequest(); // ACK
    return first;
  }

  it('NACKs the response that carried an invalid route configuration, with its own nonce and version, and ACKs the next ones', async () => {
    const c = newClient();
    const nacks: NackInfo[] = [];
    c.on('nack', (n) => nacks.push(n));
    c.start();
    await server.nextRequest();
    server.respond(L, 'v1', 'n-1', [echoListener()]);
    assert.deepEqual(pick(await server.nextRequest()), [L, 'v1', 'n-1', [ECHO_LISTENER]]);
    await server.nextRequest(); // RDS
    const invalid = echoRoutes({ split: { a: 1 } });
    (invalid['virtual_hosts'] as { domains: string[] }[])[0]!.domains = ['echo*svc'];
    server.respond(R, 'r1', 'n-2', [invalid]);
    const nack = await server.nextRequest();
    assert.deepEqual(pick(nack), [R, '', 'n-2', [ECHO_ROUTES]], 'NACKed in its own response; no version accepted yet');
    assert.match(nack.error_detail?.message ?? '', /^RouteConfiguration "echo-routes"\.virtual_hosts\[0\]\.domains\[0\]: a gRPC client allows one "\*"/);
    assert.deepEqual(nacks.map((n) => [n.typeUrl, n.nonce]), [[R, 'n-2']]);
    assert.ok(await server.quiet(), 'no cluster is asked for: the invalid routes were not used');

    server.respond(R, 'r2', 'n-3', [echoRoutes({ split: { a: 1 } })]);
    assert.deepEqual(pick(await server.nextRequest()), [R, 'r2', 'n-3', [ECHO_ROUTES]]);
    await server.nextRequest(); // CDS
    server.respond(C, 'v1', 'n-4', [edsCluster('a')]);
    const cdsAck = await server.nextRequest();
    assert.deepEqual([pick(cdsAck), cdsAck.error_detail], [[C, 'v1', 'n-4', ['a']], undefined]);
    await server.nextRequest(); // EDS
    server.respond(E, 'v1', 'n-5', [loadAssignment('a', [1001])]);
    const edsAck = await server.nextRequest();
    assert.deepEqual([pick(edsAck), edsAck.error_detail], [[E, 'v1', 'n-5', ['a']], undefined]);
    assert.equal(nacks.length, 1, 'no later response is blamed');
  });

  it('applies the valid clusters of a CDS response and NACKs only the invalid one; its calls fail, the listener stays', async () => {
    const c = newClient();
    const nacks: NackInfo[] = [];
    c.on('nack', (n) => nacks.push(n));
    const first = new Promise<MeshSnapshot>((resolve) => c.once('snapshot', resolve));
    c.start();
    await server.nextRequest();
    server.respond(L, 'v1', 'p-1', [echoListener()]);
    await server.nextRequest();
    await server.nextRequest();
    server.respond(R, 'v1', 'p-2', [echoRoutes({ split: { a: 30, b: 70 } })]);
    await server.nextRequest();
    await server.nextRequest();
    server.respond(C, 'v1', 'p-3', [edsCluster('a'), { ...edsCluster('b'), lb_policy: 'CLUSTER_PROVIDED' }]);
    const nack = await server.nextRequest();
    assert.deepEqual(pick(nack), [C, 'v1', 'p-3', ['a', 'b']], 'the valid "a" moved the version on (gRFC A46, as grpc-js-xds)');
    assert.match(nack.error_detail?.message ?? '', /^Cluster "b"\.lb_policy: CLUSTER_PROVIDED is not supported/);
    assert.doesNotMatch(nack.error_detail?.message ?? '', /Cluster "a"/);
    const eds = await server.nextRequest();
    assert.deepEqual([eds.type_url, eds.resource_names], [E, ['a']], 'the endpoints of the valid cluster are asked for');
    server.respond(E, 'v1', 'p-4', [loadAssignment('a', [1001])]);
    await server.nextRequest();
    const snapshot = await first;
    assert.deepEqual(Object.keys(snapshot.listeners), [ECHO_LISTENER]);
    assert.deepEqual(Object.keys(snapshot.clusters), ['a']);
    assert.deepEqual(snapshot.routeConfigs[ECHO_ROUTES]!.virtualHosts[0]!.routes[0]!.action.clusters.map((w) => w.name), ['a', 'b'], 'the route keeps its share for "b": those calls fail');
    assert.equal(c.listenerStatus(ECHO_LISTENER)?.state, 'ready');
  });

  it('a cluster the control plane deletes leaves the snapshot (gRFC A53); the listener and the other clusters stay', async () => {
    const c = newClient();
    await serveChain(c, ['a', 'b']);
    const absent: string[] = [];
    c.on('does-not-exist', (e) => absent.push(`${short(e.typeUrl)} ${e.name}`));
    const next = new Promise<MeshSnapshot>((resolve) => c.once('snapshot', resolve));
    const update = new Promise<XdsUpdate>((resolve) => c.once('update', resolve));
    server.respond(C, 'v2', 'd-1', [edsCluster('a')]);
    assert.deepEqual(pick(await server.nextRequest()), [C, 'v2', 'd-1', ['a', 'b']]);
    const snapshot = await next;
    assert.deepEqual(Object.keys(snapshot.clusters), ['a']);
    assert.deepEqual(Object.keys(snapshot.listeners), [ECHO_LISTENER]);
    assert.deepEqual(absent, ['Cluster b']);
    const changed = await update;
    assert.deepEqual([changed.clusters, changed.endpoints, changed.listeners], [['b'], ['b'], []]);
  });

  it('with ignore_resource_deletion the deleted cluster is kept, with a warning', async () => {
    const c = newClient({ features: ['ignore_resource_deletion'] });
    const first = await serveChain(c, ['a', 'b']);
    const warnings: string[] = [];
    c.on('warning', (w) => warnings.push(w));
    server.respond(C, 'v2', 'k-1', [edsCluster('a')]);
    const ack = await server.nextRequest();
    assert.deepEqual([pick(ack), ack.error_detail], [[C, 'v2', 'k-1', ['a', 'b']], undefined]);
    await settle();
    assert.equal(c.snapshot, first, 'nothing changed');
    assert.deepEqual(Object.keys(c.snapshot!.clusters).sort(), ['a', 'b']);
    assert.deepEqual(warnings, ['the control plane deleted Cluster "b"; it is kept (ignore_resource_deletion)']);
  });

  it('gRFC A74: new routes naming a new cluster apply only with that cluster and its endpoints; the old chain serves meanwhile', async () => {
    const c = newClient();
    const first = await serveChain(c, ['a']);
    const snapshots: MeshSnapshot[] = [];
    c.on('snapshot', (s) => snapshots.push(s));
    server.respond(R, 'v2', 't-1', [echoRoutes({ split: { fresh: 1 } })]);
    assert.deepEqual(pick(await server.nextRequest()), [R, 'v2', 't-1', [ECHO_ROUTES]]);
    const cds = await server.nextRequest();
    assert.deepEqual([cds.type_url, cds.resource_names], [C, ['fresh']]);
    const unsubscribe = await server.nextRequest();
    assert.deepEqual([unsubscribe.type_url, unsubscribe.resource_names], [E, []], 'the endpoints of "a" are no longer asked for');
    assert.equal(snapshots.length, 0, 'the new routes wait for their cluster');
    assert.equal(c.snapshot, first);
    server.respond(C, 'v2', 't-2', [edsCluster('fresh')]);
    assert.deepEqual(pick(await server.nextRequest()), [C, 'v2', 't-2', ['fresh']]);
    const eds = await server.nextRequest();
    assert.deepEqual([eds.type_url, eds.resource_names], [E, ['fresh']]);
    await settle();
    assert.equal(snapshots.length, 0, 'and for its endpoints');
    assert.deepEqual(ports(c.snapshot!, 'a'), [2001], 'the old chain, endpoints included, serves meanwhile');
    server.respond(E, 'v2', 't-3', [loadAssignment('fresh', [3001])]);
    await server.nextRequest();
    await settle();
    assert.equal(snapshots.length, 1);
    const applied = c.snapshot!;
    assert.equal(applied, snapshots.at(-1));
    assert.deepEqual(Object.keys(applied.clusters), ['fresh']);
    assert.deepEqual(ports(applied, 'fresh'), [3001]);
  });

  it('Secrets a cluster takes over ADS: asked for after it, awaited (its last whole form serves meanwhile), validated on their own, a push is a rotation, one that does not exist leaves only its cluster out', async () => {
    const clock = new FakeClock();
    const c = newClient({ clock });
    await serveChain(c, ['a', 'b']);
    const snapshots: MeshSnapshot[] = [];
    c.on('snapshot', (s) => snapshots.push(s));
    server.respond(C, 'v2', 's-1', [tlsCluster('a', 'cert-a'), edsCluster('b')]);
    assert.deepEqual(pick(await server.nextRequest()), [C, 'v2', 's-1', ['a', 'b']]);
    const sds = await server.nextRequest();
    assert.deepEqual([sds.type_url, sds.resource_names], [S, ['cert-a']]);
    await settle();
    assert.equal(snapshots.length, 0, 'the new "a" waits for its Secret');
    assert.equal(c.snapshot!.clusters['a']!.tls, undefined, 'the last whole form of "a" serves meanwhile (as Envoy warms a cluster)');
    server.respond(E, 'v2', 's-1b', [loadAssignment('b', [4002])]);
    await server.nextRequest();
    await settle();
    assert.deepEqual(ports(c.snapshot!, 'b'), [4002], 'a Secret on its way holds nothing else back');
    snapshots.length = 0;

    server.respond(S, 's1', 's-2', [secret('cert-a', 'one')]);
    const ack = await server.nextRequest();
    assert.deepEqual([pick(ack), ack.error_detail], [[S, 's1', 's-2', ['cert-a']], undefined], 'a Secret is validated as a Secret, not refused as an unsupported type');
    await settle();
    assert.equal(snapshots.length, 1);
    assert.notEqual(snapshots[0]!.clusters['a']!.tls, undefined);
    assert.equal(snapshots[0]!.secrets?.['cert-a']?.kind, 'tls_certificate');

    const rotated = new Promise<XdsUpdate>((resolve) => c.once('update', resolve));
    server.respond(S, 's2', 's-3', [secret('cert-a', 'two')]);
    await server.nextRequest();
    const update = await rotated;
    assert.deepEqual([update.secrets, update.clusters, update.listeners], [['cert-a'], [], []], 'a pushed Secret is a rotation');
    assert.notDeepEqual(JSON.stringify(c.snapshot!.secrets?.['cert-a']), JSON.stringify(snapshots[0]!.secrets?.['cert-a']));

    server.respond(S, 's3', 's-4', [{ '@type': S, name: 'cert-a' }]);
    const nack = await server.nextRequest();
    assert.deepEqual(pick(nack), [S, 's2', 's-4', ['cert-a']], 'NACKed in its own response; the last good version stays');
    assert.match(nack.error_detail?.message ?? '', /^Secret "cert-a": one of tls_certificate, validation_context is required/);

    server.respond(C, 'v3', 's-5', [tlsCluster('a', 'cert-a'), tlsCluster('b', 'cert-b')]);
    await server.nextRequest(); // ACK
    const both = await server.nextRequest();
    assert.deepEqual([both.type_url, both.resource_names], [S, ['cert-a', 'cert-b']]);
    await settle();
    assert.equal(c.snapshot!.clusters['b']?.tls, undefined, '"b" keeps its last whole form while its Secret is on its way');
    clock.advance(15_000);
    await settle();
    assert.deepEqual(Object.keys(c.snapshot!.clusters), ['a'], 'a cluster whose Secret does not exist is left out: only its calls fail');
    assert.deepEqual(Object.keys(c.snapshot!.listeners), [ECHO_LISTENER]);
    assert.equal(c.listenerStatus(ECHO_LISTENER)?.state, 'ready');
  });

  it('watches a listener named later; one that is never sent turns absent at its does-not-exist timer, without holding the others back', async () => {
    const clock = new FakeClock();
    const c = newClient({ clock });
    const statuses: string[] = [];
    c.on('listener', ({ name, status }) => statuses.push(`${name}=${status.state}`));
    c.start();
    const lds = await server.nextRequest();
    assert.deepEqual(lds.resource_names, [ECHO_LISTENER]);
    assert.equal(c.watchListener('second').state, 'pending');
    const both = await server.nextRequest();
    assert.deepEqual([both.type_url, both.resource_names], [L, [ECHO_LISTENER, 'second']]);
    server.respond(L, 'v1', 'w-1', [echoListener()]);
    await server.nextRequest();
    await settle();
    assert.equal(c.listenerStatus('second')?.state, 'pending', 'never received: its timer decides');
    assert.equal(c.listenerStatus(ECHO_LISTENER)?.state, 'pending', 'waiting for its routes');
    clock.advance(15_000);
    const gone = { state: 'absent', reason: 'Listener "second" does not exist (the control plane did not send it in time)' };
    assert.deepEqual(c.listenerStatus('second'), gone);
    assert.deepEqual(c.listenerStatus(ECHO_LISTENER), { state: 'absent', reason: 'RouteConfiguration "echo-routes" of listener "echo.default.svc" does not exist (the control plane did not send it in time)' });
    assert.ok(statuses.includes('second=absent'), statuses.join(' '));
  });

  it('with nothing to watch, is ready (with an empty snapshot) once the stream is connected', async () => {
    const c = newClient({ listeners: [] });
    c.start();
    const snapshot = await c.ready();
    assert.deepEqual(Object.keys(snapshot.listeners), []);
    assert.ok(await server.quiet(), 'nothing is asked for');
  });
});

/** An EDS cluster whose mTLS certificate is the Secret `secretName` from the control plane. */
function tlsCluster(name: string, secretName: string): Record<string, unknown> {
  const common_tls_context = { tls_certificate_sds_secret_configs: [{ name: secretName, sds_config: { ads: {} } }] };
  return { ...edsCluster(name), transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TypeUrl.UpstreamTlsContext, common_tls_context } } };
}

function secret(name: string, content: string): Record<string, unknown> {
  return { '@type': S, name, tls_certificate: { certificate_chain: { inline_string: `certificate ${content}` }, private_key: { inline_string: `key ${content}` } } };
}

function pick(req: { type_url?: string; version_info?: string; response_nonce?: string; resource_names?: readonly string[] }) {
  return [req.type_url, req.version_info, req.response_nonce, req.resource_names];
}

function ports(snapshot: MeshSnapshot, cluster: string): number[] {
  return (snapshot.clusters[cluster]?.loadAssignment?.localities ?? []).flatMap((l) => l.endpoints.map((e) => e.port));
}
