/**
 * Config at scale (issue 20, item 5): an embedded mesh fed by its ADS client (delta protocol) from the
 * repo's control plane over a real stream on loopback. A benchmark, not a test: run it on a quiet machine.
 *
 * 1. One ClusterLoadAssignment of E endpoints (every port changed each time) served, until the cluster's
 *    picker picks one of the new endpoints: p50/p99 over U updates, without and with endpoint metadata
 *    (Istio-like filter_metadata, locality, load_balancing_weight, health_status). The clock starts once
 *    the control plane has encoded the resource, so it counts the stream, the ADS client's decode, the
 *    snapshot build and the swap.
 * 2. A mesh of C clusters × P endpoints (every cluster's picker built): heap after GC over a mesh of the
 *    same listener without those clusters.
 * 3. One endpoint of one cluster changed in meshes of C/10 and C clusters, until the picker has it:
 *    p50/p99 over U updates (flat = cost of the change, not of the mesh). And one endpoint changed in the
 *    E-endpoint cluster: the transport-pool memberships (connections), outlier and balancer state of the
 *    others must be kept (counted).
 * Steps 1 and 3 are repeated R rounds; the medians of the rounds' p50s are printed last.
 *
 *   npm run config-scale -w bench -- --endpoints 10000 --clusters 5000 --per-cluster 20 --updates 30 --rounds 3
 *   node --conditions=xmesh-source --import tsx --expose-gc bench/src/config-scale.ts --endpoints 10000 --clusters 5000
 */
import { parseArgs } from 'node:util';
import { createMesh, type Mesh } from '@xmesh/client';
import { ControlPlane, silentLogger } from '@xmesh/control-plane';
import { loadEnvoyProtos, TypeUrl } from '@xmesh/xds';
import { machineInfo } from './machine.js';

const { values: args } = parseArgs({
  options: {
    endpoints: { type: 'string', default: '10000' },
    clusters: { type: 'string', default: '5000' },
    'per-cluster': { type: 'string', default: '20' },
    updates: { type: 'string', default: '30' },
    rounds: { type: 'string', default: '3' },
  },
});
const ENDPOINTS = Number(args.endpoints);
const CLUSTERS = Number(args.clusters);
const PER_CLUSTER = Number(args['per-cluster']);
const UPDATES = Number(args.updates);
const ROUNDS = Number(args.rounds);
const LISTENER = 'bench.config';

type Json = Record<string, unknown>;

/** Fake endpoints under 10.0.0.0/8 nobody dials (the bench looks at pickers, not calls). */
const address = (n: number) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

/** Metadata shaped as Istio's EDS sends it (filter_metadata `istio` and `envoy.lb`, per endpoint). */
function istioMetadata(n: number): Json {
  return {
    filter_metadata: {
      istio: { workload: `reviews-v${n % 3};default;reviews;reviews-v${n % 3};Kubernetes`, uid: `kubernetes://reviews-v${n % 3}-${n}.default` },
      'envoy.lb': { version: `v${n % 3}`, canary: n % 10 === 0, 'topology.istio.io/network': 'network1' },
      'envoy.transport_socket_match': { 'tlsMode': 'istio' },
    },
  };
}

function assignment(name: string, count: number, firstId: number, port: (i: number) => number, metadata: boolean): Json {
  const lbEndpoint = (i: number): Json => {
    const base: Json = { endpoint: { address: { socket_address: { address: address(firstId + i), port_value: port(i) } } } };
    if (!metadata) return base;
    return { ...base, metadata: istioMetadata(firstId + i), load_balancing_weight: 1 + (i % 3), health_status: i % 50 === 0 ? 'DRAINING' : 'HEALTHY' };
  };
  if (!metadata) return { '@type': TypeUrl.ClusterLoadAssignment, cluster_name: name, endpoints: [{ lb_endpoints: Array.from({ length: count }, (_, i) => lbEndpoint(i)) }] };
  // Three zones, as a regional deployment spreads them.
  const zones = ['us-east1-b', 'us-east1-c', 'us-east1-d'];
  return {
    '@type': TypeUrl.ClusterLoadAssignment, cluster_name: name,
    endpoints: zones.map((zone, z) => ({
      locality: { region: 'us-east1', zone },
      load_balancing_weight: 100,
      lb_endpoints: Array.from({ length: count }, (_, i) => i).filter((i) => i % zones.length === z).map(lbEndpoint),
    })),
  };
}

