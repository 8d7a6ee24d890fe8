/**
 * One ClusterLoadAssignment of 10 000 endpoints: `decodeResource` (Any bytes → proto3 JSON) and `buildSnapshot`
 * (JSON → frozen MeshSnapshot), median of 10 runs after warm-up.
 * Run: node --conditions=xmesh-source --import tsx packages/xds/bench/eds-10k.ts [--rich]
 * `--rich` gives every endpoint a health status, a weight and filter metadata.
 */
import { buildSnapshot, decodeResource, encodeResource, loadEnvoyProtos, TypeUrl } from '@xmesh/xds';

const ENDPOINTS = 10_000;
const WARMUP = 5;
const RUNS = 10;
const rich = process.argv.includes('--rich');

function lbEndpoint(n: number): Record<string, unknown> {
  const socket = { address: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, port_value: 10_000 + (n % 50_000) };
  const base = { endpoint: { address: { socket_address: socket } } };
  if (!rich) return base;
  return {
    ...base,
    health_status: n % 7 === 0 ? 'DRAINING' : 'HEALTHY',
    load_balancing_weight: 1 + (n % 5),
    metadata: { filter_metadata: { 'envoy.lb': { canary: n % 10 === 0, shard: `s${n % 16}` } } },
  };
}

const protos = loadEnvoyProtos();
const cluster = { '@type': TypeUrl.Cluster, name: 'c0', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } };
const cla = {
  '@type': TypeUrl.ClusterLoadAssignment,
  cluster_name: 'c0',
  endpoints: [{ locality: { zone: 'z' }, lb_endpoints: Array.from({ length: ENDPOINTS }, (_, i) => lbEndpoint(i)) }],
};
const any = encodeResource(protos, cla);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const decodeMs: number[] = [];
const buildMs: number[] = [];
const totalMs: number[] = [];
for (let i = 0; i < WARMUP + RUNS; i++) {
  const t0 = performance.now();
  const json = decodeResource(protos, any);
  const t1 = performance.now();
  const built = buildSnapshot([cluster, json], { version: String(i) });
  const t2 = performance.now();
  if (!built.ok) throw new Error(JSON.stringify(built.errors.slice(0, 3)));
  if (i < WARMUP) continue;
  decodeMs.push(t1 - t0);
  buildMs.push(t2 - t1);
  totalMs.push(t2 - t0);
}
const fmt = (ms: number): string => `${ms.toFixed(1)} ms`;
console.log(`${ENDPOINTS} endpoints${rich ? ' (rich)' : ''}, ${(any.value.length / 1024).toFixed(0)} KiB: ` +
  `decode ${fmt(median(decodeMs))} + build ${fmt(median(buildMs))}; total ${fmt(median(totalMs))} (median of ${RUNS})`);
