import { GrpcStatus } from '@xmesh/core';

/** gRPC status codes: the numbers of `@xmesh/core`'s GrpcStatus (the same as grpc-js `status`). */
export { GrpcStatus };

export type GrpcStatusCode = GrpcStatus;

const STATUS_NAMES: readonly string[] = Object.keys(GrpcStatus);

/** `UNAVAILABLE` for 14; `UNKNOWN` for numbers outside 0..16. */
export function statusName(code: number): string {
  return STATUS_NAMES[code] ?? 'UNKNOWN';
}

/** Parses a `grpc-status` header value; anything that is not an integer 0..16 is UNKNOWN (gRPC spec). */
export function parseGrpcStatus(value: string | undefined): number {
  if (value === undefined || !GRPC_STATUS_DIGITS.test(value)) return GrpcStatus.UNKNOWN;
  const code = Number(value);
  return code <= 16 ? code : GrpcStatus.UNKNOWN;
}

const GRPC_STATUS_DIGITS = /^\d{1,2}$/;

/** HTTP/2 error codes seen in RST_STREAM, mapped as grpc-js does. */
export function statusFromRstCode(rstCode: number): number {
  switch (rstCode) {
    case 0x7: // REFUSED_STREAM
      return GrpcStatus.UNAVAILABLE;
    case 0x8: // CANCEL
      return GrpcStatus.CANCELLED;
    case 0xb: // ENHANCE_YOUR_CALM
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case 0xc: // INADEQUATE_SECURITY
      return GrpcStatus.PERMISSION_DENIED;
    default:
      return GrpcStatus.INTERNAL;
  }
}
