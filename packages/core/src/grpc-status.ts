/**
 * gRPC status values as every transport reads them, so the lean transport, the fast API, the
 * grpc-js drop-in (on either transport) and the sidecar give one answer for the same upstream
 * bytes. The gRPC over HTTP/2 spec: `grpc-status` is a decimal 0..16; anything else is UNKNOWN.
 */
import { GrpcStatus } from './errors.js';

const GRPC_STATUS_DIGITS = /^\d{1,2}$/;

/**
 * The code of a `grpc-status` header value as received (a repeated header's first value). Anything
 * that is not a decimal integer 0..16 (empty, signed, hexadecimal, fractional, spaces, out of range,
 * absent) is UNKNOWN.
 */
export function parseGrpcStatus(value: string | readonly string[] | undefined): GrpcStatus {
  const text = typeof value === 'string' ? value : value?.[0];
  if (text === undefined || !GRPC_STATUS_DIGITS.test(text)) return GrpcStatus.UNKNOWN;
  const code = Number(text);
  return code <= GrpcStatus.UNAUTHENTICATED ? (code as GrpcStatus) : GrpcStatus.UNKNOWN;
}

/** True when `code` is one of the 17 gRPC status codes. */
export function isGrpcStatus(code: unknown): code is GrpcStatus {
  return typeof code === 'number' && Number.isInteger(code) && code >= GrpcStatus.OK && code <= GrpcStatus.UNAUTHENTICATED;
}
