/**
 * A route's retry and timeout settings, compiled once per RouteAction object (and so per
 * snapshot): the `retry_on` classifier and the numbers the controller reads.
 */
import { compileRetryOn, type RetryClassifier } from '@xmesh/filters';
import type { HeaderMatcher, RetryPolicy, RouteAction } from '@xmesh/xds';
import type { UpstreamHeaderEdits } from './router-headers.js';
import { compileHeaderMatcher, type HeaderPredicate } from '@xmesh/router';

export interface RoutePolicy {
  readonly action: RouteAction;
  readonly retry: RetryPolicy | undefined;
  readonly retryOn: RetryClassifier | undefined;
  /** `retriable_request_headers`: true when the request may be retried (one matcher matches); absent when the policy sets none. */
  readonly retriableRequest?: HeaderPredicate;
  /**
   * `hedge_on_per_try_timeout`: a per-try timeout leaves the attempt running and races a retry with
   * it, where the front end can (`PipelineCall.hedgeable`); absent = false.
   */
  readonly hedgeOnPerTryTimeout?: boolean;
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
      const requestMatchers = retry?.retriableRequestHeaders;
      policy = {
        action,
        retry,
        retryOn: retry && retry.numRetries > 0 ? compileRetryOn(retry) : undefined,
        ...(requestMatchers === undefined ? {} : { retriableRequest: anyMatches(requestMatchers) }),
        ...(action.hedgeOnPerTryTimeout === true ? { hedgeOnPerTryTimeout: true } : {}),
        firstAttemptEdits: [null, null],
      };
      this.compiled.set(action, policy);
    }
    return policy;
  }
}

/** True when one of `matchers` matches (Envoy's RetryStateImpl: any retriable request header enables retries). */
function anyMatches(matchers: readonly HeaderMatcher[]): HeaderPredicate {
  const tests = matchers.map((m, i) => compileHeaderMatcher(m, `retry_policy.retriable_request_headers[${i}]`));
  return (request) => tests.some((t) => t(request));
}
