// One resource validated on its own, by a gRPC client's rules or Envoy's: what grpc-node's own test
// framework builds is valid for a gRPC client, and each rule gRPC clients or Envoy add is a NACK with its path.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnapshot, decodeResource, encodeResource, loadEnvoyProtos, TypeUrl, validateResource, type ClientRules } from './index.js';
import { frameworkCluster, frameworkEndpoints, frameworkListener, frameworkRouteConfig } from '../../../test/xds/grpc-node-framework.js';

const protos = loadEnvoyProtos();
/** A resource as an ADS client receives it: through its protobuf bytes. */
const overTheWire = (resource: Record<string, unknown>) => decodeResource(protos, encodeResource(protos, resource)) as Record<string, unknown>;
const errorsOf = (resource: Record<string, unknown>, rules: ClientRules) => validateResource(overTheWire(resource), { rules });
const paths = (resource: Record<string, unknown>, rules: ClientRules) => errorsOf(resource, rules).map((e) => `${e.path}: ${e.message}`);

const FRAMEWORK = [
  frameworkListener('listener1', 'route1'),
  frameworkRouteConfig('route1', [{ cluster: 'cluster1' }, { weightedClusters: [{ cluster: 'cluster1', weight: 70 }, { cluster: 'cluster2', weight: 30 }] }]),
  frameworkCluster('cluster1', 'endpoint1'),
  frameworkEndpoints('endpoint1', [{ locality: { region: 'region1' }, ports: [50051, 50052] }, { locality: { region: 'region2' }, ports: [50053], priority: 1 }]),
];

const cluster = (extra: Record<string, unknown>) => ({ ...frameworkCluster('c', 'e'), ...extra });
const endpoints = (extra: Record<string, unknown>) => ({ ...frameworkEndpoints('e', [{ locality: { zone: 'a' }, ports: [1] }]), ...extra });
const routes = (vh: Record<string, unknown>) => ({ '@type': TypeUrl.RouteConfiguration, name: 'r', virtual_hosts: [{ domains: ['*'], routes: [{ match: { prefix: '' }, route: { cluster: 'c' } }], ...vh }] });
const hcm = (extra: Record<string, unknown>) => ({
  '@type': TypeUrl.Listener,
  name: 'l',
  api_listener: { api_listener: { '@type': TypeUrl.HttpConnectionManager, rds: { route_config_name: 'r', config_source: { ads: {} } }, ...extra } },
});
const ROUTER = { name: 'router', typed_config: { '@type': TypeUrl.Router } };

