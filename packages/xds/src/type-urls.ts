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
  Rbac: `${P}envoy.extensions.filters.http.rbac.v3.RBAC`,
  RbacPerRoute: `${P}envoy.extensions.filters.http.rbac.v3.RBACPerRoute`,
  ExtAuthz: `${P}envoy.extensions.filters.http.ext_authz.v3.ExtAuthz`,
  ExtAuthzPerRoute: `${P}envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute`,
  Cors: `${P}envoy.extensions.filters.http.cors.v3.Cors`,
  CorsPolicy: `${P}envoy.extensions.filters.http.cors.v3.CorsPolicy`,
  Csrf: `${P}envoy.extensions.filters.http.csrf.v3.CsrfPolicy`,
  HealthCheckFilter: `${P}envoy.extensions.filters.http.health_check.v3.HealthCheck`,
  GrpcHttp1Bridge: `${P}envoy.extensions.filters.http.grpc_http1_bridge.v3.Config`,
  Buffer: `${P}envoy.extensions.filters.http.buffer.v3.Buffer`,
  BufferPerRoute: `${P}envoy.extensions.filters.http.buffer.v3.BufferPerRoute`,
  Compressor: `${P}envoy.extensions.filters.http.compressor.v3.Compressor`,
  CompressorPerRoute: `${P}envoy.extensions.filters.http.compressor.v3.CompressorPerRoute`,
  GzipCompressor: `${P}envoy.extensions.compression.gzip.compressor.v3.Gzip`,
  BrotliCompressor: `${P}envoy.extensions.compression.brotli.compressor.v3.Brotli`,
  ZstdCompressor: `${P}envoy.extensions.compression.zstd.compressor.v3.Zstd`,
  Decompressor: `${P}envoy.extensions.filters.http.decompressor.v3.Decompressor`,
  GzipDecompressor: `${P}envoy.extensions.compression.gzip.decompressor.v3.Gzip`,
  BrotliDecompressor: `${P}envoy.extensions.compression.brotli.decompressor.v3.Brotli`,
  ZstdDecompressor: `${P}envoy.extensions.compression.zstd.decompressor.v3.Zstd`,
  TcpProxy: `${P}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`,
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
