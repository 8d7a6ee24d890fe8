/**
 * The one snapshot the equivalence tests drive in every mode: a weighted split 90/10, a header
 * route to the canary, a flaky route with a retry policy, and a rate-limited route.
 */
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const LOCAL_RATELIMIT = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

/** Tokens the rate-limited route grants before refusing (no refill during a test). */
export const RATE_LIMIT_TOKENS = 500;
/** Retries the flaky route allows per call. */
export const NUM_RETRIES = 2;

export function equivalenceConfig(addresses: { stable: string; canary: string; flaky: string }): object {
  const cluster = (name: string, address: string, extra: object = {}) => {
    const i = address.lastIndexOf(':');
    return {
      name,
      type: 'STATIC',
      connect_timeout: '1s',
      http2_protocol_options: {},
      load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: address.slice(0, i), port_value: Number(address.slice(i + 1)) } } } }] }] },
      ...extra,
    };
  };
  const header = (name: string, exact: string) => [{ name, string_match: { exact } }];
  return {
    static_resources: {
      listeners: [{
        name: 'outbound',
        address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
        filter_chains: [{
          filters: [{
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': HCM,
              stat_prefix: 'outbound',
              route_config: {
                name: 'outbound',
                virtual_hosts: [{
                  name: 'echo',
                  domains: ['*'],
                  routes: [
                    {
                      name: 'limited',
                      match: { prefix: '/', headers: header('x-route', 'limited') },
                      route: { cluster: 'stable' },
                      typed_per_filter_config: {
                        'envoy.filters.http.local_ratelimit': {
                          '@type': LOCAL_RATELIMIT,
                          stat_prefix: 'limited',
                          token_bucket: { max_tokens: RATE_LIMIT_TOKENS, tokens_per_fill: RATE_LIMIT_TOKENS, fill_interval: '3600s' },
                          filter_enabled: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
                          filter_enforced: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
                        },
                      },
                    },
                    {
                      name: 'flaky',
                      match: { prefix: '/', headers: header('x-route', 'flaky') },
                      route: { cluster: 'flaky', retry_policy: { retry_on: 'unavailable', num_retries: NUM_RETRIES, retry_back_off: { base_interval: '0.002s', max_interval: '0.010s' } } },
                    },
                    { name: 'canary-header', match: { prefix: '/', headers: header('x-canary', 'yes') }, route: { cluster: 'canary' } },
                    { name: 'split', match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'stable', weight: 90 }, { name: 'canary', weight: 10 }] } } },
                  ],
                }],
              },
              http_filters: [
                { name: 'envoy.filters.http.local_ratelimit', typed_config: { '@type': LOCAL_RATELIMIT, stat_prefix: 'outbound_rl' } },
                { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER } },
              ],
            },
          }],
        }],
      }],
      clusters: [
        cluster('stable', addresses.stable),
        cluster('canary', addresses.canary),
        cluster('flaky', addresses.flaky, { circuit_breakers: { thresholds: [{ priority: 'DEFAULT', max_retries: 10000 }] } }),
      ],
    },
  };
}
