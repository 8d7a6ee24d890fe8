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

/** What `attempt` must add, given the caller's headers (read with `read`); undefined when nothing. */
export function traceHeadersFor<H>(attempt: PipelineCall, headers: H, read: HeaderReader<H>): TraceHeaders | undefined {
  if (attempt.state.services === undefined || attempt.mode === 'sidecar') return undefined;
  const listener = attempt.decision?.listener;
  const tracing = listener?.tracing ?? false;
  const requestId = read(headers, 'x-request-id');
  // At the edge (an external caller, use_remote_address) Envoy replaces the caller's id unless preserve_external_request_id.
  const edge = !attempt.internalCaller && listener?.callerTrust.useRemoteAddress === true && listener.preserveExternalRequestId !== true;
  const createRequestId = (listener?.generateRequestId ?? true) && (!requestId || edge);
  if (tracing === false) return createRequestId ? { 'x-request-id': newRequestId() } : undefined;
  let out: TraceHeaders | undefined;
  if (tracing.kind === 'w3c') out = { traceparent: childTraceparent(read(headers, 'traceparent')) };
  else out = b3Headers(headers, read, tracing, () => traced(attempt.decision?.route.tracingSampling ?? tracing.sampling, headers, read, edge));
  if (createRequestId) (out ??= {})['x-request-id'] = newRequestId();
  return out;
}

/**
 * Envoy's tracing decision for a request whose caller sent no sampling flag, by the route's settings
 * when it has `tracing`, else the connection manager's: `x-client-trace-id`
 * with `client_sampling`, else `x-envoy-force-trace` (dropped from external callers at the edge),
 * else `random_sampling`; then `overall_sampling`. Envoy draws the random decisions from the
 * request id; here they are drawn per request, with the same rates.
 */
function traced<H>(sampling: TracingSampling, headers: H, read: HeaderReader<H>, edge: boolean): boolean {
  const { client, random, overall } = sampling;
  const decided = read(headers, 'x-client-trace-id') !== undefined && chance(client)
    || (!edge && read(headers, 'x-envoy-force-trace') !== undefined)
    || chance(random);
  return decided && chance(overall);
}

/** True with probability `percent`/100 (exactly for 0 and 100). */
function chance(percent: number): boolean {
  return percent >= 100 || (percent > 0 && Math.random() * 100 < percent);
}

/** The first text value of `name` in grpc-js `metadata`. */
export function metadataText(metadata: grpc.Metadata, name: string): string | undefined {
  const value = metadata.get(name)[0];
  return typeof value === 'string' ? value : undefined;
}
