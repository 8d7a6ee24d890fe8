/**
 * The trace headers a routed call sends upstream, as its listener's HttpConnectionManager asks
 * (Envoy's behaviour): a caller's `x-request-id` is kept — but for an external caller at the edge
 * (`use_remote_address`, without `preserve_external_request_id`) — and with `generate_request_id`
 * (default true) one is created when absent or replaced. The HCM's `tracing` provider adds its own:
 * OpenTelemetry a `traceparent` child of the caller's (or a new unsampled trace), Zipkin the B3
 * headers of Envoy's Zipkin span (`b3Headers`); without `tracing` a caller's pass through untouched.
 * Sidecar-mode calls get none here: the sidecar adds them, as Envoy would.
 *
 * Front ends compute these once per call (retries carry the same ids) and apply them to their
 * own metadata shape.
 */
import type * as grpc from '@grpc/grpc-js';
import type { TracingSampling } from '@xmesh/xds';
import { b3Headers, childTraceparent, newRequestId, type B3Headers, type HeaderReader } from '@xmesh/stats';
import type { PipelineCall } from '../pipeline-call.js';

/** Headers to set on the upstream request; a name is absent when the caller's value goes as is. */
export interface TraceHeaders extends Partial<B3Headers> {
  traceparent?: string;
  'x-request-id'?: string;
}

/** What `attempt` must add, given the caller's headers (read with `read`), as a new object the caller owns; undefined when nothing. */
export function traceHeadersFor<H>(attempt: PipelineCall, headers: H, read: HeaderReader<H>): TraceHeaders | undefined {
  if (attempt.state.services === undefined || attempt.mode === 'sidecar') return undefined;
  const listener = attempt.decision?.listener;
  const tracing = listener?.tracing ?? false;
  const requestId = read(headers, 'x-request-id');
  // At the edge (an external caller, use_remote_address) Envoy replaces the caller's id unless preserve_external_request_id.
  const edge = !attempt.internalCaller && listener?.callerTrust.useRemoteAddress === true && listener.preserveExternalRequestId !== true;
  const createRequestId = (listener?.generateRequestId ?? true) && (!requestId || edge);
  if (tracing === false) return createRequestId ? { 'x-request-id': newRequestId() } : undefined;
  const createdId = createRequestId ? newRequestId() : undefined;
  let out: TraceHeaders | undefined;
  if (tracing.kind === 'w3c') {
    out = { traceparent: childTraceparent(read(headers, 'traceparent')) };
  } else {
    const sampling = attempt.decision?.route.tracingSampling ?? tracing.sampling;
    out = b3Headers(headers, read, tracing, () => traced(sampling, headers, read, attempt.internalCaller, createdId ?? requestId));
  }
  if (createdId !== undefined) (out ??= {})['x-request-id'] = createdId;
  return out;
}

/**
 * Envoy's tracing decision (`mutateTracingRequestHeader`) for a request whose caller sent no
 * sampling flag, by the route's settings when it has `tracing`, else the connection manager's. It
 * rests on the upstream `x-request-id`: none, or one not starting with 8 hex digits, is not traced.
 * A UUID whose trace-reason digit (the 15th character) says traced (`9` forced, `a` client, `b`
 * sampled) stays traced; else `x-client-trace-id` with `client_sampling` (a random draw), else
 * an internal caller's `x-envoy-force-trace` (an external caller's is removed), else `random_sampling`; then
 * `overall_sampling`. The random and overall draws are the request id's first 8 hex digits modulo
 * 10 000 against the percentage in hundredths, as Envoy draws them.
 */
function traced<H>(sampling: TracingSampling, headers: H, read: HeaderReader<H>, internalCaller: boolean, requestId: string | undefined): boolean {
  if (requestId === undefined || !REQUEST_ID_HEAD.test(requestId)) return false;
  const draw = parseInt(requestId.slice(0, 8), 16) % 10_000;
  const reason = requestId.length === 36 ? requestId[14] : undefined;
  const decided = reason === '9' || reason === 'a' || reason === 'b'
    || (read(headers, 'x-client-trace-id') !== undefined && chance(sampling.client))
    || (internalCaller && read(headers, 'x-envoy-force-trace') !== undefined)
    || draw < Math.round(sampling.random * 100);
  return decided && draw < Math.round(sampling.overall * 100);
}

const REQUEST_ID_HEAD = /^[0-9a-fA-F]{8}/;

/** True with probability `percent`/100 (exactly for 0 and 100). */
function chance(percent: number): boolean {
  return percent >= 100 || (percent > 0 && Math.random() * 100 < percent);
}

/** The first text value of `name` in grpc-js `metadata`. */
export function metadataText(metadata: grpc.Metadata, name: string): string | undefined {
  const value = metadata.get(name)[0];
  return typeof value === 'string' ? value : undefined;
}
