/**
 * `envoy.extensions.filters.http.ext_authz.v3.ExtAuthz` and `ExtAuthzPerRoute`: an authorization server
 * asked per request, over gRPC (`envoy.service.auth.v3.Authorization/Check` on `grpc_service.envoy_grpc`'s
 * cluster) or HTTP (`http_service`). Defaults are Envoy's: timeout 200 ms (gRPC), status_on_error 403,
 * failure_mode_allow false. Fields that could change what the server sees or what is allowed, and that
 * xmesh cannot honour (route re-selection, metadata, mutation rules), are refused.
 */
import type { ExtAuthzBufferSettings, ExtAuthzConfig, ExtAuthzGrpcService, ExtAuthzHttpService, ExtAuthzPerRoute } from '../filter-model.js';
import type { StringMatch } from '../model.js';
import { ignoreAll, oneOf, rejectUnsupported } from './fields.js';
import { readStringMatcher } from './matchers.js';
import type { Reader } from './reader.js';
import { runtimeFractionField } from './runtime-fraction.js';

/** ExtAuthz fields xmesh reads but does not act on, with the reason. */
export const EXT_AUTHZ_IGNORED: Readonly<Record<string, string>> = {
  metadata_context_namespaces: 'xmesh filters emit no dynamic metadata: the namespaces would be empty',
  typed_metadata_context_namespaces: 'xmesh filters emit no dynamic metadata: the namespaces would be empty',
  enable_dynamic_metadata_ingestion: 'no xmesh filter reads dynamic metadata',
  charge_cluster_response_stats: 'denials are counted in the filter\'s ext_authz.* stats only',
  filter_metadata: 'access logging is not implemented',
  emit_filter_state_stats: 'access logging is not implemented',
};

/** `envoy_grpc` fields of the authorization service xmesh does not act on. */
export const EXT_AUTHZ_ENVOY_GRPC_IGNORED: Readonly<Record<string, string>> = {
  skip_envoy_headers: 'no x-envoy-* headers are sent with the check call',
  max_receive_message_length: 'check responses are bounded by the transport\'s own message limit',
};

/** `authorization_response` fields xmesh does not act on. */
export const EXT_AUTHZ_RESPONSE_IGNORED: Readonly<Record<string, string>> = {
  dynamic_metadata_from_headers: 'no xmesh filter reads dynamic metadata',
};

/** Envoy's default check timeout for a gRPC service. */
const DEFAULT_TIMEOUT_MS = 200;

