// Fields that were ignored though they change where a request goes, what is sent or whether it is
// allowed: each is now implemented (behaviour tests elsewhere) or refused here with its path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnapshot } from '../snapshot.js';
import { TypeUrl } from '../type-urls.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

function listener(extra: Record<string, unknown>, hcm: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    '@type': TypeUrl.Listener,
    name: 'l',
    address: { socket_address: { address: '0.0.0.0', port_value: 10000 } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
      '@type': HCM, stat_prefix: 'l', route_config: { name: 'r', virtual_hosts: [] },
      http_filters: [{ name: 'envoy.filters.http.router' }], ...hcm,
    } }] }],
    ...extra,
  };
}

function errorPaths(resources: unknown[]): string[] {
  const built = buildSnapshot(resources);
  return built.ok ? [] : built.errors.map((e) => e.path.replace(/^\[\d+\]\./, ''));
}

test('listener filters: the TLS and HTTP inspectors are accepted; proxy protocol and the rest are refused', () => {
  const ok = buildSnapshot([listener({ listener_filters: [{ name: 'envoy.filters.listener.tls_inspector' }, { name: 'x', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector' } }] })]);
  assert.ok(ok.ok, JSON.stringify(!ok.ok && ok.errors));
  assert.deepEqual(errorPaths([listener({ listener_filters: [{ name: 'envoy.filters.listener.tls_inspector' }, { name: 'envoy.filters.listener.proxy_protocol' }] })]), ['listener_filters[1]']);
});

test('ignore_global_conn_limit is read; HCM fields that would change what is sent or who the caller is are refused', () => {
  const built = buildSnapshot([listener({ ignore_global_conn_limit: true }, { forward_client_cert_details: 'ALWAYS_FORWARD_ONLY', preserve_external_request_id: true })]);
  assert.ok(built.ok);
  const l = built.snapshot.listeners['l']!;
  assert.deepEqual([l.ignoreGlobalConnLimit, l.forwardClientCert, l.preserveExternalRequestId], [true, 'always_forward_only', true]);
  const at = 'filter_chains[0].filters[0].typed_config';
  assert.deepEqual(errorPaths([listener({}, {
    original_ip_detection_extensions: [{ name: 'envoy.extensions.http.original_ip_detection.custom_header' }],
    proxy_status_config: {},
    typed_header_validation_config: { name: 'uhv' },
    early_header_mutation_extensions: [{ name: 'm' }],
    add_user_agent: true,
    append_x_forwarded_port: true,
    forward_client_cert_details: 'APPEND_FORWARD',
  })]).map((p) => p.replace(/^.*typed_config/, at)).sort(), [
    `${at}.add_user_agent`, `${at}.append_x_forwarded_port`, `${at}.early_header_mutation_extensions`, `${at}.forward_client_cert_details`,
    `${at}.original_ip_detection_extensions`, `${at}.proxy_status_config`, `${at}.typed_header_validation_config`,
  ]);
  assert.ok(buildSnapshot([listener({}, { add_user_agent: false, append_x_forwarded_port: false, forward_client_cert_details: 'SANITIZE' })]).ok);
});

test('clusters: listing DNS resolvers and consistent-hashing changes are refused; their defaults are ignored', () => {
  const cluster = (extra: Record<string, unknown>) => ({
    '@type': TypeUrl.Cluster, name: 'c', type: 'STRICT_DNS', load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'svc.local', port_value: 80 } } } }] }] }, ...extra,
  });
  assert.ok(buildSnapshot([cluster({ dns_resolution_config: { dns_resolver_options: { use_tcp_for_dns_lookups: true } }, common_lb_config: { consistent_hashing_lb_config: { use_hostname_for_hashing: false } } })]).ok);
  assert.deepEqual(errorPaths([cluster({
    dns_resolution_config: { resolvers: [{ socket_address: { address: '8.8.8.8', port_value: 53 } }] },
    typed_dns_resolver_config: { name: 'envoy.network.dns_resolver.cares', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig', resolvers: [{ socket_address: { address: '1.1.1.1', port_value: 53 } }] } },
    common_lb_config: { consistent_hashing_lb_config: { use_hostname_for_hashing: true, hash_balance_factor: 150 } },
  })]).sort(), [
    'common_lb_config.consistent_hashing_lb_config.hash_balance_factor',
    'common_lb_config.consistent_hashing_lb_config.use_hostname_for_hashing',
    'dns_resolution_config.resolvers',
    'typed_dns_resolver_config.typed_config.resolvers',
  ]);
});
