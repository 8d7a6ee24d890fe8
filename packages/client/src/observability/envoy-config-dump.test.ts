import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl, withSources, type MeshSnapshot, type SnapshotSources } from '@xmesh/xds';
import { EnvoyConfigDump } from './envoy-config-dump.js';

const CLA = (port: number) => ({ '@type': TypeUrl.ClusterLoadAssignment, cluster_name: 'a', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: port } } } }] }] });
const CLUSTER = { '@type': TypeUrl.Cluster, name: 'a', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } };

function snapshot(sources: SnapshotSources): MeshSnapshot {
  return withSources({ version: 'v', listeners: {}, routeConfigs: {}, clusters: {}, ignored: [] } as unknown as MeshSnapshot, sources);
}

function sources(endpoints: unknown, clusters: SnapshotSources['clusters']): SnapshotSources {
  return { listeners: [], routeConfigs: [], secrets: [], clusters, endpoints: [{ name: 'a', dynamic: true, resource: endpoints as Record<string, unknown> }] };
}

function endpointsAt(dump: EnvoyConfigDump, s: MeshSnapshot): string {
  const result = dump.build(s, { resource: 'dynamic_endpoint_configs', includeEds: true });
  assert.ok(result.ok);
  return (result.dump as { configs: { last_updated: string }[] }).configs[0]!.last_updated;
}

test('last_updated: a resource given again as an equal object keeps its time, a changed one takes the new time, whenever the dump is asked', () => {
  const dump = new EnvoyConfigDump();
  const clusters = [{ name: 'a', dynamic: true, resource: CLUSTER }];
  const first = snapshot(sources(CLA(1), clusters));
  dump.noteApplied(first, '2026-01-01T00:00:01.000Z');
  // Equal content as a new object (a file reload), then the same list of clusters kept by an endpoint update.
  const equal = snapshot(sources(CLA(1), clusters));
  dump.noteApplied(equal, '2026-01-01T00:00:02.000Z');
  assert.equal(endpointsAt(dump, equal), '2026-01-01T00:00:01.000Z');
  // Two changes before a dump asks: the last one's time.
  dump.noteApplied(snapshot(sources(CLA(2), clusters)), '2026-01-01T00:00:03.000Z');
  const changed = snapshot(sources(CLA(3), clusters));
  dump.noteApplied(changed, '2026-01-01T00:00:04.000Z');
  assert.equal(endpointsAt(dump, changed), '2026-01-01T00:00:04.000Z');
  // The cluster list was the same array throughout: its time is the first one.
  const cds = dump.build(changed, { resource: 'dynamic_active_clusters', includeEds: false });
  assert.ok(cds.ok);
  assert.equal((cds.dump as { configs: { last_updated: string }[] }).configs[0]!.last_updated, '2026-01-01T00:00:01.000Z');
  // Back to the content a dump showed earlier, as a new object: still a change after what was shown last.
  const back = snapshot(sources(CLA(1), clusters));
  dump.noteApplied(back, '2026-01-01T00:00:05.000Z');
  assert.equal(endpointsAt(dump, back), '2026-01-01T00:00:05.000Z');
});
