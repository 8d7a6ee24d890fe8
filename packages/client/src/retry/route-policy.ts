/**
 * A route's retry and timeout settings, compiled once per RouteAction object (and so per
 * snapshot): the `retry_on` classifier and the numbers the controller reads.
 */
import { compileRetryOn, type RetryClassifier } from '@xmesh/filters';
import type { RetryPolicy, RouteAction } from '@xmesh/xds';

export interface RoutePolicy {
  readonly action: RouteAction;
  readonly retry: RetryPolicy | undefined;
  readonly retryOn: RetryClassifier | undefined;
}

export class RoutePolicies {
  private readonly compiled = new WeakMap<RouteAction, RoutePolicy>();

  of(action: RouteAction): RoutePolicy {
    let policy = this.compiled.get(action);
    if (policy === undefined) {
      const retry = action.retryPolicy;
      policy = { action, retry, retryOn: retry && retry.numRetries > 0 ? compileRetryOn(retry) : undefined };
      this.compiled.set(action, policy);
    }
    return policy;
  }
}