function cluster(name: string): Json {
  return { '@type': TypeUrl.Cluster, name, type: 'EDS', connect_timeout: '1s', eds_cluster_config: { eds_config: { ads: {} } } };
}

/** A listener (inline routes) whose one route goes to `c0`: the mesh is an xDS client of listener LISTENER. */
function listener(): Json {
  return {
    '@type': TypeUrl.Listener, name: LISTENER,
    api_listener: { api_listener: {
      '@type': TypeUrl.HttpConnectionManager, stat_prefix: 'bench',
      route_config: { name: 'bench', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '' }, route: { cluster: 'c0' } }] }] },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }],
    } },
  };
}

interface Setup {
  readonly plane: ControlPlane;
  readonly mesh: Mesh;
  close(): Promise<void>;
}

/**
 * A control plane serving `resources` and a mesh following it as a proxy would (every listener and
 * cluster), over delta ADS on loopback; resolves once the mesh has applied them.
 */
async function start(resources: readonly Json[]): Promise<Setup> {
  const plane = new ControlPlane({ protos: loadEnvoyProtos(), logger: silentLogger });
  plane.setSnapshot('v0', resources);
  const port = await plane.listen(0);
  // An Envoy bootstrap whose listeners and clusters come over delta ADS: the mesh subscribes to all of them (wildcard).
  const mesh = await createMesh({
    config: {
      node: { id: 'bench' },
      dynamic_resources: {
        lds_config: { ads: {} }, cds_config: { ads: {} },
        ads_config: { api_type: 'DELTA_GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'xds' } }] },
      },
      static_resources: { clusters: [{ name: 'xds', type: 'STATIC', connect_timeout: '1s', http2_protocol_options: {}, load_assignment: { cluster_name: 'xds', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] } }] },
    },
    env: {},
  });
  return { plane, mesh, close: async () => { await mesh.close(); await plane.close(); } };
}

/** What the bench reads of a cluster runtime (internals: the picker in force, the endpoints listed). */
interface RuntimeInternals {
  readonly balancer: { readonly picker: { pick(input: { selectionAttempt: number }): { type: string; endpoint?: { port: number } } } };
  readonly endpoints: readonly { port: number }[];
  readonly pool: { join(...args: unknown[]): unknown; leave(...args: unknown[]): unknown };
  readonly guard: { outlierDetector?: unknown };
}

function runtimeOf(mesh: Mesh, name: string): RuntimeInternals | undefined {
  return (mesh.state() as unknown as { clusters: ReadonlyMap<string, RuntimeInternals> }).clusters.get(name);
}

/** The port the cluster's picker picks now (undefined before it has endpoints). */
function pickedPort(mesh: Mesh, name: string): number | undefined {
  const result = runtimeOf(mesh, name)?.balancer.picker.pick({ selectionAttempt: 0 });
  return result?.type === 'complete' ? result.endpoint?.port : undefined;
}

