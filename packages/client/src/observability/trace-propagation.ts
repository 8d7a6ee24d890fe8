/**
 * The trace headers a routed call sends upstream, as its listener's HttpConnectionManager asks
 * (Envoy's behaviour): a caller's `x-request-id` is kept — but for an external caller at the edge
 * (`use_remote_address`, without `preserve_external_request_id`) — and with `generate_request_id`
 * (default true) one is created when absent or replaced; `traceparent` becomes a child of the caller's (or a new
 * unsampled trace) only when the HCM has `tracing`, otherwise a caller's passes through untouched.
 * Sidecar-mode calls get none here: the sidecar adds them, as Envoy would.
 *
 * Front ends compute these once per call (retries carry the same ids) and apply them to their
 * own metadata shape.
 */
import type * as grpc from '@grpc/grpc-js';
import { childTraceparent, newRequestId } from '@xmesh/stats';
import type { PipelineCall } from '../pipeline-call.js';

/** Headers to set on the upstream request; a name is absent when the caller's value goes as is. */
export interface TraceHeaders {
  traceparent?: string;
  'x-request-id'?: string;
}

/** What `attempt` must add, given the caller's `traceparent` and `x-request-id`; undefined when nothing. */
export function traceHeadersFor(attempt: PipelineCall, parent: string | undefined, requestId: string | undefined): TraceHeaders | undefined {
  if (attempt.state.services === undefined || attempt.mode === 'sidecar') return undefined;
  const listener = attempt.decision?.listener;
  const tracing = listener?.tracing ?? false;
  // At the edge (an external caller, use_remote_address) Envoy replaces the caller's id unless preserve_external_request_id.
  const edge = !attempt.internalCaller && listener?.callerTrust.useRemoteAddress === true && listener.preserveExternalRequestId !== true;
  const createRequestId = (listener?.generateRequestId ?? true) && (!requestId || edge);
  if (!tracing && !createRequestId) return undefined;
  const out: TraceHeaders = {};
  if (tracing) out.traceparent = childTraceparent(parent);
  if (createRequestId) out['x-request-id'] = newRequestId();
  return out;
}


/** The first text value of `name` in grpc-js `metadata`. */
export function metadataText(metadata: grpc.Metadata, name: string): string | undefined {
  const value = metadata.get(name)[0];
  return typeof value === 'string' ? value : undefined;
}
