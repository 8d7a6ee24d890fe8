/**
 * A cluster's `health_checks` (`envoy.config.core.v3.HealthCheck`) with Envoy's defaults and checks
 * (HealthCheckerImplBase and the HTTP, gRPC and TCP checkers under source/extensions/health_checkers):
 * one health check per cluster, `timeout`, `interval` and both thresholds required, hex `text`
 * payloads, expected statuses in [100, 600), a request body only for methods that carry one, gRPC
 * checks only on an HTTP/2 cluster.
 */
import type {
  GrpcHealthCheckConfig,
  HealthCheckConfig,
  HealthCheckPayload,
  HttpHealthCheckConfig,
  TcpHealthCheckConfig,
} from '../model.js';
import { oneOf, rejectUnsupported } from './fields.js';
import { headerMutationFields, headersToAddField } from './header-mutation.js';
import { stringMatcherField } from './matchers.js';
import { describe, protoEnumName, type Reader } from './reader.js';

const DEFAULT_NO_TRAFFIC_INTERVAL_MS = 60_000;
const DEFAULT_RESPONSE_BUFFER_SIZE = 1024;

/** HealthCheck fields that only log: ignoring them cannot change which host is used. */
export const HEALTH_CHECK_IGNORED: Readonly<Record<string, string>> = {
  event_log_path: 'health check events are not logged to a file; the stats and /clusters show each host\'s state',
  event_logger: 'health check events are not logged; the stats and /clusters show each host\'s state',
  event_service: 'health check events are not streamed; the stats and /clusters show each host\'s state',
  always_log_health_check_failures: 'health check events are not logged; failures are counted in health_check.failure',
  always_log_health_check_success: 'health check events are not logged; successes are counted in health_check.success',
};

const UNSUPPORTED = {
  alt_port: 'not implemented by Envoy either; use the endpoint\'s health_check_config.port_value',
  custom_health_check: 'custom health checkers (redis, thrift, ...); use http_health_check, grpc_health_check or tcp_health_check',
} as const;

/** `RequestMethod`, every member (CONNECT is refused, as Envoy's validation does). */
const METHODS = { 0: 'METHOD_UNSPECIFIED', 1: 'GET', 2: 'HEAD', 3: 'POST', 4: 'PUT', 5: 'DELETE', 6: 'CONNECT', 7: 'OPTIONS', 8: 'TRACE', 9: 'PATCH' } as const;
const NO_BODY_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'DELETE', 'TRACE']);
const CODEC_TYPES = { 0: 'HTTP1', 1: 'HTTP2', 2: 'HTTP3' } as const;

/** What the cluster decoder passes: the cluster fields that only act with a health check. */
export interface HealthCheckContext {
  readonly http2: boolean;
  readonly ignoreNewHostsUntilFirstHc: boolean;
  readonly ignoreHealthOnHostRemoval: boolean;
  readonly closeConnectionsOnHostHealthFailure: boolean;
}

/** The cluster's `health_checks`: undefined when empty; more than one is refused (as Envoy refuses it). */
export function decodeHealthChecks(r: Reader, context: HealthCheckContext): HealthCheckConfig | undefined {
  const checks = r.objects('health_checks');
  if (checks.length > 1) r.error('health_checks', `only one health check per cluster is supported (as in Envoy), got ${checks.length}`);
  const first = checks[0];
  return first === undefined ? undefined : decodeHealthCheck(first, context);
}

