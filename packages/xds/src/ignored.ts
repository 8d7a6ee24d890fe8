/**
 * Every Envoy field xmesh accepts and knowingly does not act on, with the reason: one list for docs and tools.
 * The decoders ignore from these tables; anything neither decoded nor listed is rejected as unsupported.
 */
import { IGNORED_FIELDS, IGNORED_CONTENTS, type IgnoredField } from './decode/ignored-fields.js';
import { FAULT_IGNORED } from './decode/fault.js';
import { ROUTER_IGNORED } from './decode/http-filters.js';
import { FILTER_CHAIN_IGNORED, HCM_IGNORED, LISTENER_IGNORED } from './decode/listener.js';
import { TRACING_IGNORED, ZIPKIN_IGNORED } from './decode/tracing.js';
import { LOCAL_RATELIMIT_IGNORED } from './decode/local-ratelimit.js';
import { DOWNSTREAM_PROTOCOL_IGNORED } from './decode/protocol-options.js';
import { RATE_LIMIT_IGNORED } from './decode/rate-limits.js';
import { RETRY_POLICY_IGNORED } from './decode/retry-policy.js';
import { ROUTE_ACTION_IGNORED } from './decode/route-action.js';
import { HEDGE_POLICY_IGNORED } from './decode/hedge-policy.js';
import { ROUTE_CONFIG_IGNORED, ROUTE_IGNORED, ROUTE_TRACING_IGNORED, VIRTUAL_HOST_IGNORED } from './decode/route.js';
import { API_CONFIG_SOURCE_IGNORED, CONFIG_SOURCE_IGNORED, ENVOY_GRPC_IGNORED, GOOGLE_GRPC_IGNORED, GRPC_SERVICE_IGNORED, PATH_CONFIG_SOURCE_IGNORED } from './dynamic-resources.js';
import { TLS_IGNORED } from './decode/tls-context.js';
import { BOOTSTRAP_IGNORED } from './snapshot.js';
import { FILTER_CHAIN_MATCH_IGNORED } from './decode/filter-chains.js';
import { HEALTH_CHECK_IGNORED } from './decode/health-check.js';
import { RBAC_IGNORED, RBAC_RULES_IGNORED } from './decode/rbac.js';
import { EXT_AUTHZ_ENVOY_GRPC_IGNORED, EXT_AUTHZ_IGNORED, EXT_AUTHZ_RESPONSE_IGNORED } from './decode/ext-authz.js';
import { TCP_PROXY_IGNORED, TUNNELING_IGNORED } from './decode/tcp-proxy.js';

export type { IgnoredField };

const TABLES: readonly [string, Readonly<Record<string, string>>][] = [
  ['envoy.config.bootstrap.v3.Bootstrap', BOOTSTRAP_IGNORED],
  ['envoy.config.listener.v3.Listener', LISTENER_IGNORED],
  ['envoy.config.listener.v3.FilterChain', FILTER_CHAIN_IGNORED],
  ['envoy.config.listener.v3.FilterChainMatch', FILTER_CHAIN_MATCH_IGNORED],
  ['envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', HCM_IGNORED],
  ['envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.Tracing', TRACING_IGNORED],
  ...DOWNSTREAM_PROTOCOL_IGNORED,
  ['envoy.config.trace.v3.ZipkinConfig', ZIPKIN_IGNORED],
  ['envoy.extensions.filters.http.router.v3.Router', ROUTER_IGNORED],
  ['envoy.config.route.v3.RouteConfiguration', ROUTE_CONFIG_IGNORED],
  ['envoy.config.route.v3.VirtualHost', VIRTUAL_HOST_IGNORED],
  ['envoy.config.route.v3.Route', ROUTE_IGNORED],
  ['envoy.config.route.v3.Tracing', ROUTE_TRACING_IGNORED],
  ['envoy.config.route.v3.RouteAction', ROUTE_ACTION_IGNORED],
  ['envoy.config.route.v3.RetryPolicy', RETRY_POLICY_IGNORED],
  ['envoy.config.route.v3.HedgePolicy', HEDGE_POLICY_IGNORED],
  ['envoy.config.route.v3.RateLimit', RATE_LIMIT_IGNORED],
  ['envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit', LOCAL_RATELIMIT_IGNORED],
  ['envoy.extensions.filters.http.fault.v3.HTTPFault', FAULT_IGNORED],
  ['envoy.extensions.filters.http.rbac.v3.RBAC', RBAC_IGNORED],
  ['envoy.config.rbac.v3.RBAC', RBAC_RULES_IGNORED],
  ['envoy.extensions.filters.http.ext_authz.v3.ExtAuthz', EXT_AUTHZ_IGNORED],
  ['envoy.extensions.filters.http.ext_authz.v3.AuthorizationResponse', EXT_AUTHZ_RESPONSE_IGNORED],
  ['envoy.config.core.v3.GrpcService.EnvoyGrpc (ext_authz)', EXT_AUTHZ_ENVOY_GRPC_IGNORED],
  ['envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', TCP_PROXY_IGNORED],
  ['envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.TunnelingConfig', TUNNELING_IGNORED],
  ['envoy.config.core.v3.ConfigSource', CONFIG_SOURCE_IGNORED],
  ['envoy.config.core.v3.PathConfigSource', PATH_CONFIG_SOURCE_IGNORED],
  ['envoy.config.core.v3.ApiConfigSource', API_CONFIG_SOURCE_IGNORED],
  ['envoy.config.core.v3.GrpcService', GRPC_SERVICE_IGNORED],
  ['envoy.config.core.v3.GrpcService.EnvoyGrpc', ENVOY_GRPC_IGNORED],
  ['envoy.config.core.v3.GrpcService.GoogleGrpc', GOOGLE_GRPC_IGNORED],
  ['envoy.config.core.v3.HealthCheck', HEALTH_CHECK_IGNORED],
];

export const IGNORED_ENVOY_FIELDS: readonly IgnoredField[] = Object.freeze([
  ...TABLES.flatMap(([message, table]) => Object.entries(table).map(([field, reason]) => ({ message, field, reason }))),
  ...IGNORED_FIELDS,
  ...IGNORED_CONTENTS,
  ...TLS_IGNORED.map(([message, field, reason]) => ({ message, field, reason })),
]);
