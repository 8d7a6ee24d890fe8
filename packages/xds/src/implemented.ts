/**
 * Every Envoy field xmesh implements (decodes and acts on), by message: the list docs/config.md prints
 * and the docs test holds against the behaviour tests (each field must drive at least one of them). A
 * field neither here nor in IGNORED_ENVOY_FIELDS is refused with its path.
 */
export interface ImplementedField {
  /** Fully qualified proto message. */
  readonly message: string;
  /** Field name, snake_case as in the proto. */
  readonly field: string;
}

const LISTENER = 'envoy.config.listener.v3.Listener';
const FILTER = 'envoy.config.listener.v3.Filter';
const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const HTTP_FILTER = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter';
const ROUTE_CONFIG = 'envoy.config.route.v3.RouteConfiguration';
const VHOST = 'envoy.config.route.v3.VirtualHost';
const ROUTE = 'envoy.config.route.v3.Route';
const MATCH = 'envoy.config.route.v3.RouteMatch';
const HEADER_MATCHER = 'envoy.config.route.v3.HeaderMatcher';
const ACTION = 'envoy.config.route.v3.RouteAction';
const WEIGHTED = 'envoy.config.route.v3.WeightedCluster.ClusterWeight';
const RETRY = 'envoy.config.route.v3.RetryPolicy';
const HEADER_OPTION = 'envoy.config.core.v3.HeaderValueOption';
const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const THRESHOLDS = 'envoy.config.cluster.v3.CircuitBreakers.Thresholds';
const OUTLIER = 'envoy.config.cluster.v3.OutlierDetection';
const CLA = 'envoy.config.endpoint.v3.ClusterLoadAssignment';
const LB_ENDPOINT = 'envoy.config.endpoint.v3.LbEndpoint';
const ENDPOINT = 'envoy.config.endpoint.v3.Endpoint';
const LOCALITY_ENDPOINTS = 'envoy.config.endpoint.v3.LocalityLbEndpoints';
const BOOTSTRAP = 'envoy.config.bootstrap.v3.Bootstrap';
const DYNAMIC = 'envoy.config.bootstrap.v3.Bootstrap.DynamicResources';
const CONFIG_SOURCE = 'envoy.config.core.v3.ConfigSource';
const LOCAL_RATELIMIT = 'envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const FAULT = 'envoy.extensions.filters.http.fault.v3.HTTPFault';
const TRANSPORT_SOCKET = 'envoy.config.core.v3.TransportSocket';
const SOCKET_MATCH = 'envoy.config.cluster.v3.Cluster.TransportSocketMatch';
const FILTER_CHAIN = 'envoy.config.listener.v3.FilterChain';
const FILTER_CHAIN_MATCH = 'envoy.config.listener.v3.FilterChainMatch';
const TLS = 'envoy.extensions.transport_sockets.tls.v3';
const DATA_SOURCE = 'envoy.config.core.v3.DataSource';
const HEALTH_CHECK = 'envoy.config.core.v3.HealthCheck';
const RBAC_FILTER = 'envoy.extensions.filters.http.rbac.v3';
const XDS_MATCHER = 'xds.type.matcher.v3.Matcher';
const RBAC = 'envoy.config.rbac.v3';
const EXT_AUTHZ = 'envoy.extensions.filters.http.ext_authz.v3';
const COMPRESSOR = 'envoy.extensions.filters.http.compressor.v3';
const CORS_POLICY_FIELDS = [
  'allow_origin_string_match', 'allow_methods', 'allow_headers', 'expose_headers', 'max_age', 'allow_credentials', 'filter_enabled',
  'shadow_enabled', 'allow_private_network_access', 'forward_not_matching_preflights',
];

const fields = (message: string, names: readonly string[]): ImplementedField[] => names.map((field) => ({ message, field }));