export function decodeExtAuthz(r: Reader): ExtAuthzConfig {
  const which = oneOf(r, ['grpc_service', 'http_service'] as const, 'one of grpc_service, http_service is required');
  let service: ExtAuthzGrpcService | ExtAuthzHttpService = { kind: 'grpc', cluster: '', authority: '', timeoutMs: DEFAULT_TIMEOUT_MS, initialMetadata: [] };
  let requestAllowed: readonly StringMatch[] | undefined;
  if (which === 'http_service') {
    const h = r.obj('http_service');
    if (h) ({ service, allowedHeaders: requestAllowed } = readHttpService(h));
  } else if (which === 'grpc_service') {
    const g = r.obj('grpc_service');
    if (g) service = readGrpcService(g);
  }
  r.get('grpc_service');
  r.get('http_service');
  const version = r.enumOf('transport_api_version', ['AUTO', 'V2', 'V3'] as const, 'AUTO', { 0: 'AUTO', 1: 'V2', 2: 'V3' });
  if (version === 'V2') r.error('transport_api_version', 'V2 is not supported (nor by current Envoy): use V3');
  const failureModeAllow = r.bool('failure_mode_allow', false);
  const failureModeAllowHeaderAdd = r.bool('failure_mode_allow_header_add', false);
  const body = r.obj('with_request_body');
  const withRequestBody = body ? readBufferSettings(body) : undefined;
  const statusOnError = httpStatusField(r, 'status_on_error', 403);
  const filterEnabled = runtimeFractionField(r, 'filter_enabled');
  const denyAtDisable = runtimeFeatureFlag(r, 'deny_at_disable');
  const grpcAllowed = listStringMatcherField(r, 'allowed_headers');
  if (service.kind === 'http' && grpcAllowed !== undefined && requestAllowed !== undefined) {
    r.error('allowed_headers', 'cannot be set together with http_service.authorization_request.allowed_headers');
  }
  const allowedHeaders = service.kind === 'http' ? requestAllowed ?? grpcAllowed : grpcAllowed;
  const disallowedHeaders = listStringMatcherField(r, 'disallowed_headers') ?? [];
  const includePeerCertificate = r.bool('include_peer_certificate', false);
  const statPrefix = r.str('stat_prefix') ?? '';
  const validateMutations = r.bool('validate_mutations', false);
  if (r.bool('clear_route_cache', false)) {
    r.error('clear_route_cache', 'is not supported: a request is routed once, before the filters run; the authorization server\'s headers cannot move it to another route');
  }
  if (r.bool('encode_raw_headers', false)) {
    r.error('encode_raw_headers', 'is not supported: headers are sent sanitized in `headers`, not in `header_map`');
  }
  if (r.bool('include_tls_session', false)) {
    r.error('include_tls_session', 'is not supported: the TLS session (SNI) is not sent to the authorization server');
  }
  if ((r.str('bootstrap_metadata_labels_key') ?? '') !== '') {
    r.error('bootstrap_metadata_labels_key', 'is not supported: node metadata labels are not sent to the authorization server');
  }
  rejectUnsupported(r, {
    route_metadata_context_namespaces: 'route metadata is not sent to the authorization server',
    route_typed_metadata_context_namespaces: 'route metadata is not sent to the authorization server',
    filter_enabled_metadata: 'xmesh keeps no dynamic metadata to match',
    decoder_header_mutation_rules: 'header mutation rules are not implemented',
  });
  ignoreAll(r, EXT_AUTHZ_IGNORED);
  r.finish();
  return {
    service, failureModeAllow, failureModeAllowHeaderAdd, withRequestBody, statusOnError, filterEnabled, denyAtDisable, allowedHeaders,
    disallowedHeaders, includePeerCertificate, statPrefix, validateMutations,
  };
}

/** `ExtAuthzPerRoute`: exactly one of `disabled: true`, `check_settings`. */
export function decodeExtAuthzPerRoute(r: Reader): ExtAuthzPerRoute {
  const which = oneOf(r, ['disabled', 'check_settings'] as const, 'one of disabled, check_settings is required');
  const disabled = r.bool('disabled', false);
  const settings = r.obj('check_settings');
  r.finish();
  if (which === 'disabled') {
    if (!disabled) r.error('disabled', 'must be true');
    return { kind: 'disabled' };
  }
  const contextExtensions: Record<string, string> = {};
  let disableRequestBodyBuffering = false;
  let withRequestBody: ExtAuthzBufferSettings | undefined;
  if (settings) {
    for (const { key, value, path } of settings.entries('context_extensions')) {
      if (typeof value === 'string') contextExtensions[key] = value;
      else settings.issues.error(path, 'must be a string');
    }
    disableRequestBodyBuffering = settings.bool('disable_request_body_buffering', false);
    const body = settings.obj('with_request_body');
    withRequestBody = body ? readBufferSettings(body) : undefined;
    if (disableRequestBodyBuffering && withRequestBody !== undefined) settings.error('with_request_body', 'cannot be set together with disable_request_body_buffering');
    settings.finish();
  }
  return { kind: 'check_settings', contextExtensions, disableRequestBodyBuffering, withRequestBody };
}

function readGrpcService(g: Reader): ExtAuthzGrpcService {
  const envoyGrpc = g.obj('envoy_grpc');
  let cluster = '';
  let authority = '';
  if (envoyGrpc) {
    cluster = envoyGrpc.requiredStr('cluster_name');
    authority = envoyGrpc.str('authority') || cluster;
    rejectUnsupported(envoyGrpc, { retry_policy: 'check calls are not retried' });
    ignoreAll(envoyGrpc, EXT_AUTHZ_ENVOY_GRPC_IGNORED);
    envoyGrpc.finish();
  } else if (!g.has('google_grpc')) {
    g.error('envoy_grpc', 'is required');
  }
  rejectUnsupported(g, {
    google_grpc: 'the authorization server is reached through a cluster: use envoy_grpc',
    retry_policy: 'check calls are not retried',
  });
  const timeoutMs = g.duration('timeout') ?? DEFAULT_TIMEOUT_MS;
  const initialMetadata = g.objects('initial_metadata').map((h) => {
    const key = h.requiredStr('key').toLowerCase();
    const value = h.str('value') ?? '';
    rejectUnsupported(h, { raw_value: 'use value' });
    h.finish();
    return { key, value };
  });
  g.finish();
  return { kind: 'grpc', cluster, authority, timeoutMs, initialMetadata };
}

