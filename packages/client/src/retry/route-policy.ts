/**
 * A route's retry and timeout settings, compiled once per RouteAction object (and so per
 * snapshot): the `retry_on` classifier and the numbers the controller reads.
 */
import { compileRetryOn, type RetryClassifier } from '@xmesh/filters';
import type { RetryPolicy, RouteAction } from '@xmesh/xds';
import type { UpstreamHeaderEdits } from './router-headers.js';

export interface RoutePolicy {
  readonly action: RouteAction;
  readonly retry: RetryPolicy | undefined;
  readonly retryOn: RetryClassifier | undefined;
  /**
   * A compiled policy's first-attempt header edits when the call adds nothing of its own (they are
   * the same for every such call of the route): [without, with] `x-envoy-expected-rq-timeout-ms`;
   * null until computed. Absent on a policy with per-call overrides.
   */
  readonly firstAttemptEdits?: (UpstreamHeaderEdits | undefined | null)[];
}

export class RoutePolicies {
  private readonly compiled = new WeakMap<RouteAction, RoutePolicy>();

  of(action: RouteAction): RoutePolicy {
    let policy = this.compiled.get(action);
    if (policy === undefined) {
      const retry = action.retryPolicy;
      policy = { action, retry, retryOn: retry && retry.numRetries > 0 ? compileRetryOn(retry) : undefined, firstAttemptEdits: [null, null] };
      this.compiled.set(action, policy);
    }
    return policy;
  }
}