export const IMPLEMENTED_ENVOY_FIELDS: readonly ImplementedField[] = Object.freeze([
  ...fields(BOOTSTRAP, ['static_resources', 'dynamic_resources', 'overload_manager', 'header_prefix']),
  ...fields(DYNAMIC, ['lds_config', 'cds_config', 'ads_config']),
  ...fields('envoy.config.overload.v3.OverloadManager', ['resource_monitors']),
  ...fields('envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig', ['max_active_downstream_connections']),
  ...fields(CONFIG_SOURCE, ['path_config_source', 'path', 'ads']),
  ...fields(LISTENER, [
    'name', 'address', 'filter_chains', 'default_filter_chain', 'api_listener', 'per_connection_buffer_limit_bytes', 'listener_filters_timeout',
    'continue_on_listener_filters_timeout', 'metadata', 'ignore_global_conn_limit', 'traffic_direction',
  ]),
  ...fields('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.Tracing', ['provider', 'client_sampling', 'random_sampling', 'overall_sampling']),
  ...fields('envoy.config.trace.v3.Tracing.Http', ['name', 'typed_config']),
  ...fields('envoy.config.trace.v3.ZipkinConfig', ['trace_id_128bit', 'shared_span_context', 'trace_context_option']),
  ...fields('envoy.extensions.filters.network.http_connection_manager.v3.RequestIDExtension', ['typed_config']),
  ...fields('envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig', ['pack_trace_reason', 'use_request_id_for_trace_sampling']),
  ...fields(FILTER, ['name', 'typed_config']),
  ...fields(HCM, [
    'stat_prefix', 'route_config', 'rds', 'http_filters', 'strip_any_host_port', 'strip_matching_host_port',
    'generate_request_id', 'tracing', 'normalize_path', 'merge_slashes', 'path_with_escaped_slashes_action',
    'use_remote_address', 'xff_num_trusted_hops', 'internal_address_config', 'stream_idle_timeout', 'request_timeout',
    'request_headers_timeout', 'max_request_headers_kb', 'common_http_protocol_options', 'http_protocol_options', 'http2_protocol_options',
    'local_reply_config', 'forward_client_cert_details', 'preserve_external_request_id', 'request_id_extension',
    'upgrade_configs',
  ]),
  ...fields('envoy.extensions.filters.network.http_connection_manager.v3.LocalReplyConfig', ['mappers', 'body_format']),
  ...fields('envoy.extensions.filters.network.http_connection_manager.v3.ResponseMapper', ['filter', 'status_code', 'body', 'headers_to_add', 'body_format_override']),
  ...fields('envoy.config.core.v3.SubstitutionFormatString', ['text_format', 'text_format_source', 'content_type']),
  ...fields('envoy.config.accesslog.v3.AccessLogFilter', ['status_code_filter', 'header_filter', 'and_filter', 'or_filter', 'not_health_check_filter']),
  ...fields(`${HCM}.UpgradeConfig`, ['upgrade_type', 'enabled']),
  ...fields('envoy.config.core.v3.HttpProtocolOptions', [
    'idle_timeout', 'max_connection_duration', 'max_headers_count', 'max_stream_duration', 'max_requests_per_connection',
    'headers_with_underscores_action',
  ]),
  ...fields('envoy.config.core.v3.Http1ProtocolOptions', ['allow_absolute_url', 'accept_http_10', 'default_host_for_http_10', 'enable_trailers']),
  ...fields('envoy.config.core.v3.Http2ProtocolOptions', ['max_concurrent_streams', 'initial_stream_window_size', 'initial_connection_window_size', 'hpack_table_size']),
  ...fields(HTTP_FILTER, ['name', 'typed_config', 'is_optional']),
  ...fields('envoy.extensions.filters.http.router.v3.Router', ['suppress_envoy_headers', 'respect_expected_rq_timeout', 'strict_check_headers']),
  ...fields(ROUTE_CONFIG, [
    'name', 'virtual_hosts', 'ignore_port_in_host_matching', 'request_headers_to_add', 'request_headers_to_remove',
    'response_headers_to_add', 'response_headers_to_remove', 'most_specific_header_mutations_wins', 'internal_only_headers',
    'max_direct_response_body_size_bytes',
    'request_mirror_policies',
  ]),
  ...fields(VHOST, [
    'name', 'domains', 'routes', 'retry_policy', 'rate_limits', 'typed_per_filter_config', 'request_headers_to_add',
    'request_headers_to_remove', 'response_headers_to_add', 'response_headers_to_remove', 'per_request_buffer_limit_bytes',
    'include_request_attempt_count', 'include_attempt_count_in_response', 'include_is_timeout_retry_header',
    'request_mirror_policies', 'hedge_policy',
    'cors',
  ]),
  ...fields(ROUTE, [
    'name', 'match', 'route', 'redirect', 'direct_response', 'typed_per_filter_config', 'stat_prefix', 'request_headers_to_add',
    'request_headers_to_remove', 'response_headers_to_add', 'response_headers_to_remove', 'per_request_buffer_limit_bytes', 'tracing',
  ]),
  ...fields('envoy.config.route.v3.Tracing', ['client_sampling', 'random_sampling', 'overall_sampling']),
  ...fields('envoy.config.route.v3.RedirectAction', [
    'https_redirect', 'scheme_redirect', 'host_redirect', 'port_redirect', 'path_redirect', 'prefix_rewrite', 'regex_rewrite', 'response_code', 'strip_query',
  ]),
  ...fields('envoy.config.route.v3.DirectResponseAction', ['status', 'body']),
  ...fields('envoy.config.route.v3.CorsPolicy', CORS_POLICY_FIELDS),
  ...fields(MATCH, ['prefix', 'path', 'safe_regex', 'path_separated_prefix', 'connect_matcher', 'case_sensitive', 'headers', 'query_parameters', 'runtime_fraction', 'grpc']),
  ...fields(HEADER_MATCHER, ['name', 'string_match', 'present_match', 'range_match', 'invert_match', 'treat_missing_header_as_empty']),
  ...fields(ACTION, [
    'cluster', 'weighted_clusters', 'timeout', 'idle_timeout', 'retry_policy', 'hash_policy', 'rate_limits', 'prefix_rewrite',
    'regex_rewrite', 'host_rewrite_literal', 'auto_host_rewrite', 'append_x_forwarded_host', 'max_stream_duration', 'priority',
    'cluster_not_found_response_code',
    'request_mirror_policies', 'hedge_policy',
    'cors', 'upgrade_configs',
  ]),
  ...fields(`${ACTION}.RequestMirrorPolicy`, ['cluster', 'cluster_header', 'runtime_fraction', 'trace_sampled', 'disable_shadow_host_suffix_append']),
  ...fields(`${ACTION}.UpgradeConfig`, ['upgrade_type', 'enabled', 'connect_config']),
  ...fields(WEIGHTED, ['name', 'weight', 'typed_per_filter_config', 'host_rewrite_literal', 'request_headers_to_add', 'request_headers_to_remove', 'response_headers_to_add', 'response_headers_to_remove']),
  ...fields(HEADER_OPTION, ['header', 'append', 'append_action', 'keep_empty_value']),
  ...fields('envoy.config.route.v3.HedgePolicy', ['hedge_on_per_try_timeout']),
  ...fields(RETRY, [
    'retry_on', 'num_retries', 'per_try_timeout', 'per_try_idle_timeout', 'retry_back_off', 'retriable_status_codes',
    'retriable_headers', 'retriable_request_headers', 'host_selection_retry_max_attempts', 'retry_host_predicate',
  ]),
  ...fields(CLUSTER, [
    'name', 'type', 'eds_cluster_config', 'lb_policy', 'least_request_lb_config', 'ring_hash_lb_config', 'maglev_lb_config',
    'connect_timeout', 'dns_refresh_rate', 'dns_lookup_family', 'load_assignment', 'circuit_breakers', 'outlier_detection',
    'common_lb_config', 'http2_protocol_options', 'typed_extension_protocol_options', 'metadata', 'transport_socket',
    'transport_socket_matches', 'health_checks', 'close_connections_on_host_health_failure', 'ignore_health_on_host_removal',
  ]),
  ...fields('envoy.config.cluster.v3.Cluster.CommonLbConfig', ['ignore_new_hosts_until_first_hc']),
  ...fields(HEALTH_CHECK, [
    'timeout', 'interval', 'initial_jitter', 'interval_jitter', 'interval_jitter_percent', 'unhealthy_threshold', 'healthy_threshold',
    'reuse_connection', 'http_health_check', 'tcp_health_check', 'grpc_health_check', 'no_traffic_interval', 'no_traffic_healthy_interval',
    'unhealthy_interval', 'unhealthy_edge_interval', 'healthy_edge_interval', 'tls_options', 'transport_socket_match_criteria',
  ]),
  ...fields(`${HEALTH_CHECK}.HttpHealthCheck`, [
    'host', 'path', 'send', 'receive', 'response_buffer_size', 'request_headers_to_add', 'request_headers_to_remove', 'expected_statuses',
    'retriable_statuses', 'codec_client_type', 'service_name_matcher', 'method',
  ]),
  ...fields(`${HEALTH_CHECK}.GrpcHealthCheck`, ['service_name', 'authority', 'initial_metadata']),
  ...fields(`${HEALTH_CHECK}.TcpHealthCheck`, ['send', 'receive']),
  ...fields(`${HEALTH_CHECK}.Payload`, ['text', 'binary']),
  ...fields(`${HEALTH_CHECK}.TlsOptions`, ['alpn_protocols']),
  ...fields('envoy.config.endpoint.v3.Endpoint.HealthCheckConfig', ['port_value', 'hostname', 'address', 'disable_active_health_check']),
  ...fields(SOCKET_MATCH, ['name', 'match', 'transport_socket']),
  ...fields(TRANSPORT_SOCKET, ['name', 'typed_config']),
  ...fields(FILTER_CHAIN, ['name', 'filters', 'filter_chain_match', 'transport_socket', 'transport_socket_connect_timeout']),
  ...fields(FILTER_CHAIN_MATCH, [
    'destination_port', 'prefix_ranges', 'server_names', 'transport_protocol', 'application_protocols', 'direct_source_prefix_ranges',
    'source_type', 'source_prefix_ranges', 'source_ports',
  ]),
  ...fields('envoy.config.core.v3.CidrRange', ['address_prefix', 'prefix_len']),
  ...fields('envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', [
    'stat_prefix', 'cluster', 'weighted_clusters', 'idle_timeout', 'max_connect_attempts', 'max_downstream_connection_duration', 'tunneling_config',
  ]),
  ...fields('envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.WeightedCluster', ['clusters']),
  ...fields('envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.TunnelingConfig', ['hostname', 'headers_to_add']),
  ...fields('envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.WeightedCluster.ClusterWeight', ['name', 'weight']),
  ...fields(`${TLS}.UpstreamTlsContext`, ['common_tls_context', 'sni']),
  ...fields(`${TLS}.DownstreamTlsContext`, ['common_tls_context', 'require_client_certificate']),
  ...fields(`${TLS}.CommonTlsContext`, [
    'tls_params', 'tls_certificates', 'tls_certificate_sds_secret_configs', 'tls_certificate_provider_instance', 'validation_context',
    'validation_context_sds_secret_config', 'combined_validation_context', 'alpn_protocols',
  ]),
  ...fields(`${TLS}.CommonTlsContext.CombinedCertificateValidationContext`, ['default_validation_context', 'validation_context_sds_secret_config']),
  ...fields(`${TLS}.TlsParameters`, ['tls_minimum_protocol_version', 'tls_maximum_protocol_version', 'cipher_suites', 'ecdh_curves', 'signature_algorithms']),
  ...fields(`${TLS}.TlsCertificate`, ['certificate_chain', 'private_key']),
  ...fields(`${TLS}.CertificateValidationContext`, [
    'trusted_ca', 'ca_certificate_provider_instance', 'match_typed_subject_alt_names', 'match_subject_alt_names', 'verify_certificate_spki',
    'verify_certificate_hash',
  ]),
  ...fields(`${TLS}.SubjectAltNameMatcher`, ['san_type', 'matcher']),
  ...fields(`${TLS}.CertificateProviderPluginInstance`, ['instance_name', 'certificate_name']),
  ...fields(`${TLS}.SdsSecretConfig`, ['name', 'sds_config']),
  ...fields(`${TLS}.Secret`, ['name', 'tls_certificate', 'validation_context']),
  ...fields(DATA_SOURCE, ['filename', 'inline_string', 'inline_bytes', 'environment_variable']),
  ...fields(THRESHOLDS, ['priority', 'max_connections', 'max_pending_requests', 'max_requests', 'max_retries', 'retry_budget', 'track_remaining']),
  ...fields(OUTLIER, [
    'consecutive_5xx', 'consecutive_gateway_failure', 'consecutive_local_origin_failure', 'interval', 'base_ejection_time',
    'max_ejection_time', 'max_ejection_percent', 'enforcing_consecutive_5xx', 'enforcing_success_rate', 'success_rate_minimum_hosts',
    'success_rate_request_volume', 'success_rate_stdev_factor', 'failure_percentage_threshold', 'enforcing_failure_percentage',
    'failure_percentage_minimum_hosts', 'failure_percentage_request_volume', 'split_external_local_origin_errors',
  ]),
  ...fields(CLA, ['cluster_name', 'endpoints', 'policy']),
  ...fields(LOCALITY_ENDPOINTS, ['locality', 'lb_endpoints', 'load_balancing_weight', 'priority']),
  ...fields(LB_ENDPOINT, ['endpoint', 'health_status', 'load_balancing_weight', 'metadata']),
  ...fields(ENDPOINT, ['address', 'hostname', 'health_check_config']),
  ...fields(LOCAL_RATELIMIT, [
    'stat_prefix', 'status', 'token_bucket', 'filter_enabled', 'filter_enforced', 'descriptors',
    'request_headers_to_add_when_not_enforced', 'response_headers_to_add', 'enable_x_ratelimit_headers',
    'always_consume_default_token_bucket', 'rate_limited_as_resource_exhausted',
  ]),
  ...fields(FAULT, ['delay', 'abort', 'headers', 'upstream_cluster', 'max_active_faults']),
  ...fields(`${RBAC_FILTER}.RBAC`, ['rules', 'shadow_rules', 'rules_stat_prefix', 'shadow_rules_stat_prefix', 'matcher', 'shadow_matcher']),
  ...fields(`${RBAC_FILTER}.RBACPerRoute`, ['rbac']),
  // RBAC matchers: the Unified Matcher API, its inputs and the RBAC action.
  ...fields(XDS_MATCHER, ['matcher_list', 'matcher_tree', 'on_no_match']),
  ...fields(`${XDS_MATCHER}.MatcherList`, ['matchers']),
  ...fields(`${XDS_MATCHER}.MatcherList.FieldMatcher`, ['predicate', 'on_match']),
  ...fields(`${XDS_MATCHER}.MatcherList.Predicate`, ['single_predicate', 'or_matcher', 'and_matcher', 'not_matcher']),
  ...fields(`${XDS_MATCHER}.MatcherList.Predicate.SinglePredicate`, ['input', 'value_match']),
  ...fields(`${XDS_MATCHER}.MatcherList.Predicate.PredicateList`, ['predicate']),
  ...fields(`${XDS_MATCHER}.MatcherTree`, ['input', 'exact_match_map', 'prefix_match_map', 'custom_match']),
  ...fields(`${XDS_MATCHER}.MatcherTree.MatchMap`, ['map']),
  ...fields(`${XDS_MATCHER}.OnMatch`, ['matcher', 'action']),
  ...fields('xds.type.matcher.v3.IPMatcher', ['range_matchers']),
  ...fields('xds.type.matcher.v3.IPMatcher.IPRangeMatcher', ['ranges', 'on_match', 'exclusive']),
  ...fields('envoy.type.matcher.v3.HttpRequestHeaderMatchInput', ['header_name']),
  ...fields('envoy.config.rbac.v3.Action', ['name', 'action']),
  ...fields(`${RBAC}.RBAC`, ['action', 'policies']),
  ...fields(`${RBAC}.Policy`, ['permissions', 'principals']),
  ...fields(`${RBAC}.Permission`, [
    'and_rules', 'or_rules', 'any', 'header', 'url_path', 'destination_ip', 'destination_port', 'destination_port_range', 'not_rule', 'requested_server_name',
  ]),
  ...fields(`${RBAC}.Principal`, ['and_ids', 'or_ids', 'any', 'authenticated', 'source_ip', 'direct_remote_ip', 'remote_ip', 'header', 'url_path', 'not_id']),
  ...fields(`${RBAC}.Principal.Authenticated`, ['principal_name']),
  ...fields(`${EXT_AUTHZ}.ExtAuthz`, [
    'grpc_service', 'http_service', 'transport_api_version', 'failure_mode_allow', 'failure_mode_allow_header_add', 'with_request_body',
    'status_on_error', 'filter_enabled', 'deny_at_disable', 'allowed_headers', 'disallowed_headers', 'include_peer_certificate', 'stat_prefix',
    'validate_mutations',
  ]),
  ...fields(`${EXT_AUTHZ}.BufferSettings`, ['max_request_bytes', 'allow_partial_message', 'pack_as_bytes']),
  ...fields(`${EXT_AUTHZ}.HttpService`, ['server_uri', 'path_prefix', 'authorization_request', 'authorization_response']),
  ...fields(`${EXT_AUTHZ}.AuthorizationRequest`, ['allowed_headers', 'headers_to_add']),
  ...fields(`${EXT_AUTHZ}.AuthorizationResponse`, ['allowed_upstream_headers', 'allowed_upstream_headers_to_append', 'allowed_client_headers', 'allowed_client_headers_on_success']),
  ...fields(`${EXT_AUTHZ}.ExtAuthzPerRoute`, ['disabled', 'check_settings']),
  ...fields(`${EXT_AUTHZ}.CheckSettings`, ['context_extensions', 'disable_request_body_buffering', 'with_request_body']),
  ...fields('envoy.extensions.filters.http.cors.v3.CorsPolicy', CORS_POLICY_FIELDS),
  ...fields('envoy.extensions.filters.http.csrf.v3.CsrfPolicy', ['filter_enabled', 'shadow_enabled', 'additional_origins']),
  ...fields('envoy.extensions.filters.http.health_check.v3.HealthCheck', ['pass_through_mode', 'headers', 'cluster_min_healthy_percentages']),
  ...fields('envoy.extensions.filters.http.buffer.v3.Buffer', ['max_request_bytes']),
  ...fields('envoy.extensions.filters.http.buffer.v3.BufferPerRoute', ['disabled', 'buffer']),
  ...fields(`${COMPRESSOR}.Compressor`, ['response_direction_config', 'request_direction_config', 'compressor_library', 'choose_first']),
  ...fields(`${COMPRESSOR}.Compressor.CommonDirectionConfig`, ['enabled', 'min_content_length', 'content_type']),
  ...fields(`${COMPRESSOR}.Compressor.ResponseDirectionConfig`, ['common_config', 'disable_on_etag_header', 'remove_accept_encoding_header', 'uncompressible_response_codes', 'weaken_etag_on_compress']),
  ...fields(`${COMPRESSOR}.Compressor.RequestDirectionConfig`, ['common_config']),
  ...fields(`${COMPRESSOR}.CompressorPerRoute`, ['disabled', 'overrides']),
  ...fields(`${COMPRESSOR}.CompressorOverrides`, ['response_direction_config']),
  ...fields(`${COMPRESSOR}.ResponseDirectionOverrides`, ['remove_accept_encoding_header']),
  ...fields('envoy.config.core.v3.RuntimeFeatureFlag', ['default_value']),
  ...fields('envoy.extensions.compression.gzip.compressor.v3.Gzip', ['memory_level', 'compression_level', 'compression_strategy', 'window_bits', 'chunk_size']),
  ...fields('envoy.extensions.compression.brotli.compressor.v3.Brotli', ['quality', 'encoder_mode', 'window_bits', 'input_block_bits', 'chunk_size', 'disable_literal_context_modeling']),
  ...fields('envoy.extensions.compression.zstd.compressor.v3.Zstd', ['compression_level', 'enable_checksum', 'strategy', 'chunk_size']),
  ...fields('envoy.extensions.filters.http.decompressor.v3.Decompressor', ['decompressor_library', 'request_direction_config', 'response_direction_config']),
  ...fields('envoy.extensions.filters.http.decompressor.v3.Decompressor.CommonDirectionConfig', ['enabled', 'ignore_no_transform_header']),
  ...fields('envoy.extensions.filters.http.decompressor.v3.Decompressor.RequestDirectionConfig', ['common_config', 'advertise_accept_encoding']),
  ...fields('envoy.extensions.filters.http.decompressor.v3.Decompressor.ResponseDirectionConfig', ['common_config']),
  ...fields('envoy.extensions.compression.gzip.decompressor.v3.Gzip', ['window_bits', 'chunk_size', 'max_inflate_ratio']),
  ...fields('envoy.extensions.compression.brotli.decompressor.v3.Brotli', ['chunk_size']),
  ...fields('envoy.extensions.compression.zstd.decompressor.v3.Zstd', ['chunk_size']),
]);
