// HCM tracing: the OpenTelemetry and Zipkin providers decode to the headers they make Envoy send;
// every other tracer is refused with its path, saying which headers Envoy would add.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Issues, Reader } from './reader.js';
import { decodeListener } from './listener.js';
import { TypeUrl } from '../type-urls.js';
import { buildSnapshot } from '../snapshot.js';

const ROUTES = { virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] }] };
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } };
const HCM_PATH = 'x.filter_chains[0].filters[0].typed_config';
const ZIPKIN_TYPE = 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig';

function decode(tracing: unknown, listener: Record<string, unknown> = {}, hcm: Record<string, unknown> = {}) {
  const issues = new Issues();
  const input = {
    name: 'l',
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: { '@type': TypeUrl.HttpConnectionManager, stat_prefix: 'in', route_config: ROUTES, http_filters: [ROUTER], tracing, ...hcm } }] }],
    ...listener,
  };
  return { ...decodeListener(Reader.of(input, 'x', issues)!), issues };
}

test('Zipkin (by name or by config type) decodes to B3 with Envoy\'s defaults; collector settings are read past', () => {
  for (const provider of [
    { name: 'envoy.tracers.zipkin' },
    { name: 'zipkin', typed_config: { '@type': ZIPKIN_TYPE, collector_cluster: 'zipkin', collector_endpoint: '/api/v2/spans', collector_endpoint_version: 'HTTP_JSON', split_spans_for_request: true } },
  ]) {
    const { listener, issues } = decode({ provider });
    assert.deepEqual(issues.errors, []);
    assert.deepEqual(listener.tracing, { kind: 'b3', traceId128Bit: false, sharedSpanContext: true, sampling: { client: 100, random: 100, overall: 100 } });
  }
});

test('Zipkin settings: trace_id_128bit, shared_span_context, sampling percentages; an OUTBOUND listener never shares the span', () => {
  const provider = { name: 'envoy.tracers.zipkin', typed_config: { '@type': ZIPKIN_TYPE, collector_cluster: 'z', trace_id_128bit: true, shared_span_context: false, trace_context_option: 'USE_B3' } };
  const tracing = { provider, client_sampling: { value: 50 }, random_sampling: { value: 0 }, overall_sampling: { value: 25.5 } };
  assert.deepEqual(decode(tracing).listener.tracing, { kind: 'b3', traceId128Bit: true, sharedSpanContext: false, sampling: { client: 50, random: 0, overall: 25.5 } });
  const shared = { name: 'envoy.tracers.zipkin', typed_config: { '@type': ZIPKIN_TYPE, collector_cluster: 'z', shared_span_context: { value: true } } };
  assert.equal((decode({ provider: shared }).listener.tracing as { sharedSpanContext: boolean }).sharedSpanContext, true);
  assert.equal((decode({ provider: shared }, { traffic_direction: 'INBOUND' }).listener.tracing as { sharedSpanContext: boolean }).sharedSpanContext, true);
  const outbound = decode({ provider: shared }, { traffic_direction: 'OUTBOUND' });
  assert.deepEqual(outbound.issues.errors, []);
  assert.equal((outbound.listener.tracing as { sharedSpanContext: boolean }).sharedSpanContext, false);
});

