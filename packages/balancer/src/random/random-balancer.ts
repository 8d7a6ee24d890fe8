import type { Balancer } from '../balancer.js';
import { PublishingBalancer, type PublishingOptions } from '../publishing-balancer.js';
import { RandomPicker } from './random-picker.js';

/** RANDOM: a weighted uniform draw per pick. */
export function createRandomBalancer(cluster: string, random: () => number, options?: PublishingOptions): Balancer {
  return new PublishingBalancer(cluster, (endpoints) => new RandomPicker(endpoints, random), options);
}
