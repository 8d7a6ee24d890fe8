/**
 * W3C trace context and `x-request-id` for upstream requests. An incoming `traceparent` keeps its
 * trace id and flags and gets a fresh parent id (the mesh hop is a child span); without one a new
 * trace starts, unsampled. `x-request-id` passes through, or is created (UUID v4) as Envoy does.
 */
import { randomBytes, randomUUID } from 'node:crypto';

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export interface PropagatedHeaders {
  readonly traceparent: string;
  readonly 'x-request-id': string;
}

/** Headers to send upstream, from the caller's `traceparent` and `x-request-id` (either may be absent). */
export function propagateTrace(traceparent: string | undefined, requestId: string | undefined): PropagatedHeaders {
  return { traceparent: childTraceparent(traceparent), 'x-request-id': requestId || randomUUID() };
}

/** A child of `parent` (same trace id and flags, new span id), or a new root when `parent` is absent or invalid. */
export function childTraceparent(parent: string | undefined): string {
  const match = parent === undefined ? null : TRACEPARENT.exec(parent.trim().toLowerCase());
  const spanId = nonZeroHex(8);
  if (match && match[1] !== 'ff' && !/^0+$/.test(match[2]!) && !/^0+$/.test(match[3]!)) {
    return `00-${match[2]}-${spanId}-${match[4]}`;
  }
  return `00-${nonZeroHex(16)}-${spanId}-00`;
}

function nonZeroHex(bytes: number): string {
  for (;;) {
    const hex = randomBytes(bytes).toString('hex');
    if (!/^0+$/.test(hex)) return hex;
  }
}
