import { GrpcStatus } from '@xmesh/core';

/** gRPC status codes: the numbers of `@xmesh/core`'s GrpcStatus (the same as grpc-js `status`). */
export { GrpcStatus };
/** `grpc-status` values are read by `@xmesh/core`'s parser, the one every transport uses. */
export { parseGrpcStatus } from '@xmesh/core';

export type GrpcStatusCode = GrpcStatus;

const STATUS_NAMES: readonly string[] = Object.keys(GrpcStatus);

/** `UNAVAILABLE` for 14; `UNKNOWN` for numbers outside 0..16. */
export function statusName(code: number): string {
  return STATUS_NAMES[code] ?? 'UNKNOWN';
}

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
