/**
 * HCM `tracing`: which trace headers upstream requests carry. The OpenTelemetry provider (Envoy's W3C
 * trace-context tracer) writes a `traceparent`; the Zipkin provider writes B3 headers as Envoy's
 * Zipkin tracer does. Other tracers write headers of their own and are refused. No `tracing`
 * propagates nothing, as Envoy's null tracer. Spans themselves belong to the app's tracer: the
 * collector settings are read past.
 */
import type { ListenerConfig, RequestIdTracing, TracingSampling, ZipkinTracing } from '../model.js';
import { ignoreAll } from './fields.js';
import type { Reader } from './reader.js';

/** HCM `Tracing` fields that do not change what is sent upstream. */
export const TRACING_IGNORED: Readonly<Record<string, string>> = {
  verbose: 'spans are recorded by the app\'s tracer; the mesh reports none',
  max_path_tag_length: 'spans are recorded by the app\'s tracer; the mesh reports none',
  custom_tags: 'spans are recorded by the app\'s tracer; the mesh reports none',
  spawn_upstream_span: 'with OpenTelemetry the upstream traceparent is a new span either way; refused with Zipkin (each attempt would get a span of its own)',
};

/** ZipkinConfig fields that configure span reporting, which the mesh does not do (the app's tracer does). */
export const ZIPKIN_IGNORED: Readonly<Record<string, string>> = {
  collector_cluster: 'spans are reported by the app\'s tracer; the mesh reports none',
  collector_endpoint: 'spans are reported by the app\'s tracer; the mesh reports none',
  collector_endpoint_version: 'spans are reported by the app\'s tracer; the mesh reports none',
  collector_hostname: 'spans are reported by the app\'s tracer; the mesh reports none',
  collector_service: 'spans are reported by the app\'s tracer; the mesh reports none',
  split_spans_for_request: 'spans are reported by the app\'s tracer; the mesh reports none',
};


const OPENTELEMETRY = 'envoy.tracers.opentelemetry';
const ZIPKIN = 'envoy.tracers.zipkin';
const IMPLEMENTED = `${OPENTELEMETRY} (traceparent) and ${ZIPKIN} (B3) are implemented`;

/** The headers Envoy's other tracers add upstream, by extension name and by config message. */
const OTHER_TRACERS: readonly { readonly name: string; readonly message: string; readonly headers: string }[] = [
  { name: 'envoy.tracers.skywalking', message: 'SkyWalkingConfig', headers: 'sw8' },
  { name: 'envoy.tracers.datadog', message: 'DatadogConfig', headers: 'x-datadog-trace-id, x-datadog-parent-id, x-datadog-sampling-priority (and traceparent/tracestate)' },
  { name: 'envoy.tracers.lightstep', message: 'LightstepConfig', headers: 'x-ot-span-context and ot-tracer-*' },
  { name: 'envoy.tracers.xray', message: 'XRayConfig', headers: 'x-amzn-trace-id' },
  { name: 'envoy.tracers.dynamic_ot', message: 'DynamicOtConfig', headers: 'those of the loaded OpenTracing library' },
  { name: 'envoy.tracers.opencensus', message: 'OpenCensusConfig', headers: 'traceparent, grpc-trace-bin, x-cloud-trace-context or B3, as its outgoing_trace_context says' },
  { name: 'envoy.tracers.fluentd', message: 'FluentdConfig', headers: 'traceparent and tracestate' },
];

/** Envoy's `TrafficDirection` members by number. */
const DIRECTIONS: Readonly<Record<number, 'UNSPECIFIED' | 'INBOUND' | 'OUTBOUND'>> = { 0: 'UNSPECIFIED', 1: 'INBOUND', 2: 'OUTBOUND' };

/** The listener's `traffic_direction`: only the Zipkin tracer acts on it (an OUTBOUND listener's span is a child, never shared). */
export function readOutbound(listener: Reader): boolean {
  return listener.enumOf('traffic_direction', ['UNSPECIFIED', 'INBOUND', 'OUTBOUND'], 'UNSPECIFIED', DIRECTIONS) === 'OUTBOUND';
}

