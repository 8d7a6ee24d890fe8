/**
 * The retry + timeout layer: sits after the filters and before admission and pick, so each
 * attempt is admitted and picked anew while the filters ran once. Without mesh services (a
 * bare pipeline) it passes calls through.
 */
import type { Layer } from '../pipeline.js';
import type { PipelineCall } from '../pipeline-call.js';
import { RetryController } from './retry-controller.js';
import { overridesFromHeaders, withOverrides } from './call-overrides.js';
import { isInternalCaller } from './caller-trust.js';
import { headersToRemove, routerConfigOf, strictHeaderError } from './router-headers.js';

export const retryLayer: Layer = (next) => (call) => {
  const services = call.state.services;
  const decision = call.decision;
  if (services === undefined || decision === undefined) {
    next(call);
    return;
  }
  const routePolicy = services.policies.of(decision.route.action);
  // Per-call timeout and retry overrides: set by a front end, or read from the request's x-envoy-*
  // headers when the caller is trusted: the app itself (embedded mode), or a proxied caller that the
  // listener's HttpConnectionManager deems internal.
  const trusted = call.caller === undefined ? services.trustsCallerHeaders : isInternalCaller(call.caller, decision.listener?.callerTrust);
  const router = routerConfigOf(decision);
  const headers = call.request.headers;
  if (trusted) {
    const invalid = strictHeaderError(headers, router);
    if (invalid !== undefined) {
      call.fail(invalid);
      return;
    }
  }
  const overrides = call.overrides ?? (trusted ? overridesFromHeaders(headers, router?.respectExpectedRqTimeout === true) : undefined);
  let policy = overrides === undefined ? routePolicy : withOverrides(routePolicy, overrides);
  // retriable_request_headers: a request none of them matches is not retried, whatever asked for retries (Envoy's RetryStateImpl).
  if (policy.retriableRequest !== undefined && policy.retryOn !== undefined && !policy.retriableRequest(call.request)) policy = { action: policy.action, retry: policy.retry, retryOn: undefined };
  call.internalCaller = trusted;
  const remove = headersToRemove(headers, trusted, decision, call.caller?.mtls === true);
  new RetryController(call, next as (call: PipelineCall) => void, policy, services, remove, router).start();
};
