import type { Balancer } from '../balancer.js';
import { PublishingBalancer, type PublishingOptions } from '../publishing-balancer.js';
import { MaglevPicker } from './maglev-picker.js';

/** MAGLEV: one table per priority / locality bucket; the request hash also picks the bucket. */
export function createMaglevBalancer(cluster: string, tableSize: number, random: () => number, options: PublishingOptions): Balancer {
  return new PublishingBalancer(cluster, (endpoints) => new MaglevPicker(endpoints, tableSize, random), { ...options, bucketByHash: true });
}
