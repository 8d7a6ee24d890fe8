import type { RawMetadata } from './metadata.js';
import { statusName } from './status.js';

/**
 * A call that ended with a status other than OK. Created only on failure;
 * successful calls allocate no error.
 */
export class LeanCallError extends Error {
  constructor(
    /** gRPC status code. */
    readonly code: number,
    /** `grpc-message`, percent-decoded. */
    readonly details: string,
    /** Trailers as received (null when the call ended locally or the connection broke). */
    readonly metadata: RawMetadata | null,
    /**
     * True when the upstream had sent response headers before the call failed (a status in
     * trailers, or a reset mid-response), false for trailers-only responses and failures before
     * any response. A retry layer must not replay a call whose response had started.
     */
    readonly responseStarted = false,
  ) {
    super(`${code} ${statusName(code)}: ${details}`);
    this.name = 'LeanCallError';
  }

  /** `grpc-status-details-bin` (a serialized google.rpc.Status), passed through undecoded. */
  statusDetailsBin(): Buffer | undefined {
    const value = this.metadata?.['grpc-status-details-bin'];
    const text = Array.isArray(value) ? value[0] : value;
    return text === undefined ? undefined : Buffer.from(text, 'base64');
  }
}
