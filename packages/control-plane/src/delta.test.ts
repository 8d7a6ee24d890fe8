import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadEnvoyProtos, TypeUrl, type MeshSnapshot } from '@xmesh/xds';
import { XdsClient, DELTA_SERVER_FEATURE } from '@xmesh/discovery';
import { ControlPlane, silentLogger, type ResponseEvent } from './index.js';
import { echoResources, ECHO_LISTENER } from '../../../test/xds/echo-resources.js';
import { deltaStream } from '../../../test/xds/raw-ads.js';

const protos = loadEnvoyProtos();
const C = TypeUrl.Cluster;
const E = TypeUrl.ClusterLoadAssignment;
const twoClusters = echoResources({ endpoints: { a: [1001], b: [1002] }, split: { a: 70, b: 30 } });

describe('control plane, delta', () => {
  const plane = new ControlPlane({ protos, logger: silentLogger });
  let target = '';
  before(async () => {
    plane.setSnapshot('v1', twoClusters);
    target = `127.0.0.1:${await plane.listen(0)}`;
  });
  after(() => plane.close());

  it('subscribes, unsubscribes, sends per-resource versions and removed_resources', async () => {
    const s = deltaStream(protos, target);
    try {
      s.send({ node: { id: 'd1' }, type_url: E, resource_names_subscribe: ['a'] });
      const first = await s.next();
      assert.equal(first.system_version_info, 'v1');
      assert.deepEqual(first.resources?.map((r) => r.name), ['a']);
      const versionA = first.resources![0]!.version!;
      assert.match(versionA, /^[0-9a-f]{16}$/);

      s.send({ type_url: E, response_nonce: first.nonce!, resource_names_subscribe: ['b'] });
      const second = await s.next();
      assert.deepEqual(second.resources?.map((r) => r.name), ['b'], 'only the newly subscribed resource is sent');

      s.send({ type_url: E, response_nonce: second.nonce!, resource_names_unsubscribe: ['b'] });
      assert.ok(await s.quiet(), 'an unsubscribe needs no response');

      // b changes: not subscribed any more, nothing sent. a unchanged: nothing sent either.
      plane.setSnapshot('v2', echoResources({ endpoints: { a: [1001], b: [2002] }, split: { a: 70, b: 30 } }));
      assert.ok(await s.quiet());

      // a removed from the snapshot: removed_resources names it.
      plane.setSnapshot('v3', echoResources({ endpoints: { b: [2002] }, split: { b: 1 } }));
      const removal = await s.next();
      assert.deepEqual(removal.resources, []);
      assert.deepEqual(removal.removed_resources, ['a']);
      assert.equal(removal.system_version_info, 'v3');
    } finally {
      s.close();
      plane.setSnapshot('v1', twoClusters);
    }
  });

  it('on a new stream sends only what differs from initial_resource_versions; CDS wildcard gets every cluster', async () => {
    const probe = deltaStream(protos, target);
    probe.send({ node: { id: 'd2' }, type_url: C, resource_names_subscribe: [] });
    const all = await probe.next();
    probe.close();
    assert.deepEqual(all.resources?.map((r) => r.name).sort(), ['a', 'b'], 'legacy wildcard: every cluster');
    const versions = Object.fromEntries(all.resources!.map((r) => [r.name!, r.version!]));

    plane.setSnapshot('v2', [...twoClusters.filter((r) => !(r['@type'] === C && r['name'] === 'b')), { '@type': C, name: 'b', type: 'EDS', eds_cluster_config: { service_name: 'b2' } }]);
    const s = deltaStream(protos, target);
    try {
      s.send({ node: { id: 'd2' }, type_url: C, resource_names_subscribe: ['*'], initial_resource_versions: { ...versions, gone: 'x' } });
      const res = await s.next();
      assert.deepEqual(res.resources?.map((r) => r.name), ['b'], 'a is unchanged and not resent');
      assert.deepEqual(res.removed_resources, ['gone']);
    } finally {
      s.close();
      plane.setSnapshot('v1', twoClusters);
    }
  });

  it('drives an XdsClient in delta mode, which unsubscribes what routes stop referencing', async () => {
    const responses: ResponseEvent[] = [];
    const onResponse = (e: ResponseEvent) => {
      if (e.nodeId === 'delta-client') responses.push(e);
    };
    plane.on('response', onResponse);
    const client = new XdsClient({
      protos,
      bootstrap: {
        xds_servers: [{ server_uri: target, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3', DELTA_SERVER_FEATURE] }],
        node: { id: 'delta-client' },
      },
      listeners: [ECHO_LISTENER],
    });
    try {
      const snapshots: MeshSnapshot[] = [];
      client.on('snapshot', (s) => snapshots.push(s));
      client.start();
      await until(() => snapshots.length === 1);
      assert.deepEqual(Object.keys(snapshots[0]!.clusters).sort(), ['a', 'b']);
      assert.ok(responses.every((r) => r.mode === 'delta'));

      plane.setSnapshot('v2', echoResources({ endpoints: { a: [1001], b: [1002] }, split: { a: 1 } }));
      await until(() => snapshots.length === 2);
      assert.deepEqual(Object.keys(snapshots[1]!.clusters), ['a'], 'b is no longer referenced, so no longer in the snapshot');

      // The client's unsubscribe follows its ACK on the stream: wait until the server has read it
      // (its subscription for this client no longer names b), however long a busy machine takes.
      await until(() => edsSubscription(plane, 'delta-client')?.includes('a') === true && !edsSubscription(plane, 'delta-client')!.includes('b'));
      const before = responses.length;
      plane.setSnapshot('v3', echoResources({ endpoints: { a: [1001], b: [3003] }, split: { a: 1 } }));
      // An unsubscribed resource's change must not be sent; a sent one would arrive within moments.
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(responses.length, before, 'b was unsubscribed: its endpoint change is not sent');
    } finally {
      plane.off('response', onResponse);
      await client.close();
      plane.setSnapshot('v1', twoClusters);
    }
  });

  it('a delta client reconnecting with initial_resource_versions is sent only what changed meanwhile', async () => {
    const first = new ControlPlane({ protos, logger: silentLogger });
    first.setSnapshot('r1', twoClusters);
    const port = await first.listen(0);
    const client = new XdsClient({
      protos,
      bootstrap: {
        xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: [DELTA_SERVER_FEATURE] }],
        node: { id: 'reconnect' },
      },
      listeners: [ECHO_LISTENER],
      random: () => 0, // backoff 800 ms
    });
    let second: ControlPlane | undefined;
    try {
      client.start();
      await client.ready();
      const down = new Promise((resolve) => client.once('connection', resolve));
      await first.close();
      await down;

      second = new ControlPlane({ protos, logger: silentLogger });
      second.setSnapshot('r2', echoResources({ endpoints: { a: [1001], b: [4004] }, split: { a: 70, b: 30 } }));
      const sent: ResponseEvent[] = [];
      second.on('response', (e) => sent.push(e));
      const updated = new Promise<MeshSnapshot>((resolve) => client.once('snapshot', resolve));
      await second.listen(port);
      const snapshot = await updated;
      assert.deepEqual(sent.map((e) => [e.typeUrl, e.resources]), [[E, ['b']]], 'only the changed assignment is sent');
      const ports = snapshot.clusters['b']!.loadAssignment!.localities.flatMap((l) => l.endpoints.map((e) => e.port));
      assert.deepEqual(ports, [4004]);
    } finally {
      await client.close();
      await second?.close();
    }
  });
});

/** The EDS resource names `plane`'s delta session for `nodeId` holds subscribed, if it has one (test introspection). */
function edsSubscription(plane: ControlPlane, nodeId: string): string[] | undefined {
  type Session = { nodeId: string; types?: Map<string, { subscription: { names: Set<string> } }> };
  for (const session of (plane as unknown as { sessions: Set<Session> }).sessions) {
    const names = session.nodeId === nodeId ? session.types?.get(E)?.subscription.names : undefined;
    if (names !== undefined) return [...names];
  }
  return undefined;
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
