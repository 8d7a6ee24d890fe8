/** How an attempt's outcome counts for outlier detection, as Envoy classifies it. */
import type { CallOutcome } from '@xmesh/core';

/** grpc-status → the HTTP status Envoy's router uses for outlier detection (`Grpc::Utility::grpcToHttpStatus`). */
const GRPC_TO_HTTP: readonly number[] = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];

/** The HTTP status the outcome stands for; 0 when there was none (local-origin failure). */
export function effectiveHttpStatus(outcome: CallOutcome): number {
  if (outcome.grpcStatus !== undefined && (outcome.httpStatus === 200 || outcome.httpStatus === 0)) {
    return GRPC_TO_HTTP[outcome.grpcStatus] ?? 500;
  }
  return outcome.httpStatus;
}

/** 5xx as Envoy's consecutive_5xx counts them. */
export function is5xx(status: number): boolean {
  return status >= 500 && status <= 599;
}

/** 502, 503, 504: Envoy's gateway failures. */
export function isGatewayFailure(status: number): boolean {
  return status === 502 || status === 503 || status === 504;
}

/** HTTP status of a local end because the caller went away (nginx's "client closed request"). */
export const CLIENT_CLOSED_REQUEST = 499;

/**
 * The caller gave up (gRPC CANCELLED, or an HTTP attempt ended locally with 499 because its caller
 * aborted): says nothing about the upstream, so it is not counted, as Envoy does not count a
 * downstream reset.
 */
export function isCallerCancel(outcome: CallOutcome): boolean {
  return outcome.grpcStatus === 1 || (outcome.kind === 'local_error' && outcome.httpStatus === CLIENT_CLOSED_REQUEST);
}
