/**
 * Encodes a remaining time as a `grpc-timeout` header value: at most 8 digits
 * and a unit (gRPC over HTTP/2 spec). Never returns a zero or negative timeout:
 * a deadline already passed is sent as `1n` and enforced locally.
 */
export function encodeGrpcTimeout(remainingMs: number): string {
  if (remainingMs <= 0) return '1n';
  if (remainingMs < 1) return `${Math.ceil(remainingMs * 1e6)}n`;
  if (remainingMs < 1e8) return `${Math.ceil(remainingMs)}m`;
  const seconds = Math.ceil(remainingMs / 1e3);
  if (seconds < 1e8) return `${seconds}S`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 1e8) return `${minutes}M`;
  return `${Math.min(99_999_999, Math.ceil(minutes / 60))}H`;
}

/** Deadline as grpc-js accepts it: a Date or epoch milliseconds; Infinity means none. */
export type DeadlineInput = Date | number | undefined;

/** Epoch milliseconds of a deadline; Infinity when there is none. */
export function deadlineToEpochMs(deadline: DeadlineInput): number {
  if (deadline === undefined) return Infinity;
  return typeof deadline === 'number' ? deadline : deadline.getTime();
}
