import { systemClock, type Clock } from '@xmesh/core';
import type { ClusterConfig } from '@xmesh/xds';
import type { Balancer } from './balancer.js';
import type { PublishingOptions } from './publishing-balancer.js';
import { createRoundRobinBalancer } from './round-robin/round-robin-balancer.js';
import { createRandomBalancer } from './random/random-balancer.js';
import { createLeastRequestBalancer } from './least-request/least-request-balancer.js';
import { createRingHashBalancer } from './ring-hash/ring-hash-balancer.js';
import { createMaglevBalancer } from './maglev/maglev-balancer.js';
import { createPeakEwmaBalancer } from './peak-ewma/peak-ewma-balancer.js';

export interface BalancerOptions {
  /** Returns a number in [0, 1). Default Math.random. */
  readonly random?: () => number;
  /** For time-based load metrics (peak EWMA). Default: the system clock. */
  readonly clock?: Clock;
}

const DEFAULT_OVERPROVISIONING_FACTOR = 140;

/**
 * The balancer for `cluster.lbPolicy`, with the cluster's priority / locality / panic settings.
 * Expects the config as decoded by @xmesh/xds, with Envoy's defaults already applied.
 */
export function createBalancer(cluster: ClusterConfig, options: BalancerOptions = {}): Balancer {
  const random = options.random ?? Math.random;
  const publishing: PublishingOptions = {
    loadPlan: {
      overprovisioningFactor: cluster.loadAssignment?.overprovisioningFactor ?? DEFAULT_OVERPROVISIONING_FACTOR,
      panicThreshold: cluster.healthyPanicThreshold,
      localityWeighted: cluster.localityWeightedLb,
    },
    random,
    bucketByHash: false,
  };
  switch (cluster.lbPolicy) {
    case 'ROUND_ROBIN':
      return createRoundRobinBalancer(cluster.name, random, publishing);
    case 'RANDOM':
      return createRandomBalancer(cluster.name, random, publishing);
    case 'LEAST_REQUEST':
      return createLeastRequestBalancer(
        cluster.name,
        { choiceCount: cluster.choiceCount, activeRequestBias: cluster.activeRequestBias },
        random,
        publishing,
      );
    case 'RING_HASH':
      return createRingHashBalancer(cluster.name, cluster.ringHash, random, publishing);
    case 'MAGLEV':
      return createMaglevBalancer(cluster.name, cluster.maglev.tableSize, random, publishing);
    case 'PEAK_EWMA':
      return createPeakEwmaBalancer(cluster.name, cluster.xmesh.ewmaDecayMs, options.clock ?? systemClock, random, publishing);
  }
}