test('OpenTelemetry decodes to W3C with the tracing decision\'s settings; its exporter settings are read past; no provider is the null tracer (a decision, no headers)', () => {
  const otel = decode({ random_sampling: { value: 10 }, provider: { name: 'otel', typed_config: { '@type': 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig', grpc_service: { envoy_grpc: { cluster_name: 'otel' } }, service_name: 's' } } });
  assert.deepEqual(otel.issues.errors, []);
  assert.deepEqual(otel.listener.tracing, { kind: 'w3c', sampling: { client: 100, random: 10, overall: 100 } });
  assert.ok(!otel.issues.ignored.includes(`${HCM_PATH}.tracing.random_sampling`));
  assert.ok(otel.issues.ignored.includes(`${HCM_PATH}.tracing.provider.typed_config.grpc_service`));
  const none = decode({ random_sampling: { value: 10 } });
  assert.deepEqual(none.issues.errors, []);
  assert.deepEqual(none.listener.tracing, { kind: 'none', sampling: { client: 100, random: 10, overall: 100 } });
  assert.equal(decode(undefined).listener.tracing, false);
});

const REFUSED: { name: string; tracing: unknown; path: string; fragments: string[] }[] = [
  { name: 'SkyWalking by name', tracing: { provider: { name: 'envoy.tracers.skywalking' } }, path: 'provider.name', fragments: ['sw8', 'envoy.tracers.opentelemetry', 'envoy.tracers.zipkin'] },
  { name: 'SkyWalking by type', tracing: { provider: { name: 'sw', typed_config: { '@type': 'type.googleapis.com/envoy.config.trace.v3.SkyWalkingConfig', grpc_service: {} } } }, path: 'provider.typed_config', fragments: ['sw8', 'SkyWalkingConfig'] },
  { name: 'Datadog', tracing: { provider: { name: 'envoy.tracers.datadog', typed_config: { '@type': 'type.googleapis.com/envoy.config.trace.v3.DatadogConfig', collector_cluster: 'dd', service_name: 's' } } }, path: 'provider.typed_config', fragments: ['x-datadog-trace-id', 'envoy.tracers.zipkin'] },
  { name: 'Lightstep', tracing: { provider: { name: 'envoy.tracers.lightstep' } }, path: 'provider.name', fragments: ['x-ot-span-context'] },
  { name: 'X-Ray', tracing: { provider: { name: 'envoy.tracers.xray' } }, path: 'provider.name', fragments: ['x-amzn-trace-id'] },
  { name: 'dynamic OpenTracing', tracing: { provider: { name: 'envoy.tracers.dynamic_ot' } }, path: 'provider.name', fragments: ['OpenTracing library'] },
  { name: 'OpenCensus', tracing: { provider: { name: 'envoy.tracers.opencensus' } }, path: 'provider.name', fragments: ['grpc-trace-bin'] },
  { name: 'an unknown tracer', tracing: { provider: { name: 'acme.tracer' } }, path: 'provider.name', fragments: ['"acme.tracer"', 'envoy.tracers.opentelemetry'] },
  { name: 'a provider without a name', tracing: { provider: {} }, path: 'provider.name', fragments: ['is required'] },
  { name: 'Zipkin with W3C propagation too', tracing: { provider: { name: 'envoy.tracers.zipkin', typed_config: { '@type': ZIPKIN_TYPE, collector_cluster: 'z', trace_context_option: 'USE_B3_WITH_W3C_PROPAGATION' } } }, path: 'provider.typed_config.trace_context_option', fragments: ['traceparent'] },
  { name: 'Zipkin with a span per upstream attempt', tracing: { spawn_upstream_span: true, provider: { name: 'envoy.tracers.zipkin' } }, path: 'spawn_upstream_span', fragments: ['each upstream attempt'] },
  { name: 'an unknown Zipkin field', tracing: { provider: { name: 'envoy.tracers.zipkin', typed_config: { '@type': ZIPKIN_TYPE, bogus: 1 } } }, path: 'provider.typed_config.bogus', fragments: ['unsupported'] },
];

for (const { name, tracing, path, fragments } of REFUSED) {
  test(`tracing refused: ${name}`, () => {
    const { errors } = decode(tracing).issues;
    assert.equal(errors.length, 1, `expected one error, got ${JSON.stringify(errors)}`);
    assert.equal(errors[0]!.path, `${HCM_PATH}.tracing.${path}`);
    for (const fragment of fragments) assert.ok(errors[0]!.message.includes(fragment), errors[0]!.message);
  });
}

test('spawn_upstream_span is read past with OpenTelemetry (the traceparent is a new span either way)', () => {
  const { issues, listener } = decode({ spawn_upstream_span: true, provider: { name: 'envoy.tracers.opentelemetry' } });
  assert.deepEqual(issues.errors, []);
  assert.deepEqual(listener.tracing, { kind: 'w3c', sampling: { client: 100, random: 100, overall: 100 } });
});

test('a router\'s start_child_span is refused with the Zipkin tracer, read past with OpenTelemetry', () => {
  const childSpans = { http_filters: [{ ...ROUTER, typed_config: { ...ROUTER.typed_config, start_child_span: true } }] };
  const zipkin = decode({ provider: { name: 'envoy.tracers.zipkin' } }, {}, childSpans).issues.errors;
  assert.deepEqual(zipkin.map((e) => e.path), [`${HCM_PATH}.http_filters[0].typed_config.start_child_span`]);
  assert.ok(zipkin[0]!.message.includes('each upstream attempt'), zipkin[0]!.message);
  assert.deepEqual(decode({ provider: { name: 'envoy.tracers.opentelemetry' } }, {}, childSpans).issues.errors, []);
  assert.deepEqual(decode({ provider: { name: 'envoy.tracers.zipkin' } }, {}, { http_filters: [{ ...ROUTER, typed_config: { ...ROUTER.typed_config, start_child_span: false } }] }).issues.errors, []);
});

test('a route\'s tracing replaces the sampling settings, each absent one 100 %; custom_tags are read past', () => {
  const route = (tracing: unknown) => ({ route_config: { virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' }, tracing }] }] } });
  const { inlineRoutes, issues } = decode({ provider: { name: 'envoy.tracers.zipkin' } }, {}, route({ random_sampling: { numerator: 25, denominator: 'TEN_THOUSAND' }, overall_sampling: { numerator: 0 }, custom_tags: [{ tag: 't', literal: { value: 'v' } }] }));
  assert.deepEqual(issues.errors, []);
  assert.deepEqual(inlineRoutes?.virtualHosts[0]?.routes[0]?.tracingSampling, { client: 100, random: 0.25, overall: 0 });
  assert.ok(issues.ignored.includes(`${HCM_PATH}.route_config.virtual_hosts[0].routes[0].tracing.custom_tags`));
  assert.deepEqual(decode(undefined, {}, route({})).inlineRoutes?.virtualHosts[0]?.routes[0]?.tracingSampling, { client: 100, random: 100, overall: 100 });
  assert.equal(decode(undefined).inlineRoutes?.virtualHosts[0]?.routes[0]?.tracingSampling, undefined);
});

test('a bootstrap tracer (Envoy\'s fallback for an HCM tracing without provider) is refused at tracing.http; an empty bootstrap tracing is read past', () => {
  const bootstrap = (tracing: unknown) => ({ static_resources: { listeners: [], clusters: [] }, tracing });
  const built = buildSnapshot(bootstrap({ http: { name: 'envoy.tracers.zipkin', typed_config: { '@type': ZIPKIN_TYPE, collector_cluster: 'zipkin' } } }));
  assert.deepEqual(!built.ok && built.errors.map((e) => e.path), ['tracing.http']);
  assert.ok(!built.ok && built.errors[0]!.message.includes('tracing.provider'));
  assert.ok(buildSnapshot(bootstrap({})).ok);
});

test('request_id_extension: Envoy\'s UUID extension with its two settings; at their defaults nothing is recorded; another extension is refused by path', () => {
  const UUID = 'type.googleapis.com/envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig';
  const at = (extension: unknown) => decode({ provider: { name: 'envoy.tracers.zipkin' } }, {}, { request_id_extension: extension });
  const defaults = at({ typed_config: { '@type': UUID } });
  assert.deepEqual(defaults.issues.errors, []);
  assert.equal(defaults.listener.requestIdTracing, undefined);
  const set = at({ typed_config: { '@type': UUID, pack_trace_reason: false, use_request_id_for_trace_sampling: { value: false } } });
  assert.deepEqual(set.issues.errors, []);
  assert.deepEqual(set.listener.requestIdTracing, { packTraceReason: false, useForSampling: false });
  const other = at({ typed_config: { '@type': 'type.googleapis.com/acme.RequestIdConfig', format: 'x' } });
  assert.equal(other.issues.errors.length, 1);
  assert.equal(other.issues.errors[0]!.path, `${HCM_PATH}.request_id_extension.typed_config.@type`);
  assert.match(other.issues.errors[0]!.message, /only Envoy's UUID request id extension/);
  const typo = at({ typed_config: { '@type': UUID, pack_trace_reasons: false } });
  assert.equal(typo.issues.errors[0]?.path, `${HCM_PATH}.request_id_extension.typed_config.pack_trace_reasons`);
});
