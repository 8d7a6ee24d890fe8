import type { Clock } from '@xmesh/core';
import type { Balancer } from '../balancer.js';
import { ChoiceOfNPicker } from '../least-request/choice-of-n-picker.js';
import { PeakEwma } from '../metrics/peak-ewma.js';
import { PublishingBalancer, type PublishingOptions } from '../publishing-balancer.js';

/**
 * PEAK_EWMA (Finagle / linkerd): power of two distinct choices over cost = peak-EWMA latency × (active + 1),
 * decaying with `decayMs`. Selected by `metadata.filter_metadata.xmesh.lb_policy: PEAK_EWMA` on the
 * cluster. Latency state lives per endpoint id across updates.
 */
export function createPeakEwmaBalancer(
  cluster: string,
  decayMs: number,
  clock: Clock,
  random: () => number,
  options: PublishingOptions,
): Balancer {
  const metric = new PeakEwma(clock, decayMs);
  return new PublishingBalancer(cluster, (endpoints) => new ChoiceOfNPicker(endpoints, metric, 2, random, true), {
    ...options,
    onEndpoints: (endpoints) => metric.retain(endpoints.map((e) => e.id)),
  });
}
