/**
 * Registry instances as endpoints, one way for both readers: the embedded mesh takes the Endpoint
 * list, the control plane serves the equivalent ClusterLoadAssignment (decoding it gives the same
 * list; a test holds them together). Instances are grouped by zone (one locality each, priority 0),
 * zones and instances in name order; an address:port listed twice keeps its first instance, so no
 * host gets double traffic. A locality's weight is the sum of its instances' weights: gRPC clients
 * drop localities without one and pick a locality by weight, which then matches per-instance
 * weighting; Envoy and xmesh use it only with locality-weighted load balancing.
 */
import { endpointId, type Endpoint, type Locality } from '@xmesh/core';
import { TypeUrl } from '@xmesh/xds';
import type { RegistryInstance } from './registry.js';

const NO_METADATA: Readonly<Record<string, unknown>> = Object.freeze({});

/** The filter metadata key instance labels go under (Envoy's subset load balancer reads it). */
export const INSTANCE_METADATA_KEY = 'envoy.lb';

/** The instances in serving order, one per address:port, with their endpoint ids. */
function ordered(instances: readonly RegistryInstance[]): { readonly id: string; readonly instance: RegistryInstance }[] {
  const sorted = instances
    .map((instance) => ({ id: endpointId(instance.address, instance.port), instance }))
    .sort((a, b) => compare(a.instance.zone, b.instance.zone) || compare(a.id, b.id) || compare(a.instance.id, b.instance.id));
  const seen = new Set<string>();
  return sorted.filter(({ id }) => (seen.has(id) ? false : (seen.add(id), true)));
}

/** Frozen endpoints for the embedded mesh. */
export function registryEndpoints(instances: readonly RegistryInstance[]): readonly Endpoint[] {
  const localities = new Map<string, Locality>();
  const kept = ordered(instances);
  const zoneWeights = weightsByZone(kept.map((k) => k.instance));
  const endpoints = kept.map(({ id, instance }) => {
    let locality = localities.get(instance.zone);
    if (locality === undefined) localities.set(instance.zone, (locality = Object.freeze({ region: '', zone: instance.zone, subZone: '' })));
    const endpoint: Endpoint = {
      id,
      host: instance.address,
      port: instance.port,
      weight: instance.weight,
      healthStatus: instance.healthy ? 'HEALTHY' : 'UNHEALTHY',
      priority: 0,
      locality,
      localityWeight: zoneWeights.get(instance.zone),
      metadata: metadataOf(instance),
    };
    return Object.freeze(endpoint);
  });
  return Object.freeze(endpoints);
}

/** The proto3 JSON ClusterLoadAssignment (with `@type`) the control plane serves for `service`. */
export function registryLoadAssignment(service: string, instances: readonly RegistryInstance[]): Record<string, unknown> {
  const byZone = new Map<string, Record<string, unknown>[]>();
  const kept = ordered(instances);
  const zoneWeights = weightsByZone(kept.map((k) => k.instance));
  for (const { instance } of kept) {
    let list = byZone.get(instance.zone);
    if (list === undefined) byZone.set(instance.zone, (list = []));
    list.push({
      endpoint: { address: { socket_address: { address: instance.address, port_value: instance.port } } },
      health_status: instance.healthy ? 'HEALTHY' : 'UNHEALTHY',
      load_balancing_weight: instance.weight,
      ...(Object.keys(instance.metadata).length === 0 ? {} : { metadata: { filter_metadata: { [INSTANCE_METADATA_KEY]: { ...instance.metadata } } } }),
    });
  }
  return {
    '@type': TypeUrl.ClusterLoadAssignment,
    cluster_name: service,
    endpoints: [...byZone].map(([zone, lbEndpoints]) => ({
      // Always set, even without a zone: gRPC clients refuse a locality left unset.
      locality: zone === '' ? {} : { zone },
      load_balancing_weight: zoneWeights.get(zone),
      lb_endpoints: lbEndpoints,
    })),
  };
}

/** Sum of the instances' weights per zone (a uint32 in the proto: capped). */
function weightsByZone(instances: readonly RegistryInstance[]): Map<string, number> {
  const sums = new Map<string, number>();
  for (const i of instances) sums.set(i.zone, Math.min(0xffffffff, (sums.get(i.zone) ?? 0) + i.weight));
  return sums;
}

function metadataOf(instance: RegistryInstance): Readonly<Record<string, unknown>> {
  if (Object.keys(instance.metadata).length === 0) return NO_METADATA;
  return Object.freeze({ [INSTANCE_METADATA_KEY]: Object.freeze({ ...instance.metadata }) });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
