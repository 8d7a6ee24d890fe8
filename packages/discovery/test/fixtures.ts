import type { Endpoint, HealthStatus } from '@xmesh/core';
import type { ClusterConfig, DiscoveryType, LoadAssignment, LocalityEndpoints } from '@xmesh/xds';

export function endpoint(host: string, port: number, extra: { priority?: number; weight?: number; health?: HealthStatus; zone?: string } = {}): Endpoint {
  return {
    id: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    host,
    port,
    weight: extra.weight ?? 1,
    healthStatus: extra.health ?? 'UNKNOWN',
    priority: extra.priority ?? 0,
    locality: { region: 'r', zone: extra.zone ?? 'z', subZone: '' },
    localityWeight: undefined,
    metadata: {},
  };
}

export function locality(zone: string, priority: number, endpoints: Endpoint[]): LocalityEndpoints {
  return { locality: { region: 'r', zone, subZone: '' }, priority, loadBalancingWeight: undefined, endpoints };
}

export function assignment(name: string, localities: LocalityEndpoints[]): LoadAssignment {
  return { clusterName: name, localities, overprovisioningFactor: 140, dropOverloads: [], endpointStaleAfterMs: undefined };
}

/** The discovery-relevant fields of a ClusterConfig; the rest is irrelevant here. */
export function cluster(type: DiscoveryType, loadAssignment: LoadAssignment | undefined, extra: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    name: 'svc',
    type,
    edsServiceName: undefined,
    dnsRefreshRateMs: 5000,
    dnsLookupFamily: 'V4_ONLY',
    respectDnsTtl: false,
    loadAssignment,
    ...extra,
  } as ClusterConfig;
}

/** A resolver answering from a mutable table; a missing or Error entry fails the lookup. */
export class FakeResolver {
  readonly answers = new Map<string, string[] | Error>();
  readonly calls: string[] = [];

  readonly resolve = async (host: string): Promise<string[]> => {
    this.calls.push(host);
    const answer = this.answers.get(host);
    if (answer === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    if (answer instanceof Error) throw answer;
    return answer;
  };
}
