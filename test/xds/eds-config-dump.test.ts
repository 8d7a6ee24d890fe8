// EDS resources received over ADS (read straight from the wire, their JSON made when a dump asks) appear in
// `/config_dump` (include_eds) exactly as the control plane served them, before and after an endpoint update.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ControlPlane, silentLogger } from '@xmesh/control-plane';
import { createMesh } from '@xmesh/client';
import { loadEnvoyProtos, TypeUrl } from '@xmesh/xds';

type Json = Record<string, unknown>;

const LISTENER = {
  '@type': TypeUrl.Listener, name: 'in',
  api_listener: { api_listener: {
    '@type': TypeUrl.HttpConnectionManager, stat_prefix: 'in',
    route_config: { name: 'r', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '' }, route: { cluster: 'c' } }] }] },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }],
  } },
};
const CLUSTER = { '@type': TypeUrl.Cluster, name: 'c', type: 'EDS', connect_timeout: '1s', eds_cluster_config: { eds_config: { ads: {} } } };

/** Istio-shaped endpoints (filter_metadata, locality, weights, health status) on `port`. */
function assignment(port: number): Json {
  return {
    '@type': TypeUrl.ClusterLoadAssignment, cluster_name: 'c',
    endpoints: [{
      locality: { region: 'us-east1', zone: 'us-east1-b' },
      load_balancing_weight: 10,
      lb_endpoints: [1, 2, 3].map((n) => ({
        endpoint: { address: { socket_address: { address: `10.0.0.${n}`, port_value: port } } },
        health_status: 'HEALTHY',
        load_balancing_weight: n,
        metadata: { filter_metadata: { istio: { workload: `w${n}`, canary: n === 1, list: [n, 'x', null] } } },
      })),
    }],
  };
}

test('EDS over ADS: the config dump holds each assignment as served, and the endpoints are the ones picked', async () => {
  const plane = new ControlPlane({ protos: loadEnvoyProtos(), logger: silentLogger });
  plane.setSnapshot('v1', [LISTENER, CLUSTER, assignment(8001)]);
  const port = await plane.listen(0);
  const mesh = await createMesh({
    config: {
      node: { id: 'eds-dump' },
      dynamic_resources: {
        lds_config: { ads: {} }, cds_config: { ads: {} },
        ads_config: { api_type: 'DELTA_GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'xds' } }] },
      },
      static_resources: { clusters: [{ name: 'xds', type: 'STATIC', connect_timeout: '1s', http2_protocol_options: {}, load_assignment: { cluster_name: 'xds', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] } }] },
    },
    env: {},
  });
  try {
    const endpointsDumped = (): unknown => {
      const result = mesh.observability.configDump({ includeEds: true });
      assert.ok(result.ok);
      const configs = JSON.parse(JSON.stringify(result.dump)).configs as Json[];
      const eds = configs.find((c) => c['@type'] === 'type.googleapis.com/envoy.admin.v3.EndpointsConfigDump') as { dynamic_endpoint_configs: { endpoint_config: Json }[] };
      return eds.dynamic_endpoint_configs.map((c) => c.endpoint_config);
    };
    const ports = () => mesh.snapshot.clusters['c']?.loadAssignment?.localities.flatMap((l) => l.endpoints.map((e) => e.port)) ?? [];
    const until = async (done: () => boolean) => {
      const t0 = Date.now();
      while (!done()) {
        assert.ok(Date.now() - t0 < 10_000, 'applied within 10 s');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    await until(() => ports().length === 3);
    assert.deepEqual(endpointsDumped(), [assignment(8001)]);
    plane.putResources([assignment(8002)]);
    await until(() => ports()[0] === 8002);
    assert.deepEqual(endpointsDumped(), [assignment(8002)]);
    const endpoint = mesh.snapshot.clusters['c']!.loadAssignment!.localities[0]!.endpoints[1]!;
    assert.deepEqual(
      { id: endpoint.id, weight: endpoint.weight, healthStatus: endpoint.healthStatus, locality: endpoint.locality, localityWeight: endpoint.localityWeight, metadata: endpoint.metadata },
      { id: '10.0.0.2:8002', weight: 2, healthStatus: 'HEALTHY', locality: { region: 'us-east1', zone: 'us-east1-b', subZone: '' }, localityWeight: 10, metadata: { istio: { workload: 'w2', canary: false, list: [2, 'x', null] } } },
    );
  } finally {
    await mesh.close();
    await plane.close();
  }
});
