/**
 * The retry + timeout layer: sits after the filters and before admission and pick, so each
 * attempt is admitted and picked anew while the filters ran once. Without mesh services (a
 * bare pipeline) it passes calls through.
 */
import type { Layer } from '../pipeline.js';
import type { PipelineCall } from '../pipeline-call.js';
import { RetryController } from './retry-controller.js';

export const retryLayer: Layer = (next) => (call) => {
  const services = call.state.services;
  const decision = call.decision;
  if (services === undefined || decision === undefined) {
    next(call);
    return;
  }
  const policy = services.policies.of(decision.route.action);
  new RetryController(call, next as (call: PipelineCall) => void, policy, services).start();
};
