/**
 * Mesh errors as grpc-js status objects, and gRPC statuses as call outcomes.
 */
import * as grpc from '@grpc/grpc-js';
import { ErrorCode, MeshError, type CallOutcome } from '@xmesh/core';
import { tlsFailureOf } from '@xmesh/tls';
import type { AttemptResult } from '@xmesh/filters';

/** Metadata key carrying the `XMESH_*` code of a mesh-originated failure. */
export const ERROR_CODE_METADATA = 'x-xmesh-error-code';

/** `code` is the error's gRPC status; `details` is `XMESH_CODE: message`; metadata carries the code too. */
export function statusFromMeshError(error: MeshError): grpc.StatusObject {
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_METADATA, error.code);
  return { code: error.grpcStatus, details: `${error.code}: ${error.message}`, metadata };
}

export function outcomeFromStatus(code: number, latencyMs: number): CallOutcome {
  return {
    kind: code === grpc.status.OK ? 'success' : 'upstream_error',
    httpStatus: 200,
    grpcStatus: code,
    latencyMs,
  };
}

/** True for UNAVAILABLE statuses that say no connection could be made (grpc-js and lean wording, TLS handshakes included). */
export function isConnectFailure(code: number, details: string): boolean {
  return code === grpc.status.UNAVAILABLE && /No connection established|ECONNREFUSED|Failed to connect|TLS handshake with /i.test(details);
}

/**
 * The mesh error of a gRPC status that reports a failed TLS handshake (the lean and grpc-js transports keep the
 * marked message in `details`); undefined for any other status.
 */
export function tlsStatusError(code: number, details: string, where: { cluster?: string | undefined; endpoint?: string | undefined }): MeshError | undefined {
  if (code !== grpc.status.UNAVAILABLE) return undefined;
  const kind = tlsFailureOf(details);
  if (kind === undefined) return undefined;
  return new MeshError(ErrorCode.TLS_HANDSHAKE_FAILED, tlsDetails(details), { cluster: where.cluster, endpoint: where.endpoint });
}

/** The TLS part of a transport's status details (`Failed to connect to a:b: TLS handshake with ...` → `TLS handshake with ...`). */
function tlsDetails(details: string): string {
  const at = details.indexOf('TLS handshake with ');
  return at < 0 ? details : details.slice(at);
}

const OK_RESULT: AttemptResult = Object.freeze({ httpStatus: 200, grpcStatus: grpc.status.OK, failure: 'none', headers: undefined });

/** A gRPC status as the retry layer reads it; a failure to connect is told apart from an upstream status. OK ends share one frozen result. */
export function attemptResultOf(code: number, details: string): AttemptResult {
  if (code === grpc.status.OK) return OK_RESULT;
  if (isConnectFailure(code, details)) return { httpStatus: 0, grpcStatus: code, failure: 'connect', headers: undefined };
  return { httpStatus: 200, grpcStatus: code, failure: 'none', headers: undefined };
}