describe('validateResource', () => {
  it("accepts grpc-node's test-framework resources, unchanged, by a gRPC client's rules, and they build into a snapshot", () => {
    for (const resource of FRAMEWORK) assert.deepEqual(paths(resource, 'grpc'), [], String(resource['@type']));
    const built = buildSnapshot([...FRAMEWORK.map(overTheWire), overTheWire(frameworkCluster('cluster2', 'endpoint2')), overTheWire(frameworkEndpoints('endpoint2', [{ locality: {}, ports: [1] }]))], { rules: 'grpc' });
    assert.ok(built.ok, built.ok ? '' : JSON.stringify(built.errors));
    const listener = built.snapshot.listeners['listener1']!;
    assert.equal(listener.statPrefix, '');
    assert.deepEqual(listener.httpFilters, []);
    const vh = built.snapshot.routeConfigs['route1']!.virtualHosts[0]!;
    assert.equal(vh.name, 'virtual_host_0');
    assert.deepEqual(vh.routes[0]!.action.hashPolicy, [{ kind: 'channel_id', terminal: false }]);
  });

  it("refuses by Envoy's rules what only a gRPC client accepts: unnamed virtual hosts and the io.grpc.channel_id hash policy", () => {
    assert.deepEqual(paths(FRAMEWORK[1]!, 'envoy'), [
      'virtual_hosts[0].name: is required',
      'virtual_hosts[0].routes[0].route.hash_policy[0].filter_state: is not supported: filter state is not available (only a gRPC client\'s "io.grpc.channel_id"); hash on a header, cookie, source IP or query parameter',
      'virtual_hosts[0].routes[1].route.hash_policy[0].filter_state: is not supported: filter state is not available (only a gRPC client\'s "io.grpc.channel_id"); hash on a header, cookie, source IP or query parameter',
    ]);
    // A listener with an api_listener is a gRPC client's whoever reads it.
    assert.deepEqual(paths(FRAMEWORK[0]!, 'envoy'), []);
  });

  it('an api_listener: the router is needed only when filters are listed, names are unique, routes come from ADS, no listener filters', () => {
    assert.deepEqual(paths(hcm({ http_filters: [ROUTER] }), 'grpc'), []);
    assert.deepEqual(paths(hcm({ http_filters: [{ name: 'fault', typed_config: { '@type': TypeUrl.HttpFault } }] }), 'grpc'), [
      `api_listener.api_listener.http_filters: the router (${TypeUrl.Router}) must be the last filter, and there is none`,
    ]);
    assert.deepEqual(paths(hcm({ http_filters: [{ ...ROUTER, name: 'f' }, { name: 'f', typed_config: { '@type': TypeUrl.Router } }] }), 'grpc'), [
      'api_listener.api_listener.http_filters[1].name: duplicate HTTP filter name "f" (first at api_listener.api_listener.http_filters[0])',
      'api_listener.api_listener.http_filters[0]: the router must be the last filter',
    ]);
    assert.deepEqual(paths(hcm({ rds: { route_config_name: 'r', config_source: { path_config_source: { path: '/etc/r.yaml' } } } }), 'grpc'), [
      'api_listener.api_listener.rds.config_source: must be ads or self: a gRPC client takes its routes from its ADS server (gRFC A27)',
    ]);
    assert.deepEqual(paths({ ...hcm({}), listener_filters: [{ name: 'envoy.filters.listener.tls_inspector' }] }, 'grpc'), [
      'listener_filters: must be empty on an api_listener (a gRPC client runs no listener filters)',
    ]);
  });

  it('a filter-chain listener keeps Envoy\'s rules under a gRPC client too', () => {
    const chain = {
      '@type': TypeUrl.Listener,
      name: 'ingress',
      filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: { '@type': TypeUrl.HttpConnectionManager, rds: { route_config_name: 'r' } } }] }],
    };
    assert.deepEqual(paths(chain, 'grpc'), [
      'filter_chains[0].filters[0].typed_config.stat_prefix: is required',
      `filter_chains[0].filters[0].typed_config.http_filters: the router (${TypeUrl.Router}) must be the last filter, and there is none`,
    ]);
  });

  it('clusters: an EDS cluster needs eds_cluster_config (Envoy and gRPC); a gRPC client needs its eds_config and lrs_server to be ADS', () => {
    const noConfig = { '@type': TypeUrl.Cluster, name: 'c', type: 'EDS', lb_policy: 'ROUND_ROBIN' };
    for (const rules of ['grpc', 'envoy'] as const) {
      assert.deepEqual(paths(noConfig, rules), ['eds_cluster_config: is required for an EDS cluster (Envoy: "cannot create an EDS cluster without an EDS config")']);
    }
    assert.deepEqual(paths(cluster({ eds_cluster_config: { service_name: 'e' } }), 'grpc'), ['eds_cluster_config.eds_config: must be ads or self: a gRPC client takes endpoints from its ADS server (gRFC A27)']);
    assert.deepEqual(paths(cluster({ eds_cluster_config: { service_name: 'e' } }), 'envoy'), []);
    assert.deepEqual(paths(cluster({ lrs_server: { api_config_source: { api_type: 'GRPC' } } }), 'grpc'), ['lrs_server: must be self for a gRPC client (gRFC A27)']);
    assert.deepEqual(paths(cluster({ lb_policy: 'CLUSTER_PROVIDED' }), 'grpc').map((p) => p.split(':')[0]), ['lb_policy']);
  });

  it('endpoints: IP addresses only; a gRPC client also needs each locality set, once per priority, and weights within uint32', () => {
    const named = endpoints({ endpoints: [{ locality: { zone: 'a' }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'db.local', port_value: 1 } } } }] }] });
    for (const rules of ['grpc', 'envoy'] as const) {
      assert.deepEqual(paths(named, rules), ['endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address: must be an IP address in an EDS resource, got "db.local" (Envoy and gRPC clients resolve no names for EDS endpoints)']);
    }
    const lb = (port: number) => ({ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: port } } } });
    const noLocality = endpoints({ endpoints: [{ lb_endpoints: [lb(1)] }] });
    assert.deepEqual(paths(noLocality, 'grpc'), ['endpoints[0].locality: is required by a gRPC client (gRFC A27)']);
    assert.deepEqual(paths(noLocality, 'envoy'), []);
    const twice = endpoints({ endpoints: [{ locality: { zone: 'a' }, lb_endpoints: [lb(1)] }, { locality: { zone: 'a' }, lb_endpoints: [lb(2)] }] });
    assert.deepEqual(paths(twice, 'grpc'), ['endpoints[1].locality: duplicate locality at priority 0 (first at endpoints[0].locality)']);
    const heavy = endpoints({ endpoints: [{ locality: { zone: 'a' }, load_balancing_weight: 4_000_000_000, lb_endpoints: [lb(1)] }, { locality: { zone: 'b' }, load_balancing_weight: 4_000_000_000, lb_endpoints: [lb(2)] }] });
    assert.deepEqual(paths(heavy, 'grpc'), ['endpoints: the locality weights of priority 0 sum to 8000000000, over 4294967295']);
  });

  it('routes: a gRPC client allows one leading or trailing "*" in a domain and at least one retry', () => {
    assert.deepEqual(paths(routes({ name: 'v', domains: ['*.a.com', 'b.*', 'a*b', '**'] }), 'grpc'), [
      'virtual_hosts[0].domains[2]: a gRPC client allows one "*", at the start or the end of a domain, got "a*b" (gRFC A28)',
      'virtual_hosts[0].domains[3]: a gRPC client allows one "*", at the start or the end of a domain, got "**" (gRFC A28)',
    ]);
    assert.deepEqual(paths(routes({ name: 'v', domains: ['a*b'] }), 'envoy'), []);
    assert.deepEqual(paths(routes({ name: 'v', retry_policy: { num_retries: 0 } }), 'grpc'), ['virtual_hosts[0].retry_policy.num_retries: must be at least 1 for a gRPC client (gRFC A44)']);
    assert.deepEqual(paths(routes({ name: 'v', routes: [{ match: { prefix: '' }, route: { cluster: 'c', hash_policy: [{ filter_state: { key: 'k' } }] } }] }), 'grpc'), [
      'virtual_hosts[0].routes[0].route.hash_policy[0].filter_state.key: only "io.grpc.channel_id" is supported (a gRPC client\'s channel), got "k"',
    ]);
  });

  it('secrets: validated as static_resources.secrets are (a TLS context may take them over ADS), under either rules', () => {
    const certificate = { certificate_chain: { inline_string: 'certificate' }, private_key: { inline_string: 'key' } };
    for (const rules of ['grpc', 'envoy'] as const) {
      assert.deepEqual(paths({ '@type': TypeUrl.Secret, name: 's', tls_certificate: certificate }, rules), []);
      assert.deepEqual(paths({ '@type': TypeUrl.Secret, name: 'ca', validation_context: { trusted_ca: { filename: '/etc/ca.pem' } } }, rules), []);
    }
    assert.deepEqual(paths({ '@type': TypeUrl.Secret, name: 's' }, 'grpc'), ['(root): one of tls_certificate, validation_context is required']);
    assert.deepEqual(paths({ '@type': TypeUrl.Secret, name: 's', generic_secret: { secret: { inline_string: 'x' } } }, 'grpc').map((e) => e.split(':')[0]), ['generic_secret']);
  });

  it('reports every problem of one resource with its path, and only its own (what it names is not checked)', () => {
    const errors = errorsOf({ '@type': TypeUrl.Cluster, name: 'c', type: 'EDS', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '-1s' }, 'grpc');
    assert.deepEqual(errors.map((e) => e.path).sort(), ['connect_timeout', 'eds_cluster_config', 'lb_policy']);
    // A route configuration naming clusters that are not given is valid on its own.
    assert.deepEqual(paths(frameworkRouteConfig('r', [{ cluster: 'elsewhere' }]), 'grpc'), []);
    assert.deepEqual(validateResource({ '@type': 'type.googleapis.com/x.Y' }).map((e) => e.path), ['@type']);
  });
});
