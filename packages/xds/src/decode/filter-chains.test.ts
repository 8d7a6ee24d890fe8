// A listener's filter chains: each with its match, its TLS and its HCM or tcp_proxy; the chain a connection takes,
// in the order of Envoy's filter chain manager (filter_chain_manager_impl.cc); duplicate matches refused as Envoy
// refuses them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnapshot } from '../snapshot.js';
import { TypeUrl } from '../type-urls.js';
import { selectFilterChain } from '../filter-chain-select.js';
import type { ConnectionFacts, ListenerFilterChain } from '../filter-model.js';

const hcm = (statPrefix = 'in', extra: Record<string, unknown> = {}) => ({
  name: 'envoy.filters.network.http_connection_manager',
  typed_config: {
    '@type': TypeUrl.HttpConnectionManager, stat_prefix: statPrefix,
    route_config: { virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] }] },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }],
    ...extra,
  },
});
const tcp = (cluster = 'c') => ({ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TypeUrl.TcpProxy, stat_prefix: 'tcp', cluster } });
const tlsSocket = {
  name: 'envoy.transport_sockets.tls',
  typed_config: { '@type': TypeUrl.DownstreamTlsContext, common_tls_context: { tls_certificates: [{ certificate_chain: { filename: '/c' }, private_key: { filename: '/k' } }] } },
};
const cluster = { '@type': TypeUrl.Cluster, name: 'c', load_assignment: { cluster_name: 'c', endpoints: [] } };
const listener = (extra: Record<string, unknown>) => ({ '@type': TypeUrl.Listener, name: 'in', address: { socket_address: { address: '0.0.0.0', port_value: 8080 } }, ...extra });

function built(extra: Record<string, unknown>) {
  const result = buildSnapshot([listener(extra), cluster]);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  return result.snapshot;
}

function errorsOf(extra: Record<string, unknown>): string[] {
  const result = buildSnapshot([listener(extra), cluster]);
  return result.ok ? [] : result.errors.map((e) => `${e.path}: ${e.message}`);
}

const facts = (over: Partial<ConnectionFacts> = {}): ConnectionFacts => ({
  localAddress: '10.0.0.1', localPort: 8080, remoteAddress: '10.0.0.9', remotePort: 40000, serverName: '', transportProtocol: 'raw_buffer', applicationProtocols: [], ...over,
});

const pick = (chains: readonly ListenerFilterChain[], over: Partial<ConnectionFacts> = {}) => selectFilterChain(chains, facts(over))?.name;

