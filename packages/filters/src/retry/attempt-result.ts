/** How one attempt ended, as retry decisions read it. */
export interface AttemptResult {
  /** Response HTTP status; 0 when no response arrived. gRPC responses are 200. */
  readonly httpStatus: number;
  /** gRPC status from the trailers (or trailers-only response); undefined for non-gRPC or no status. */
  readonly grpcStatus: number | undefined;
  /**
   * Why no usable response arrived: `connect` (no connection), `refused` (stream refused),
   * `reset` (connection or stream reset after sending), `per_try_timeout`; `none` otherwise.
   */
  readonly failure: 'none' | 'connect' | 'refused' | 'reset' | 'per_try_timeout';
  /** Response headers (lower-case names), for `retriable-headers` and `envoy-ratelimited`. */
  readonly headers: ReadonlyMap<string, string> | undefined;
}
