/**
 * The HTTP filters layer: the listener's HTTP filters (fault injection, local rate limiting, rbac,
 * ext_authz, cors, buffer) in order with per-route configs, then a route's own answer (direct_response,
 * redirect), once per call (retries do not re-run it).
 */
import type { MeshError } from '@xmesh/core';
import type { Layer } from './pipeline.js';
import type { PipelineCall } from './pipeline-call.js';

const failCall = (call: PipelineCall, error: MeshError): void => call.fail(error);

export const filtersLayer: Layer = (next) => {
  const pass = next as (call: PipelineCall) => void;
  return (call) => {
    const services = call.state.services;
    const decision = call.decision;
    if (services === undefined || decision === undefined) {
      // A bare pipeline runs no filters; a route that answers itself still answers.
      if (decision?.local !== undefined) call.fail(decision.local.error(call.request));
      else next(call);
      return;
    }
    services.filters.run(call, pass, failCall);
  };
};