describe('filter chains', () => {
  it('one plaintext chain: its HCM is the listener\'s own; TLS chains carry their context and handshake timeout', () => {
    const plain = built({ filter_chains: [{ filters: [hcm()] }] }).listeners.in!;
    assert.deepEqual(plain.filterChains?.map((c) => [c.name, c.tls, c.network.kind]), [['filter_chains[0]', undefined, 'http']]);
    const tls = built({ filter_chains: [{ filters: [hcm()], transport_socket: tlsSocket, transport_socket_connect_timeout: '2s' }] }).listeners.in!;
    assert.equal(tls.filterChains?.[0]?.handshakeTimeoutMs, 2000);
    assert.equal(tls.filterChains?.[0]?.tls?.requireClientCertificate, false);
  });

  it('chains with their own HCMs: the main chain (plaintext from loopback, no SNI) is the listener\'s; the others route as <listener>/<chain>', () => {
    const s = built({
      filter_chains: [
        { name: 'api', filter_chain_match: { server_names: ['api.example.com'] }, filters: [hcm('api')], transport_socket: tlsSocket },
        { name: 'plain', filters: [hcm('plain')] },
        { name: 'db', filter_chain_match: { destination_port: 5432 }, filters: [tcp()] },
      ],
    });
    const l = s.listeners.in!;
    assert.equal(l.statPrefix, 'plain', 'the main chain\'s HCM');
    const api = l.filterChains?.find((c) => c.name === 'api');
    assert.equal(api?.network.kind === 'http' ? api.network.listener.name : '', 'in/api');
    assert.equal(api?.network.kind === 'http' ? api.network.listener.routeConfigName : '', 'in/api (inline)');
    assert.ok(s.routeConfigs['in/api (inline)']);
    const db = l.filterChains?.find((c) => c.name === 'db');
    assert.deepEqual(db?.network.kind === 'tcp_proxy' ? db.network.tcpProxy : undefined, { statPrefix: 'tcp', clusters: [{ name: 'c', weight: 1 }], idleTimeoutMs: 3_600_000, maxConnectAttempts: 1, maxDownstreamConnectionDurationMs: 0 });
  });

  it('selection follows Envoy\'s order: port, destination IP, server name, transport protocol, ALPN, source type, source IP, source port; the default chain last', () => {
    const chains = built({
      filter_chains: [
        { name: 'port-9000', filter_chain_match: { destination_port: 9000 }, filters: [tcp()] },
        { name: 'dest-10.0.0.0/24', filter_chain_match: { prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 24 }] }, filters: [tcp()] },
        { name: 'dest-10.0.0.1/32', filter_chain_match: { prefix_ranges: [{ address_prefix: '10.0.0.1', prefix_len: 32 }], server_names: ['a.example.com', '*.example.com', '*.deep.example.com'] }, filters: [tcp()] },
        { name: 'exact-sni', filter_chain_match: { prefix_ranges: [{ address_prefix: '10.0.0.1', prefix_len: 32 }], server_names: ['b.example.com'], transport_protocol: 'tls' }, filters: [tcp()] },
        { name: 'h2', filter_chain_match: { prefix_ranges: [{ address_prefix: '10.0.0.1', prefix_len: 32 }], application_protocols: ['h2'] }, filters: [tcp()] },
        { name: 'local', filter_chain_match: { prefix_ranges: [{ address_prefix: '10.0.0.1', prefix_len: 32 }], source_type: 'SAME_IP_OR_LOOPBACK' }, filters: [tcp()] },
        { name: 'from-10.0.0.9', filter_chain_match: { prefix_ranges: [{ address_prefix: '10.0.0.1', prefix_len: 32 }], source_prefix_ranges: [{ address_prefix: '10.0.0.9', prefix_len: 32 }] }, filters: [tcp()] },
        { name: 'port-40000', filter_chain_match: { prefix_ranges: [{ address_prefix: '10.0.0.1', prefix_len: 32 }], source_prefix_ranges: [{ address_prefix: '10.0.0.9', prefix_len: 32 }], source_ports: [40000] }, filters: [tcp()] },
        { name: 'any-10.0.0.1', filter_chain_match: { prefix_ranges: [{ address_prefix: '10.0.0.1', prefix_len: 32 }] }, filters: [tcp()] },
      ],
      default_filter_chain: { filters: [tcp()] },
    }).listeners.in!.filterChains!;
    assert.equal(pick(chains, { localPort: 9000 }), 'port-9000');
    assert.equal(pick(chains, { localAddress: '10.0.0.7' }), 'dest-10.0.0.0/24');
    assert.equal(pick(chains, { localAddress: '192.168.1.1' }), 'default_filter_chain', 'no chain for that address');
    assert.equal(pick(chains, { serverName: 'a.example.com' }), 'dest-10.0.0.1/32');
    assert.equal(pick(chains, { serverName: 'x.deep.example.com' }), 'dest-10.0.0.1/32', 'the longest wildcard suffix');
    assert.equal(pick(chains, { serverName: 'b.example.com', transportProtocol: 'tls' }), 'exact-sni');
    assert.equal(pick(chains, { serverName: 'b.example.com', transportProtocol: 'raw_buffer' }), 'default_filter_chain', 'no going back to other server names');
    assert.equal(pick(chains, { applicationProtocols: ['http/1.1', 'h2'] }), 'h2');
    assert.equal(pick(chains, { remoteAddress: '10.0.0.1' }), 'local', 'same IP');
    assert.equal(pick(chains, { remoteAddress: '127.0.0.1' }), 'local', 'loopback');
    assert.equal(pick(chains), 'port-40000');
    assert.equal(pick(chains, { remotePort: 1234 }), 'from-10.0.0.9');
    assert.equal(pick(chains, { remoteAddress: '10.0.0.8' }), 'any-10.0.0.1');
  });

  it('refuses chains that match the same connections, contradict their protocol, or name clusters that do not exist', () => {
    assert.match(errorsOf({ filter_chains: [{ filter_chain_match: { server_names: ['a', 'b'] }, filters: [hcm()], transport_socket: tlsSocket }, { filter_chain_match: { server_names: ['b'] }, filters: [hcm()], transport_socket: tlsSocket }] })[0]!, /multiple filter chains with the same matching rules: "filter_chains\[0\]" and "filter_chains\[1\]" both match server_name b/);
    assert.match(errorsOf({ filter_chains: [{ filter_chain_match: { transport_protocol: 'raw_buffer' }, filters: [hcm()], transport_socket: tlsSocket }] })[0]!, /cannot terminate TLS/);
    assert.match(errorsOf({ filter_chains: [{ filter_chain_match: { transport_protocol: 'tls' }, filters: [hcm()] }] })[0]!, /TLS passthrough needs tcp_proxy/);
    assert.deepEqual(errorsOf({ filter_chains: [{ filter_chain_match: { transport_protocol: 'tls' }, filters: [tcp()] }] }), [], 'TLS passthrough to tcp_proxy');
    assert.match(errorsOf({ filter_chains: [{ filters: [tcp('nope')] }] })[0]!, /cluster "nope" is not defined/);
    assert.match(errorsOf({ filter_chains: [{ filters: [hcm(), tcp()] }] })[0]!, /one terminal network filter/);
    assert.match(errorsOf({ filter_chains: [{ filter_chain_match: { server_names: ['a*.example.com'] }, filters: [hcm()] }] })[0]!, /only a leading "\*\." wildcard/);
  });

  it('every HTTP chain protects the listener\'s connections as its main chain does (one set of downstream protections)', () => {
    const errors = errorsOf({ filter_chains: [
      { filters: [hcm('a')] },
      { filter_chain_match: { server_names: ['b'] }, transport_socket: tlsSocket, filters: [hcm('b', { stream_idle_timeout: '5s' })] },
    ] });
    assert.match(errors[0]!, /^\[0\]\.filter_chains\[1\]: .*same downstream protections/);
  });
});
