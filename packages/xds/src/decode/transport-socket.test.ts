// A transport socket is honoured or refused with its path, never ignored: ignoring one sends plaintext.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnapshot } from '../snapshot.js';
import { encodeResource, loadEnvoyProtos, snapshotFromAnys } from '../proto/index.js';
import { TypeUrl } from '../type-urls.js';
import { RAW_BUFFER_TYPE } from './transport-socket.js';

const TLS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const DOWNSTREAM_TLS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const ALTS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.alts.v3.Alts';

const cluster = (extra: Record<string, unknown>) => ({
  '@type': TypeUrl.Cluster,
  name: 'pay',
  load_assignment: { cluster_name: 'pay', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 443 } } } }] }] },
  ...extra,
});

const listener = (chain: Record<string, unknown>) => ({
  '@type': TypeUrl.Listener,
  name: 'in',
  filter_chains: [{
    filters: [{
      name: 'envoy.filters.network.http_connection_manager',
      typed_config: {
        '@type': TypeUrl.HttpConnectionManager,
        stat_prefix: 'in',
        route_config: { virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'pay' } }] }] },
        http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }],
      },
    }],
    ...chain,
  }],
});

function errorsOf(resources: unknown[]): { path: string; message: string }[] {
  const result = buildSnapshot(resources);
  return result.ok ? [] : [...result.errors];
}

describe('transport sockets xmesh does not honour are refused with their path', () => {
  it('another transport socket (ALTS), by type URL and by name', () => {
    assert.deepEqual(errorsOf([cluster({ transport_socket: { name: 'envoy.transport_sockets.alts', typed_config: { '@type': ALTS_TYPE } } })]).map((e) => e.path), ['[0].transport_socket.typed_config.@type']);
    const byName = errorsOf([cluster({ transport_socket: { name: 'envoy.transport_sockets.alts' } })]);
    assert.deepEqual(byName.map((e) => e.path), ['[0].transport_socket.name']);
    assert.match(byName[0]!.message, /not supported.*never ignored/);
  });

  it('TLS by name only (no context to honour)', () => {
    const errors = errorsOf([cluster({ transport_socket: { name: 'envoy.transport_sockets.tls' } })]);
    assert.deepEqual(errors.map((e) => e.path), ['[0].transport_socket.typed_config']);
  });

  it('a DownstreamTlsContext on a cluster, an UpstreamTlsContext on a filter chain', () => {
    assert.deepEqual(errorsOf([cluster({ transport_socket: { name: 'tls', typed_config: { '@type': DOWNSTREAM_TLS_TYPE } } })]).map((e) => e.path), ['[0].transport_socket.typed_config.@type']);
    assert.deepEqual(errorsOf([listener({ transport_socket: { name: 'tls', typed_config: { '@type': TLS_TYPE } } }), cluster({})]).map((e) => e.path), ['[0].filter_chains[0].transport_socket.typed_config.@type']);
  });

  it('transport_socket_matches with an unsupported socket', () => {
    const errors = errorsOf([cluster({
      transport_socket_matches: [
        { name: 'alts', match: { tlsMode: 'alts' }, transport_socket: { name: 'alts', typed_config: { '@type': ALTS_TYPE } } },
        { name: 'tlsMode-disabled', match: {}, transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': RAW_BUFFER_TYPE } } },
      ],
    })]);
    assert.deepEqual(errors.map((e) => e.path), ['[0].transport_socket_matches[0].transport_socket.typed_config.@type']);
  });

  it('the same, from protobuf bytes (the ADS path)', () => {
    const protos = loadEnvoyProtos();
    const any = encodeResource(protos, cluster({ transport_socket: { name: 'envoy.transport_sockets.alts' } }));
    const result = snapshotFromAnys(protos, [any]);
    assert.deepEqual(!result.ok && result.errors.map((e) => e.path), ['[0].transport_socket.name']);
  });

  it('a socket with no name', () => {
    const errors = errorsOf([cluster({ transport_socket: {} })]);
    assert.deepEqual(errors.map((e) => e.path), ['[0].transport_socket.name']);
  });
});

describe('raw_buffer is accepted (plaintext, as asked)', () => {
  it('by name, by type URL, in matches and on a filter chain; never listed as ignored', () => {
    const result = buildSnapshot([
      cluster({
        transport_socket: { name: 'envoy.transport_sockets.raw_buffer' },
        transport_socket_matches: [{ name: 'plain', match: { tlsMode: 'disabled' }, transport_socket: { name: 'raw', typed_config: { '@type': RAW_BUFFER_TYPE } } }],
      }),
      listener({ transport_socket: { name: 'raw_buffer' } }),
    ]);
    assert.equal(result.ok, true, JSON.stringify(!result.ok && result.errors));
    assert.deepEqual(result.ok && result.snapshot.ignored.filter((p) => p.includes('transport_socket')), []);
  });

  it('from protobuf bytes', () => {
    const protos = loadEnvoyProtos();
    const any = encodeResource(protos, cluster({ transport_socket: { name: 'raw', typed_config: { '@type': RAW_BUFFER_TYPE } } }));
    const result = snapshotFromAnys(protos, [any]);
    assert.equal(result.ok, true, JSON.stringify(!result.ok && result.errors));
  });
});