/** HCM `tracing` (absent: false) on a listener that is `outbound` or not. */
export function decodeTracing(hcm: Reader, outbound: boolean): ListenerConfig['tracing'] {
  const tracing = hcm.obj('tracing');
  if (!tracing) return false;
  const provider = tracing.obj('provider');
  // Without a provider, Envoy's null tracer: no trace headers, but the tracing decision is still packed into the request id.
  const sampling = readSampling(tracing);
  let out: ListenerConfig['tracing'] = { kind: 'none', sampling };
  if (provider) {
    const typed = provider.obj('typed_config');
    const type = typed === undefined ? undefined : typed.get('@type');
    const name = provider.str('name');
    // Envoy picks the tracer by the config's type when there is one, else by name.
    const by = typeof type === 'string' ? type.slice(type.lastIndexOf('.') + 1) : undefined;
    if (by === 'OpenTelemetryConfig' || (by === undefined && name === OPENTELEMETRY)) {
      out = { kind: 'w3c', sampling };
      // The exporter and sampler settings belong to the app's tracer: the OpenTelemetry config is read past.
      typed?.ignoreRest();
    } else if (by === 'ZipkinConfig' || (by === undefined && name === ZIPKIN)) {
      out = decodeZipkin(typed, outbound, sampling);
    } else {
      const other = OTHER_TRACERS.find((t) => (by === undefined ? t.name === name : t.message === by));
      const why = other === undefined
        ? `names a tracer whose upstream trace headers are not implemented; ${IMPLEMENTED}`
        : `is not supported: Envoy's ${other.name} tracer adds ${other.headers} upstream; ${IMPLEMENTED}`;
      if (by !== undefined) provider.error('typed_config', `${why} (got "${type as string}")`);
      else provider.error('name', name === undefined ? `is required (${IMPLEMENTED})` : `${why} (got "${name}")`);
      typed?.ignoreRest();
    }
    provider.finish();
  }
  if (out.kind === 'b3' && tracing.bool('spawn_upstream_span', false)) {
    tracing.error('spawn_upstream_span', 'is not supported with the Zipkin tracer: each upstream attempt would get a span of its own; the mesh sends the connection manager span\'s ids');
  }
  ignoreAll(tracing, TRACING_IGNORED);
  tracing.finish();
  return out;
}

/**
 * With the Zipkin tracer a router's `start_child_span` would give each upstream attempt a span of
 * its own (new ids in x-b3-spanid / x-b3-parentspanid): refused at its path. (OpenTelemetry sends a
 * new span id either way; the router's decoder reads past it.)
 */
export function refuseRouterChildSpans(hcm: Reader): void {
  for (const { value, path } of hcm.list('http_filters')) {
    const typed = (value as { typed_config?: unknown; typedConfig?: unknown } | null)?.typed_config ?? (value as { typedConfig?: unknown } | null)?.typedConfig;
    if (typeof typed !== 'object' || typed === null) continue;
    const config = typed as Record<string, unknown>;
    if (typeof config['@type'] !== 'string' || !config['@type'].endsWith('.Router')) continue;
    const key = 'start_child_span' in config ? 'start_child_span' : 'startChildSpan';
    if (config[key] === true || (config[key] as { value?: unknown } | undefined)?.value === true) {
      hcm.issues.error(`${path}.typed_config.${key}`, 'is not supported with the Zipkin tracer: each upstream attempt would get a span of its own; the mesh sends the connection manager span\'s ids');
    }
  }
}

function decodeZipkin(typed: Reader | undefined, outbound: boolean, sampling: TracingSampling): ZipkinTracing {
  const traceId128Bit = typed?.bool('trace_id_128bit', false) ?? false;
  const shared = typed?.bool('shared_span_context', true) ?? true;
  if (typed !== undefined) {
    const option = typed.enumOf('trace_context_option', ['USE_B3', 'USE_B3_WITH_W3C_PROPAGATION'], 'USE_B3', { 0: 'USE_B3', 1: 'USE_B3_WITH_W3C_PROPAGATION' });
    if (option !== 'USE_B3') typed.error('trace_context_option', 'is not supported: USE_B3_WITH_W3C_PROPAGATION (a traceparent beside the B3 headers, read when no B3 came) is not implemented; USE_B3 is');
    ignoreAll(typed, ZIPKIN_IGNORED);
    typed.finish();
  }
  return { kind: 'b3', traceId128Bit, sharedSpanContext: shared && !outbound, sampling };
}

/** The HCM's tracing decision settings (percentages, each 100 when absent). */
function readSampling(tracing: Reader): TracingSampling {
  return {
    client: tracing.percent('client_sampling') ?? 100,
    random: tracing.percent('random_sampling') ?? 100,
    overall: tracing.percent('overall_sampling') ?? 100,
  };
}

const UUID_REQUEST_ID = 'envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig';

/**
 * HCM `request_id_extension`: Envoy's UUID extension (its default) with `pack_trace_reason` and
 * `use_request_id_for_trace_sampling` (both default true); undefined at the defaults. Other request id
 * extensions make ids of their own and are refused.
 */
export function decodeRequestIdExtension(r: Reader): RequestIdTracing | undefined {
  const typed = r.obj('typed_config');
  r.finish();
  if (typed === undefined) return undefined;
  const type = typed.get('@type');
  if (typeof type !== 'string' || !type.endsWith(`/${UUID_REQUEST_ID}`)) {
    typed.error('@type', `is not supported: only Envoy's UUID request id extension (${UUID_REQUEST_ID}) is implemented (got ${JSON.stringify(type)})`);
    typed.ignoreRest();
    return undefined;
  }
  const packTraceReason = typed.bool('pack_trace_reason', true);
  const useForSampling = typed.bool('use_request_id_for_trace_sampling', true);
  typed.finish();
  return packTraceReason && useForSampling ? undefined : { packTraceReason, useForSampling };
}
