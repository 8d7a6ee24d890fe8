/** The `@type` URLs xmesh understands. One place, so decoders, the ADS client and the control plane agree. */
const P = 'type.googleapis.com/';

export const TypeUrl = {
  Listener: `${P}envoy.config.listener.v3.Listener`,
  RouteConfiguration: `${P}envoy.config.route.v3.RouteConfiguration`,
  Cluster: `${P}envoy.config.cluster.v3.Cluster`,
  ClusterLoadAssignment: `${P}envoy.config.endpoint.v3.ClusterLoadAssignment`,
  HttpConnectionManager: `${P}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
  Router: `${P}envoy.extensions.filters.http.router.v3.Router`,
  LocalRateLimit: `${P}envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit`,
  HttpFault: `${P}envoy.extensions.filters.http.fault.v3.HTTPFault`,
  FilterConfig: `${P}envoy.config.route.v3.FilterConfig`,
  HttpProtocolOptions: `${P}envoy.extensions.upstreams.http.v3.HttpProtocolOptions`,
  Secret: `${P}envoy.extensions.transport_sockets.tls.v3.Secret`,
  UpstreamTlsContext: `${P}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext`,
  DownstreamTlsContext: `${P}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`,
} as const;

export type ResourceTypeUrl =
  | typeof TypeUrl.Listener
  | typeof TypeUrl.RouteConfiguration
  | typeof TypeUrl.Cluster
  | typeof TypeUrl.ClusterLoadAssignment;

export const RESOURCE_TYPE_URLS: readonly ResourceTypeUrl[] = [
  TypeUrl.Listener,
  TypeUrl.RouteConfiguration,
  TypeUrl.Cluster,
  TypeUrl.ClusterLoadAssignment,
];