/** Waits (polling each turn of the event loop) until `done()`; throws after 30 s. */
async function until(done: () => boolean, what: string): Promise<void> {
  const t0 = performance.now();
  while (!done()) {
    await new Promise((r) => setImmediate(r));
    if (performance.now() - t0 > 30_000) throw new Error(`${what}: not within 30 s`);
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const median = (xs: readonly number[]) => percentile([...xs].sort((a, b) => a - b), 50);

function summary(label: string, samples: readonly number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  return `${label}: p50 ${percentile(s, 50).toFixed(1)} ms, p99 ${percentile(s, 99).toFixed(1)} ms (n=${s.length})`;
}

function heapMb(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

/** Step 1: every port of the E-endpoint assignment changes, U times; ms until the picker picks a new port. */
async function bigAssignment(metadata: boolean): Promise<number[]> {
  const setup = await start([listener(), cluster('c0'), assignment('c0', ENDPOINTS, 0, () => 20_000, metadata)]);
  try {
    await until(() => pickedPort(setup.mesh, 'c0') === 20_000, 'first assignment');
    const samples: number[] = [];
    for (let u = 1; u <= UPDATES; u++) {
      const port = 20_000 + u;
      setup.plane.putResources([assignment('c0', ENDPOINTS, 0, () => port, metadata)]);
      const t0 = performance.now();
      await until(() => pickedPort(setup.mesh, 'c0') === port, `update ${u}`);
      samples.push(performance.now() - t0);
    }
    return samples;
  } finally {
    await setup.close();
  }
}

function meshResources(clusters: number, perCluster: number): Json[] {
  const out: Json[] = [listener()];
  for (let c = 0; c < clusters; c++) {
    out.push(cluster(`c${c}`), assignment(`c${c}`, perCluster, c * perCluster, () => 20_000, false));
  }
  return out;
}

/** Step 2 (and the mesh of step 3): C clusters × P endpoints, every picker built. */
async function bigMesh(clusters: number, perCluster: number): Promise<Setup> {
  const setup = await start(meshResources(clusters, perCluster));
  await until(() => (setup.mesh.state() as unknown as { clusters: ReadonlyMap<string, unknown> }).clusters.size === clusters, 'every cluster');
  for (let c = 0; c < clusters; c++) await until(() => pickedPort(setup.mesh, `c${c}`) === 20_000, `cluster c${c}`);
  return setup;
}

/** Step 3: one endpoint of one cluster (a different one each time) gets a new port, U times. */
/** Ports given by one-endpoint deltas: each delta gives a port not used before (rounds repeat on one mesh). */
let deltaPort = 30_000;

async function oneEndpointDeltas(setup: Setup, clusters: number, perCluster: number): Promise<number[]> {
  const samples: number[] = [];
  for (let u = 1; u <= UPDATES; u++) {
    const c = (u * 7919) % clusters;
    const port = ++deltaPort;
    // Endpoint 0 changes port; the picker of a one-endpoint-changed cluster picks it within P picks.
    setup.plane.putResources([assignment(`c${c}`, perCluster, c * perCluster, (i) => (i === 0 ? port : 20_000), false)]);
    const t0 = performance.now();
    await until(() => runtimeOf(setup.mesh, `c${c}`)?.endpoints.some((e) => e.port === port) === true && pickerHas(setup.mesh, `c${c}`, port, perCluster), `delta ${u}`);
    samples.push(performance.now() - t0);
  }
  return samples;
}

function pickerHas(mesh: Mesh, name: string, port: number, picks: number): boolean {
  const picker = runtimeOf(mesh, name)?.balancer.picker;
  for (let i = 0; i < picks && picker !== undefined; i++) {
    const r = picker.pick({ selectionAttempt: 0 });
    if (r.type === 'complete' && r.endpoint?.port === port) return true;
  }
  return false;
}

/**
 * One endpoint changed in the E-endpoint cluster: counts the transport-pool joins and leaves it caused
 * (1 + 1 when the others are kept) and whether the outlier detector is the same object.
 */
async function keptState(): Promise<string> {
  const setup = await start([listener(), { ...cluster('c0'), outlier_detection: { consecutive_5xx: 5 } }, assignment('c0', ENDPOINTS, 0, () => 20_000, true)]);
  try {
    await until(() => pickedPort(setup.mesh, 'c0') === 20_000, 'first assignment');
    const runtime = runtimeOf(setup.mesh, 'c0')!;
    const pool = runtime.pool;
    let joins = 0;
    let leaves = 0;
    const join = pool.join.bind(pool);
    const leave = pool.leave.bind(pool);
    pool.join = (...a: unknown[]) => { joins += 1; return join(...a); };
    pool.leave = (...a: unknown[]) => { leaves += 1; return leave(...a); };
    const detector = runtime.guard.outlierDetector;
    const t0 = performance.now();
    setup.plane.putResources([assignment('c0', ENDPOINTS, 0, (i) => (i === 0 ? 29_999 : 20_000), true)]);
    await until(() => runtimeOf(setup.mesh, 'c0')!.endpoints.some((e) => e.port === 29_999), 'one-endpoint change');
    const ms = performance.now() - t0;
    const same = runtimeOf(setup.mesh, 'c0') === runtime && runtime.guard.outlierDetector === detector;
    pool.join = join;
    pool.leave = leave;
    return `one endpoint changed among ${ENDPOINTS} (metadata): ${ms.toFixed(1)} ms; transport-pool joins ${joins}, leaves ${leaves} (1 and 1 = the others' connections kept); cluster runtime and outlier detector ${same ? 'kept' : 'REPLACED'}`;
  } finally {
    await setup.close();
  }
}

async function main(): Promise<void> {
  const m = machineInfo();
  console.log(`machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB; Node ${m.node}`);
  console.log(`sizes: ${ENDPOINTS} endpoints per big assignment; ${CLUSTERS} clusters × ${PER_CLUSTER} endpoints; ${UPDATES} updates per round; ${ROUNDS} rounds`);

  // Heap first, on a fresh process.
  const empty = await start([listener(), cluster('c0'), assignment('c0', 1, 0, () => 20_000, false)]);
  await until(() => pickedPort(empty.mesh, 'c0') === 20_000, 'empty mesh');
  const heapEmpty = heapMb();
  await empty.close();
  const t0 = performance.now();
  const big = await bigMesh(CLUSTERS, PER_CLUSTER);
  const loadMs = performance.now() - t0;
  const heapBig = heapMb();
  console.log(`mesh of ${CLUSTERS} clusters × ${PER_CLUSTER} endpoints: applied with every picker built in ${loadMs.toFixed(0)} ms; heap ${heapBig.toFixed(1)} MB, ${(heapBig - heapEmpty).toFixed(1)} MB over a one-cluster mesh`);

  const p50 = new Map<string, number[]>();
  const note = (label: string, samples: number[]) => {
    console.log(summary(label, samples));
    const list = p50.get(label) ?? [];
    list.push(median(samples));
    p50.set(label, list);
  };
  const smallClusters = Math.max(1, Math.round(CLUSTERS / 10));
  for (let round = 1; round <= ROUNDS; round++) {
    console.log(`-- round ${round}`);
    note(`one-endpoint delta, ${CLUSTERS} clusters`, await oneEndpointDeltas(big, CLUSTERS, PER_CLUSTER));
    const small = await bigMesh(smallClusters, PER_CLUSTER);
    try {
      note(`one-endpoint delta, ${smallClusters} clusters`, await oneEndpointDeltas(small, smallClusters, PER_CLUSTER));
    } finally {
      await small.close();
    }
    note(`${ENDPOINTS}-endpoint update, no metadata`, await bigAssignment(false));
    note(`${ENDPOINTS}-endpoint update, with metadata`, await bigAssignment(true));
  }
  await big.close();
  console.log(await keptState());
  console.log(`-- medians of the ${ROUNDS} rounds' p50s`);
  for (const [label, values] of p50) console.log(`${label}: ${median(values).toFixed(1)} ms (p50s ${values.map((v) => v.toFixed(1)).join(', ')})`);
}

main().then(() => process.exit(0), (error: Error) => {
  console.error(error);
  process.exit(1);
});
