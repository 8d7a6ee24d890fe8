import type { Endpoint, HealthStatus, Locality, PickInput, PickResult, Picker } from '@xmesh/core';
import type { ClusterConfig, LbPolicy } from '@xmesh/xds';

export interface EndpointOptions {
  priority?: number;
  health?: HealthStatus;
  port?: number;
  weight?: number;
  zone?: string;
  localityWeight?: number;
}

export function endpoint(host: string, options: EndpointOptions = {}): Endpoint {
  const port = options.port ?? 8080;
  const locality: Locality = { region: '', zone: options.zone ?? '', subZone: '' };
  return {
    id: `${host}:${port}`,
    host,
    port,
    weight: options.weight ?? 1,
    healthStatus: options.health ?? 'HEALTHY',
    priority: options.priority ?? 0,
    locality,
    localityWeight: options.localityWeight,
    metadata: {},
  };
}

/** Only the fields balancers read; the rest of ClusterConfig is irrelevant to them. */
export function cluster(name: string, lbPolicy: LbPolicy = 'ROUND_ROBIN', overrides: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    name,
    lbPolicy,
    choiceCount: 2,
    activeRequestBias: 1,
    ringHash: { minimumRingSize: 1024, maximumRingSize: 8_388_608, hashFunction: 'XX_HASH' },
    maglev: { tableSize: 65_537 },
    healthyPanicThreshold: 50,
    localityWeightedLb: false,
    loadAssignment: undefined,
    xmesh: { transport: undefined, failFast: undefined, ewmaDecayMs: 10_000 },
    ...overrides,
  } as ClusterConfig;
}

export const NO_INPUT: PickInput = { hash: undefined, selectionAttempt: 0 };

export function hostOf(result: PickResult): string {
  if (result.type !== 'complete') throw new Error(`expected a complete pick, got ${result.type}`);
  return result.endpoint.host;
}

/** Counts picks per host; `finish` says whether each pick's `done` runs at once. */
export function counts(picker: Picker, picks: number, input: (i: number) => PickInput = () => NO_INPUT): Map<string, number> {
  const seen = new Map<string, number>();
  for (let i = 0; i < picks; i++) {
    const result = picker.pick(input(i));
    const host = hostOf(result);
    if (result.type === 'complete') result.done?.({ kind: 'success', httpStatus: 200, grpcStatus: 0, latencyMs: 1 });
    seen.set(host, (seen.get(host) ?? 0) + 1);
  }
  return seen;
}

/** A deterministic [0, 1) sequence (mulberry32), so distribution tests are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
