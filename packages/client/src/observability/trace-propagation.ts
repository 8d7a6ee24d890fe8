/**
 * The trace headers a routed call sends upstream, as its listener's HttpConnectionManager asks
 * (Envoy's behaviour): a caller's `x-request-id` is kept — but for an external caller at the edge
 * (`use_remote_address`, without `preserve_external_request_id`) — and with `generate_request_id`
 * (default true) one is created when absent or replaced. With `tracing`, Envoy's tracing decision is
 * packed into it (see `tracingDecision`) and the provider adds its own headers: OpenTelemetry a
 * `traceparent` child of the caller's (or a new trace, sampled as decided), Zipkin the B3 headers of
 * Envoy's Zipkin span (`b3Headers`), none without a provider; a caller's pass through untouched.
 * Sidecar-mode calls get none here: the sidecar adds them, as Envoy would.
 *
 * Front ends compute these once per call (retries carry the same ids) and apply them to their
 * own metadata shape.
 */
import type * as grpc from '@grpc/grpc-js';
import type { RequestIdTracing, TracingSampling } from '@xmesh/xds';
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
  const upstreamId = createdId ?? requestId;
  const sampling = attempt.decision?.route.tracingSampling ?? tracing.sampling;
  const decision = tracingDecision(sampling, listener!.requestIdTracing ?? DEFAULT_REQUEST_ID_TRACING, headers, read, attempt.internalCaller, upstreamId);
  let out: TraceHeaders | undefined = tracing.kind === 'w3c'
    ? { traceparent: childTraceparent(read(headers, 'traceparent'), decision.traced) }
    : tracing.kind === 'b3' ? b3Headers(headers, read, tracing, () => decision.traced) : undefined;
  if (decision.requestId !== upstreamId || createdId !== undefined) (out ??= {})['x-request-id'] = decision.requestId!;
  return out;
}

const DEFAULT_REQUEST_ID_TRACING: RequestIdTracing = { packTraceReason: true, useForSampling: true };

/** Envoy's trace reasons as the UUID request id extension packs them (the id's 15th character). */
const NOT_TRACEABLE = '4';
const SAMPLED = '9';
const SERVICE_FORCED = 'a';
const CLIENT_FORCED = 'b';
const UUID_LENGTH = 36;
const REASON_AT = 14;

/** The trace reason packed in `requestId`; NOT_TRACEABLE when none is (or when packing is off). */
function packedReason(requestId: string, settings: RequestIdTracing): string {
  if (!settings.packTraceReason || requestId.length !== UUID_LENGTH) return NOT_TRACEABLE;
  const reason = requestId[REASON_AT]!;
  return reason === SAMPLED || reason === SERVICE_FORCED || reason === CLIENT_FORCED ? reason : NOT_TRACEABLE;
}

/** `requestId` with `reason` packed in, as Envoy's UUID extension sets it (unchanged when packing is off or it is no UUID). */
function withReason(requestId: string, reason: string, settings: RequestIdTracing): string {
  if (!settings.packTraceReason || requestId.length !== UUID_LENGTH || requestId[REASON_AT] === reason) return requestId;
  return `${requestId.slice(0, REASON_AT)}${reason}${requestId.slice(REASON_AT + 1)}`;
}

/**
 * Envoy's tracing decision (`ConnectionManagerUtility::mutateTracingRequestHeader`), by the route's
 * settings when it has `tracing`, else the connection manager's, and the request id as it goes upstream
 * after it (the decision packed in, as Envoy's UUID extension does). Without
 * `use_request_id_for_trace_sampling` every request is traced. Else the decision rests on the request id:
 * none, or one not starting with 8 hex digits, is not traced. A reason already packed in the id (`9`
 * sampled, `a` forced by the service, `b` forced by the client) stands; else `x-client-trace-id` with
 * `client_sampling` (a random draw) packs `b`, an internal caller's `x-envoy-force-trace` (an external
 * caller's is removed) `a`, `random_sampling` `9`; then `overall_sampling` may undo it (packing `4`). The
 * random and overall draws are the request id's first 8 hex digits modulo 10 000 against the percentage
 * in hundredths, as Envoy draws them.
 */
function tracingDecision<H>(sampling: TracingSampling, settings: RequestIdTracing, headers: H, read: HeaderReader<H>, internalCaller: boolean, requestId: string | undefined): { traced: boolean; requestId: string | undefined } {
  if (!settings.useForSampling) return { traced: true, requestId };
  if (requestId === undefined || !REQUEST_ID_HEAD.test(requestId)) return { traced: false, requestId };
  const draw = parseInt(requestId.slice(0, 8), 16) % 10_000;
  let reason = packedReason(requestId, settings);
  let id = requestId;
  if (reason === NOT_TRACEABLE) {
    if (read(headers, 'x-client-trace-id') !== undefined && chance(sampling.client)) reason = CLIENT_FORCED;
    else if (internalCaller && read(headers, 'x-envoy-force-trace') !== undefined) reason = SERVICE_FORCED;
    else if (draw < Math.round(sampling.random * 100)) reason = SAMPLED;
    if (reason !== NOT_TRACEABLE) id = withReason(id, reason, settings);
  }
  if (reason !== NOT_TRACEABLE && draw >= Math.round(sampling.overall * 100)) {
    reason = NOT_TRACEABLE;
    id = withReason(id, reason, settings);
  }
  return { traced: reason !== NOT_TRACEABLE, requestId: id };
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

/** The names of `trace`'s per-call ids (`x-b3-sampled` is one of two values: it stays indexable), from lists made once. */
export function neverIndexedNames(trace: TraceHeaders): readonly string[] {
  const requestId = trace['x-request-id'] !== undefined;
  if (trace['x-b3-traceid'] !== undefined) {
    if (trace['x-b3-parentspanid'] === undefined) return requestId ? B3_AND_REQUEST_ID : B3_ONLY;
    return requestId ? B3_WITH_PARENT_AND_REQUEST_ID : B3_WITH_PARENT;
  }
  return trace.traceparent === undefined ? REQUEST_ID_ONLY : requestId ? BOTH_TRACE_HEADERS : TRACEPARENT_ONLY;
}

const REQUEST_ID_ONLY: readonly string[] = Object.freeze(['x-request-id']);
const TRACEPARENT_ONLY: readonly string[] = Object.freeze(['traceparent']);
const BOTH_TRACE_HEADERS: readonly string[] = Object.freeze(['traceparent', 'x-request-id']);
const B3_ONLY: readonly string[] = Object.freeze(['x-b3-traceid', 'x-b3-spanid']);
const B3_AND_REQUEST_ID: readonly string[] = Object.freeze(['x-b3-traceid', 'x-b3-spanid', 'x-request-id']);
const B3_WITH_PARENT: readonly string[] = Object.freeze(['x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid']);
const B3_WITH_PARENT_AND_REQUEST_ID: readonly string[] = Object.freeze(['x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-request-id']);
