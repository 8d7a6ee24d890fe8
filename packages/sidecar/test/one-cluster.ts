/** A bootstrap routing every request to one STATIC cluster on 127.0.0.1:`port` (HTTP/2 when `http2`). */
export function oneClusterBootstrap(cluster: string, port: number, http2: boolean): object {
  return {
    static_resources: {
      listeners: [{
        name: 'outbound',
        address: { socket_address: { address: '127.0.0.1', port_value: 15001 } },
        filter_chains: [{ filters: [{
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
            stat_prefix: 'outbound',
            route_config: { name: 'r', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster } }] }] },
            http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
          },
        }] }],
      }],
      clusters: [{
        name: cluster,
        type: 'STATIC',
        connect_timeout: '1s',
        ...(http2 ? { http2_protocol_options: {} } : {}),
        load_assignment: { cluster_name: cluster, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
      }],
    },
  };
}
