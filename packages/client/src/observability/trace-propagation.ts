/** Adds W3C `traceparent` (a child of the caller's) and `x-request-id` to what goes upstream. */
import type * as grpc from '@grpc/grpc-js';
import { propagateTrace } from '@xmesh/stats';

/** A copy of `metadata` carrying the propagated trace headers. */
export function withTraceMetadata(metadata: grpc.Metadata): grpc.Metadata {
  const out = metadata.clone();
  const parent = metadata.get('traceparent')[0];
  const requestId = metadata.get('x-request-id')[0];
  const headers = propagateTrace(typeof parent === 'string' ? parent : undefined, typeof requestId === 'string' ? requestId : undefined);
  out.set('traceparent', headers.traceparent);
  out.set('x-request-id', headers['x-request-id']);
  return out;
}

/** Sets the propagated trace headers on an outgoing HTTP header record (lower-case names). */
export function addTraceHeaders(headers: Record<string, string | string[]>): void {
  const parent = headers.traceparent;
  const requestId = headers['x-request-id'];
  const propagated = propagateTrace(typeof parent === 'string' ? parent : undefined, typeof requestId === 'string' ? requestId : undefined);
  headers.traceparent = propagated.traceparent;
  headers['x-request-id'] = propagated['x-request-id'];
}