function readHttpService(h: Reader): { service: ExtAuthzHttpService; allowedHeaders: readonly StringMatch[] | undefined } {
  const uri = h.obj('server_uri');
  let cluster = '';
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (uri) {
    uri.requiredStr('uri');
    cluster = uri.requiredStr('cluster');
    if (!uri.has('timeout')) uri.error('timeout', 'is required');
    timeoutMs = uri.duration('timeout') ?? DEFAULT_TIMEOUT_MS;
    uri.finish();
  } else {
    h.error('server_uri', 'is required');
  }
  const pathPrefix = h.str('path_prefix') ?? '';
  if (pathPrefix !== '' && !pathPrefix.startsWith('/')) h.error('path_prefix', 'must start with "/"');
  const request = h.obj('authorization_request');
  const allowedHeaders = request ? listStringMatcherField(request, 'allowed_headers') : undefined;
  const headersToAdd = request
    ? request.objects('headers_to_add').map((v) => {
        const key = v.requiredStr('key').toLowerCase();
        const value = v.str('value') ?? '';
        rejectUnsupported(v, { raw_value: 'use value' });
        v.finish();
        return { key, value };
      })
    : [];
  request?.finish();
  const response = h.obj('authorization_response');
  const allowedUpstreamHeaders = (response && listStringMatcherField(response, 'allowed_upstream_headers')) ?? [];
  const allowedUpstreamHeadersToAppend = (response && listStringMatcherField(response, 'allowed_upstream_headers_to_append')) ?? [];
  const allowedClientHeaders = response ? listStringMatcherField(response, 'allowed_client_headers') : undefined;
  const allowedClientHeadersOnSuccess = (response && listStringMatcherField(response, 'allowed_client_headers_on_success')) ?? [];
  if (response) {
    ignoreAll(response, EXT_AUTHZ_RESPONSE_IGNORED);
    response.finish();
  }
  rejectUnsupported(h, { retry_policy: 'check calls are not retried' });
  h.finish();
  return {
    service: {
      kind: 'http', cluster, timeoutMs, pathPrefix, headersToAdd, allowedUpstreamHeaders, allowedUpstreamHeadersToAppend,
      allowedClientHeaders: allowedClientHeaders !== undefined && allowedClientHeaders.length > 0 ? allowedClientHeaders : undefined,
      allowedClientHeadersOnSuccess,
    },
    allowedHeaders,
  };
}

function readBufferSettings(r: Reader): ExtAuthzBufferSettings {
  const maxRequestBytes = r.int('max_request_bytes', 0);
  if (maxRequestBytes === 0) r.error('max_request_bytes', 'must be greater than 0');
  const allowPartialMessage = r.bool('allow_partial_message', false);
  const packAsBytes = r.bool('pack_as_bytes', false);
  r.finish();
  return { maxRequestBytes, allowPartialMessage, packAsBytes };
}

/** `type.matcher.v3.ListStringMatcher` field: its `patterns`; undefined when the field is absent. */
export function listStringMatcherField(r: Reader, key: string): StringMatch[] | undefined {
  const list = r.obj(key);
  if (!list) return undefined;
  const patterns = list.objects('patterns').map(readStringMatcher);
  list.finish();
  return patterns;
}

/** `type.v3.HttpStatus` field `{code}`: 100..599, else `dflt` when absent. */
export function httpStatusField(r: Reader, key: string, dflt: number): number {
  const s = r.obj(key);
  if (!s) return dflt;
  const code = s.int('code', 0, 0, 599);
  if (code < 100) s.error('code', `must be an HTTP status (100..599), got ${code}`);
  s.finish();
  return code < 100 ? dflt : code;
}

/** `config.core.v3.RuntimeFeatureFlag` field: its `default_value` (required); false when absent. */
function runtimeFeatureFlag(r: Reader, key: string): boolean {
  const f = r.obj(key);
  if (!f) return false;
  if (!f.has('default_value')) f.error('default_value', 'is required');
  const value = f.bool('default_value', false);
  f.ignore('runtime_key');
  f.finish();
  return value;
}