function decodeHealthCheck(r: Reader, context: HealthCheckContext): HealthCheckConfig {
  const timeoutMs = required(r, 'timeout');
  const intervalMs = required(r, 'interval');
  const unhealthyThreshold = requiredCount(r, 'unhealthy_threshold');
  const healthyThreshold = requiredCount(r, 'healthy_threshold');
  const noTrafficIntervalMs = r.positiveDuration('no_traffic_interval') ?? DEFAULT_NO_TRAFFIC_INTERVAL_MS;
  const unhealthyIntervalMs = r.positiveDuration('unhealthy_interval') ?? intervalMs;
  const kind = oneOf(r, ['http_health_check', 'tcp_health_check', 'grpc_health_check', 'custom_health_check'], 'one of http_health_check, tcp_health_check, grpc_health_check is required');
  let checker: HealthCheckConfig['checker'];
  switch (kind) {
    case 'grpc_health_check':
      checker = decodeGrpc(r.obj(kind)!);
      if (!context.http2) r.error(kind, 'needs an HTTP/2 cluster (http2_protocol_options or typed_extension_protocol_options), as in Envoy');
      break;
    case 'tcp_health_check':
      checker = decodeTcp(r.obj(kind)!);
      break;
    case 'http_health_check':
      checker = decodeHttp(r.obj(kind)!);
      break;
    default:
      checker = { kind: 'tcp', receive: [] };
  }
  rejectUnsupported(r, UNSUPPORTED);
  const tls = r.obj('tls_options');
  const alpn = tls?.strings('alpn_protocols');
  tls?.finish();
  const criteria = r.map('transport_socket_match_criteria');
  const config: HealthCheckConfig = {
    timeoutMs,
    intervalMs,
    initialJitterMs: r.duration('initial_jitter') ?? 0,
    intervalJitterMs: r.duration('interval_jitter') ?? 0,
    intervalJitterPercent: r.int('interval_jitter_percent', 0),
    unhealthyThreshold,
    healthyThreshold,
    reuseConnection: r.bool('reuse_connection', true),
    noTrafficIntervalMs,
    noTrafficHealthyIntervalMs: r.positiveDuration('no_traffic_healthy_interval') ?? noTrafficIntervalMs,
    unhealthyIntervalMs,
    unhealthyEdgeIntervalMs: r.positiveDuration('unhealthy_edge_interval') ?? unhealthyIntervalMs,
    healthyEdgeIntervalMs: r.positiveDuration('healthy_edge_interval') ?? intervalMs,
    checker,
    ...(alpn === undefined ? {} : { alpnProtocols: alpn }),
    ...(criteria === undefined ? {} : { transportSocketMatchCriteria: criteria }),
    ignoreNewHostsUntilFirstHc: context.ignoreNewHostsUntilFirstHc,
    ignoreHealthOnHostRemoval: context.ignoreHealthOnHostRemoval,
    closeConnectionsOnHostHealthFailure: context.closeConnectionsOnHostHealthFailure,
  };
  r.ignore(...Object.keys(HEALTH_CHECK_IGNORED));
  r.finish();
  return config;
}

/** A Duration that must be present and greater than 0. */
function required(r: Reader, key: string): number {
  if (!r.has(key)) {
    r.error(key, 'is required');
    return 1;
  }
  return r.positiveDuration(key) ?? 1;
}

/** A UInt32Value that must be present (Envoy's `PROTOBUF_GET_WRAPPED_REQUIRED`). */
function requiredCount(r: Reader, key: string): number {
  if (!r.has(key)) {
    r.get(key);
    r.error(key, 'is required');
    return 1;
  }
  return r.int(key, 1);
}

function decodeHttp(r: Reader): HttpHealthCheckConfig {
  const path = r.requiredStr('path');
  const host = r.str('host') ?? '';
  const methodName = decodeMethod(r);
  const send = payloadField(r, 'send');
  if (send !== undefined && NO_BODY_METHODS.has(methodName)) {
    r.error('send', `needs a method that carries a request body (POST, PUT, PATCH, OPTIONS), the method is ${methodName}`);
  }
  const receive = payloadList(r, 'receive');
  const responseBufferSize = r.int('response_buffer_size', DEFAULT_RESPONSE_BUFFER_SIZE, 0, Number.MAX_SAFE_INTEGER, 'a uint64');
  const expected = receive.reduce((n, p) => n + p.length / 2, 0);
  if (responseBufferSize !== 0 && expected > responseBufferSize) {
    r.error('receive', `the expected response (${expected} bytes) is longer than response_buffer_size (${responseBufferSize})`);
  }
  const requestHeaders = headerMutationFields(r, 'request');
  const expectedStatuses = statusRanges(r, 'expected_statuses');
  const retriableStatuses = statusRanges(r, 'retriable_statuses');
  const codec = r.get('codec_client_type');
  const codecName = codec === undefined ? 'HTTP1' : protoEnumName(codec, CODEC_TYPES);
  if (codecName === undefined) r.error('codec_client_type', `must be one of HTTP1, HTTP2, got ${describe(codec)}`);
  else if (codecName === 'HTTP3') r.error('codec_client_type', 'HTTP3 is not supported; use HTTP1 or HTTP2');
  const serviceNameMatcher = stringMatcherField(r, 'service_name_matcher');
  r.finish();
  return {
    kind: 'http',
    host,
    path,
    method: methodName,
    ...(send === undefined ? {} : { send }),
    receive,
    responseBufferSize,
    ...(requestHeaders === undefined ? {} : { requestHeaders }),
    expectedStatuses: expectedStatuses.length === 0 ? [[200, 201]] : expectedStatuses,
    retriableStatuses,
    http2: codecName === 'HTTP2',
    ...(serviceNameMatcher === undefined ? {} : { serviceNameMatcher }),
  };
}

