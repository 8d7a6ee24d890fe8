/**
 * The contract between the retry layer and a protocol front end (gRPC call, HTTP exchange).
 * The front end reports every end of an attempt here before the caller sees it; when this
 * returns true a retry is under way and the front end drops that end silently.
 */
import type { MeshError } from '@xmesh/core';
import type { AttemptResult } from '@xmesh/filters';
import type { PipelineCall } from '../pipeline-call.js';

export interface AttemptRetry {
  /**
   * `attempt` ended with `result`. `committed` is true once any response (headers or a message)
   * reached the caller, or the caller cancelled: then it is never retried. Returns true when a
   * new attempt replaces this one.
   */
  onAttemptEnd(attempt: PipelineCall, result: AttemptResult, committed: boolean): boolean;
  /**
   * Response headers arrived, not yet delivered: true when `retry_on` retries them and a new attempt
   * replaces this one (the front end then drops this response). False leaves the call running.
   */
  retryOnResponse(attempt: PipelineCall, result: AttemptResult): boolean;
  /**
   * Response headers of `attempt` reach the caller now (they were not retried). False when another
   * attempt's response was taken first (hedging): the front end drops this one, the attempt is being
   * reset. True otherwise; with hedging, every other attempt of the call is then reset.
   */
  responseStarts(attempt: PipelineCall): boolean;
  /** False when the route has no retry policy: front ends need not keep what they sent. */
  readonly canRetry: boolean;
  /**
   * Set once the route timeout cut the call: a front end reports this error instead of a failed
   * status that raced it (the attempt was being aborted when its own failure arrived).
   */
  readonly timeoutError: MeshError | undefined;
  /**
   * Traffic moved on the call, either way (a request message or body chunk sent, response headers,
   * a message or body chunk received): the stream idle timeout counts again from now.
   */
  streamActive(): void;
  /** The call ended without a transport result (a local failure): stop timers. Idempotent. */
  end(): void;
  /**
   * The attempt waits where no transport call enforces the caller's deadline (queued admission):
   * the retry layer ends it at that deadline. Idempotent.
   */
  enforceDeadline(): void;
}
