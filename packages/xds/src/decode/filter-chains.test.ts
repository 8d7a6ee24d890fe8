// A listener's filter chains: one route table, secured per transport_protocol (Envoy's tls_inspector shape).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnapshot } from '../snapshot.js';
import { TypeUrl } from '../type-urls.js';

const hcm = (statPrefix = 'in') => ({
  name: 'envoy.filters.network.http_connection_manager',
  typed_config: {
    '@type': TypeUrl.HttpConnectionManager, stat_prefix: statPrefix,
    route_config: { virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] }] },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }],
  },
});
const tlsSocket = {
  name: 'envoy.transport_sockets.tls',
  typed_config: { '@type': TypeUrl.DownstreamTlsContext, common_tls_context: { tls_certificates: [{ certificate_chain: { filename: '/c' }, private_key: { filename: '/k' } }] } },
};
const cluster = { '@type': TypeUrl.Cluster, name: 'c', load_assignment: { cluster_name: 'c', endpoints: [] } };
const listener = (extra: Record<string, unknown>) => ({ '@type': TypeUrl.Listener, name: 'in', ...extra });

function downstreamOf(extra: Record<string, unknown>) {
  const result = buildSnapshot([listener(extra), cluster]);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  return result.snapshot.listeners['in']!.chains;
}

function errorsOf(extra: Record<string, unknown>): string[] {
  const result = buildSnapshot([listener(extra), cluster]);
  return result.ok ? [] : result.errors.map((e) => `${e.path}: ${e.message}`);
}

describe('filter chains and downstream TLS', () => {
  it('one plaintext chain: nothing to secure (as before)', () => {
    assert.equal(downstreamOf({ filter_chains: [{ filters: [hcm()] }] }), undefined);
  });

  it('one TLS chain: TLS only; its transport_socket_connect_timeout bounds the handshake', () => {
    const d = downstreamOf({ filter_chains: [{ filters: [hcm()], transport_socket: tlsSocket, transport_socket_connect_timeout: '2s' }] });
    assert.equal(d?.plaintext, false);
    assert.equal(d?.handshakeTimeoutMs, 2000);
    assert.equal(d?.tls?.requireClientCertificate, false);
  });

  it('permissive: a tls chain and a raw_buffer chain (or a default chain) on one listener', () => {
    for (const chains of [
      { filter_chains: [{ filter_chain_match: { transport_protocol: 'tls' }, filters: [hcm()], transport_socket: tlsSocket }, { filter_chain_match: { transport_protocol: 'raw_buffer' }, filters: [hcm()] }] },
      { filter_chains: [{ filter_chain_match: { transport_protocol: 'tls' }, filters: [hcm()], transport_socket: tlsSocket }], default_filter_chain: { filters: [hcm()] } },
    ]) {
      const d = downstreamOf(chains);
      assert.equal(d?.plaintext, true);
      assert.ok(d?.tls);
      assert.equal(d?.handshakeTimeoutMs, 15_000);
    }
  });

  it('refuses chains that differ in routes, that are not told apart, or that contradict their protocol', () => {
    assert.match(errorsOf({ filter_chains: [{ filter_chain_match: { transport_protocol: 'tls' }, filters: [hcm()], transport_socket: tlsSocket }, { filter_chain_match: { transport_protocol: 'raw_buffer' }, filters: [hcm('other')] }] })[0]!, /filter_chains\[1\]\.filters\[0\]\.typed_config: must be the same/);
    assert.match(errorsOf({ filter_chains: [{ filter_chain_match: { transport_protocol: 'raw_buffer' }, filters: [hcm()], transport_socket: tlsSocket }] })[0]!, /cannot terminate TLS/);
    assert.match(errorsOf({ filter_chains: [{ filter_chain_match: { transport_protocol: 'tls' }, filters: [hcm()] }] })[0]!, /TLS passthrough is not supported/);
    assert.match(errorsOf({ filter_chains: [{ filter_chain_match: { transport_protocol: 'tls', server_names: ['a'] }, filters: [hcm()], transport_socket: tlsSocket }, { filter_chain_match: { transport_protocol: 'raw_buffer' }, filters: [hcm()] }] })[0]!, /server_names: is not supported/);
    assert.deepEqual(errorsOf({ filter_chains: [{ filter_chain_match: { server_names: ['a'] }, filters: [hcm()] }] }), [], 'a lone chain: other match fields ignored, as before');
  });
});
