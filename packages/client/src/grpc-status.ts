/**
 * Mesh errors as grpc-js status objects, gRPC statuses as call outcomes, and how the retry layer
 * reads a gRPC call's end on either transport (the lean transport and grpc-js word their local
 * failures alike where it matters: connect failures, stream resets, lost connections).
 */
import type * as grpc from '@grpc/grpc-js';
import { ErrorCode, GrpcStatus, MeshError, isGrpcStatus, type CallOutcome } from '@xmesh/core';
import { grpcJs } from './lazy-deps.js';
import { tlsFailureOf } from '@xmesh/tls';
import type { AttemptResult } from '@xmesh/filters';

/** Metadata key carrying the `XMESH_*` code of a mesh-originated failure. */
export const ERROR_CODE_METADATA = 'x-xmesh-error-code';

/**
 * `code` is the error's gRPC status; `details` is `XMESH_CODE: message`, or for a reply the config
 * specifies (`error.reply`) its body, as Envoy's grpc-message; metadata carries the code too. A
 * `rewrite` by the listener's local_reply_config gives the status (from its HTTP status) and the message (its body).
 */
export function statusFromMeshError(error: MeshError, rewrite?: { readonly status: number | undefined; readonly body: string | undefined }): grpc.StatusObject {
  const metadata = new (grpcJs().Metadata)();
  metadata.set(ERROR_CODE_METADATA, error.code);
  const details = error.reply === undefined ? `${error.code}: ${error.message}` : error.reply.body;
  if (rewrite === undefined) return { code: error.grpcStatus, details, metadata };
  return { code: rewrite.status === undefined ? error.grpcStatus : grpcStatusOfHttp(rewrite.status), details: rewrite.body ?? details, metadata };
}

/** Envoy's Grpc::Utility::httpToGrpcStatus (gRPC's http-grpc-status-mapping): a local reply's gRPC status from its HTTP status. */
export function grpcStatusOfHttp(status: number): GrpcStatus {
  switch (status) {
    case 400: return GrpcStatus.INTERNAL;
    case 401: return GrpcStatus.UNAUTHENTICATED;
    case 403: return GrpcStatus.PERMISSION_DENIED;
    case 404: return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504: return GrpcStatus.UNAVAILABLE;
    default: return GrpcStatus.UNKNOWN;
  }
}

export function outcomeFromStatus(code: number, latencyMs: number): CallOutcome {
  return {
    kind: code === GrpcStatus.OK ? 'success' : 'upstream_error',
    httpStatus: 200,
    grpcStatus: code,
    latencyMs,
  };
}

/**
 * A status as a transport delivered it, made one of the 17 gRPC codes with string details. grpc-js
 * parses `grpc-status` with `Number()` and passes what it gets (`"abc"` → NaN, `"999"` → 999,
 * `"-1"` → -1): those become UNKNOWN, as the gRPC spec and `@xmesh/core`'s parser say. A status
 * with no code at all is grpc-js failing to read a response message (a compressed frame it cannot
 * inflate, e.g. one sent without `grpc-encoding`): INTERNAL, as the lean transport reports it.
 * Returns `status` itself when it is already well-formed (no allocation on normal ends).
 */
export function wellFormedStatus(status: grpc.StatusObject): grpc.StatusObject {
  if (isGrpcStatus(status.code) && typeof status.details === 'string') return status;
  const code = typeof status.code === 'number' ? (isGrpcStatus(status.code) ? status.code : GrpcStatus.UNKNOWN) : GrpcStatus.INTERNAL;
  const details = typeof status.details === 'string' && status.details !== ''
    ? status.details
    : code === GrpcStatus.INTERNAL
      ? 'Failed to read a response message (grpc-js gave no status code)'
      : `Received an invalid grpc-status (grpc-js read it as ${String(status.code)})`;
  return { code, details, metadata: status.metadata ?? new (grpcJs().Metadata)() };
}

/** True for UNAVAILABLE statuses that say no connection could be made (grpc-js and lean wording, TLS handshakes included). */
export function isConnectFailure(code: number, details: string): boolean {
  return code === GrpcStatus.UNAVAILABLE && /No connection established|ECONNREFUSED|Failed to connect|TLS handshake with /i.test(details);
}

/**
 * The mesh error of a gRPC status that reports a failed TLS handshake (the lean and grpc-js transports keep the
 * marked message in `details`); undefined for any other status.
 */
export function tlsStatusError(code: number, details: string, where: { cluster?: string | undefined; endpoint?: string | undefined }): MeshError | undefined {
  if (code !== GrpcStatus.UNAVAILABLE) return undefined;
  const kind = tlsFailureOf(details);
  if (kind === undefined) return undefined;
  return new MeshError(ErrorCode.TLS_HANDSHAKE_FAILED, tlsDetails(details), { cluster: where.cluster, endpoint: where.endpoint });
}

/** The TLS part of a transport's status details (`Failed to connect to a:b: TLS handshake with ...` → `TLS handshake with ...`). */
function tlsDetails(details: string): string {
  const at = details.indexOf('TLS handshake with ');
  return at < 0 ? details : details.slice(at);
}

/**
 * Local ends that mean the upstream reset the stream or the connection went away after the request
 * was sent, in the words of both transports: `Received RST_STREAM with code N…` (lean and grpc-js),
 * and grpc-js's own wording for the codes it names (CANCEL from the peer, ENHANCE_YOUR_CALM,
 * INADEQUATE_SECURITY, a dropped connection); the lean transport's `Connection error: …`.
 */
const UPSTREAM_RESET = /^(?:Received RST_STREAM with code \d+|Call cancelled$|Connection dropped$|Bandwidth exhausted or memory limit exceeded$|Protocol not secure enough$|Connection error: )/;
/** REFUSED_STREAM: the upstream did not process the request (grpc-js's words, and the lean transport's after its one replay). */
const REFUSED_STREAM = /^(?:Stream refused by server$|Received RST_STREAM with code 7\b)/;

const OK_RESULT: AttemptResult = Object.freeze({ httpStatus: 200, grpcStatus: GrpcStatus.OK, failure: 'none', headers: undefined });

/**
 * A gRPC status as the retry layer reads it. Like Envoy's router: a failure to connect is
 * `connect-failure`, a refused stream `refused-stream`, an upstream reset or lost connection
 * `reset` (none of them carries a grpc-status for the gRPC conditions); any other status is the
 * upstream's. OK ends share one frozen result.
 */
export function attemptResultOf(code: number, details: string): AttemptResult {
  if (code === GrpcStatus.OK) return OK_RESULT;
  if (isConnectFailure(code, details)) return { httpStatus: 0, grpcStatus: code, failure: 'connect', headers: undefined };
  if (REFUSED_STREAM.test(details)) return { httpStatus: 0, grpcStatus: undefined, failure: 'refused', headers: undefined };
  if (UPSTREAM_RESET.test(details)) return { httpStatus: 0, grpcStatus: undefined, failure: 'reset', headers: undefined };
  return { httpStatus: 200, grpcStatus: code, failure: 'none', headers: undefined };
}