function decodeMethod(r: Reader): string {
  const v = r.get('method');
  if (v === undefined) return 'GET';
  const name = protoEnumName(v, METHODS);
  if (name === undefined || name === 'CONNECT') {
    r.error('method', `must be one of GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH, got ${describe(v)}`);
    return 'GET';
  }
  return name === 'METHOD_UNSPECIFIED' ? 'GET' : name;
}

/** `Int64Range` list as [start, end) pairs, each with 100 <= start < end <= 600 (Envoy's HttpStatusChecker). */
function statusRanges(r: Reader, key: string): (readonly [number, number])[] {
  const out: (readonly [number, number])[] = [];
  for (const range of r.objects(key)) {
    const start = range.int('start', 0, -(2 ** 53), 2 ** 53, 'an int64');
    const end = range.int('end', 0, -(2 ** 53), 2 ** 53, 'an int64');
    range.finish();
    if (start >= end) range.issues.error(range.path, `must have start < end, got start=${start} and end=${end}`);
    else if (start < 100) range.error('start', `must be at least 100, got ${start}`);
    else if (end > 600) range.error('end', `must be at most 600, got ${end}`);
    else out.push([start, end]);
  }
  return out;
}

function decodeGrpc(r: Reader): GrpcHealthCheckConfig {
  const serviceName = r.str('service_name') ?? '';
  const authority = r.str('authority') ?? '';
  const initialMetadata = headersToAddField(r, 'initial_metadata');
  r.finish();
  return { kind: 'grpc', serviceName, authority, ...(initialMetadata === undefined ? {} : { initialMetadata }) };
}

function decodeTcp(r: Reader): TcpHealthCheckConfig {
  const send = payloadField(r, 'send');
  const receive = payloadList(r, 'receive');
  rejectUnsupported(r, { proxy_protocol_config: 'health checks do not send a PROXY protocol header' });
  r.finish();
  return { kind: 'tcp', ...(send === undefined ? {} : { send }), receive };
}

function payloadField(r: Reader, key: string): HealthCheckPayload | undefined {
  const sub = r.obj(key);
  return sub === undefined ? undefined : readPayload(sub);
}

function payloadList(r: Reader, key: string): HealthCheckPayload[] {
  return r.objects(key).map(readPayload);
}

/** `Payload`: `text` is hex ("000000FF"), `binary` base64 as protobuf's JSON spells bytes. */
function readPayload(r: Reader): HealthCheckPayload {
  const kind = oneOf(r, ['text', 'binary'], 'one of text, binary is required');
  let hex = '';
  if (kind === 'text') {
    const text = r.str('text') ?? '';
    if (text === '') r.error('text', 'must not be empty');
    else if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) r.error('text', `must be hex (two digits a byte), got ${JSON.stringify(text.slice(0, 40))}`);
    else hex = text.toLowerCase();
  } else if (kind === 'binary') {
    const raw = r.get('binary');
    if (raw instanceof Uint8Array) hex = Buffer.from(raw).toString('hex');
    else if (typeof raw === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(raw)) hex = Buffer.from(raw, 'base64').toString('hex');
    else r.error('binary', `must be bytes (base64), got ${describe(raw)}`);
  }
  r.get('text');
  r.get('binary');
  r.finish();
  return hex;
}
