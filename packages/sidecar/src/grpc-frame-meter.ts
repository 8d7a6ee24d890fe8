/**
 * Follows gRPC's length-prefixed framing (1 flag byte, 4-byte big-endian length, payload) through
 * a relayed byte stream, chunk by chunk, without buffering or decoding anything: it only finds the
 * first message whose length prefix exceeds the limit, so the proxy can end that stream at once
 * instead of relaying (or waiting for) up to 4 GiB.
 */
const PREFIX_BYTES = 5;

export class GrpcFrameMeter {
  /** Prefix bytes of the current message seen so far (0 = at a message boundary). */
  private prefixSeen = 0;
  private length = 0;
  /** Payload bytes of the current message still to come. */
  private remaining = 0;
  /** True when the offending message's prefix began in an earlier chunk (some of it was already relayed). */
  splitPrefix = false;

  constructor(readonly limit: number) {}

  /** True when the bytes relayed so far end on a message boundary (nothing of a message is pending). */
  get atBoundary(): boolean {
    return this.prefixSeen === 0 && this.remaining === 0;
  }

  /**
   * Scans `chunk`. Returns -1 when every message in it is within the limit; otherwise the number of
   * leading bytes of `chunk` before the offending message's prefix (0 when that prefix began in an
   * earlier chunk: see `splitPrefix`). The meter must not be used after that.
   */
  scan(chunk: Uint8Array): number {
    const size = chunk.length;
    let i = 0;
    let prefixStart = 0;
    while (i < size) {
      if (this.remaining > 0) {
        const skip = Math.min(this.remaining, size - i);
        this.remaining -= skip;
        i += skip;
        continue;
      }
      if (this.prefixSeen === 0) {
        prefixStart = i;
        this.length = 0;
      } else if (this.prefixSeen > 0 && i === 0) {
        prefixStart = -1;
      }
      // The flag byte is not part of the length.
      if (this.prefixSeen > 0) this.length = this.length * 256 + chunk[i]!;
      this.prefixSeen++;
      i++;
      if (this.prefixSeen < PREFIX_BYTES) continue;
      this.prefixSeen = 0;
      if (this.length > this.limit) {
        this.splitPrefix = prefixStart < 0;
        return prefixStart < 0 ? 0 : prefixStart;
      }
      this.remaining = this.length;
    }
    return -1;
  }
}
