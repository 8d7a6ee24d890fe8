import type { Balancer } from '../balancer.js';
import { PublishingBalancer, type PublishingOptions } from '../publishing-balancer.js';
import { RingHashPicker, type RingSize } from './ring-hash-picker.js';

/** RING_HASH: one ring per priority / locality bucket; the request hash also picks the bucket. */
export function createRingHashBalancer(cluster: string, size: RingSize, random: () => number, options: PublishingOptions): Balancer {
  return new PublishingBalancer(cluster, (endpoints) => new RingHashPicker(endpoints, size, random), { ...options, bucketByHash: true });
}
