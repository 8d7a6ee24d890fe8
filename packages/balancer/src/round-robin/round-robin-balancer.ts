import type { Balancer } from '../balancer.js';
import { equalWeights } from '../picker.js';
import { PublishingBalancer, type PublishingOptions } from '../publishing-balancer.js';
import { RoundRobinPicker } from './round-robin-picker.js';
import { WeightedRoundRobinPicker } from './weighted-round-robin-picker.js';

/**
 * Round robin weighted by `load_balancing_weight`: plain rotation when weights are equal, smooth
 * weighted round robin otherwise. Each new picker starts at a random offset / phase.
 */
export function createRoundRobinBalancer(cluster: string, random: () => number, options?: PublishingOptions): Balancer {
  return new PublishingBalancer(
    cluster,
    (endpoints) =>
      equalWeights(endpoints)
        ? new RoundRobinPicker(endpoints, Math.floor(random() * endpoints.length))
        : new WeightedRoundRobinPicker(endpoints, random),
    options,
  );
}
