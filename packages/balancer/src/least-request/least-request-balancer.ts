import type { Balancer } from '../balancer.js';
import { ActiveRequests } from '../metrics/active-requests.js';
import { equalWeights } from '../picker.js';
import { PublishingBalancer, type PublishingOptions } from '../publishing-balancer.js';
import { ChoiceOfNPicker } from './choice-of-n-picker.js';
import { WeightedLeastRequestPicker } from './weighted-least-request-picker.js';

export interface LeastRequestSettings {
  /** `choice_count`, default 2. */
  readonly choiceCount: number;
  /** `active_request_bias`, default 1. */
  readonly activeRequestBias: number;
}

/**
 * LEAST_REQUEST as Envoy: power of `choice_count` choices over active requests when all weights
 * are equal, weighted least request otherwise. Active counts live per endpoint id across updates.
 */
export function createLeastRequestBalancer(
  cluster: string,
  settings: LeastRequestSettings,
  random: () => number,
  options: PublishingOptions,
): Balancer {
  const metric = new ActiveRequests();
  return new PublishingBalancer(
    cluster,
    (endpoints) =>
      equalWeights(endpoints)
        ? new ChoiceOfNPicker(endpoints, metric, Math.max(1, settings.choiceCount), random)
        : new WeightedLeastRequestPicker(endpoints, metric, settings.activeRequestBias),
    { ...options, onEndpoints: (endpoints) => metric.retain(endpoints.map((e) => e.id)) },
  );
}
