/**
 * The HTTP filters layer: fault injection and local rate limiting, in the listener's filter
 * order with per-route configs, once per call (retries do not re-run it).
 */
import type { MeshError } from '@xmesh/core';
import type { Layer } from './pipeline.js';
import type { PipelineCall } from './pipeline-call.js';

const failCall = (call: PipelineCall, error: MeshError): void => call.fail(error);

export const filtersLayer: Layer = (next) => {
  const pass = next as (call: PipelineCall) => void;
  return (call) => {
    const services = call.state.services;
    if (services === undefined || call.decision === undefined) {
      next(call);
      return;
    }
    services.filters.run(call, pass, failCall);
  };
};
