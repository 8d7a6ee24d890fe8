/**
 * EDS at scale. Run: node --conditions=xmesh-source --import tsx packages/discovery/src/ads/eds-scale.bench.ts
 *
 * 1. In process: one ClusterLoadAssignment of 10 000 endpoints from wire bytes → proto3 JSON → MeshSnapshot.
 * 2. Over loopback: the control plane serves a new 10 000-endpoint assignment; time until the ADS
 *    client emits the new snapshot (server encode + stream + decode + build).
 * 3. One endpoint changes among 100 clusters × 100 endpoints: state of the world resends every
 *    assignment of the type, delta only the changed one; time until the new snapshot, and what was sent.
 */
// The control plane depends on this package; the benchmark (not built) reaches it by path.
import { ControlPlane, silentLogger, type ResponseEvent } from '../../../control-plane/src/index.js';
import { buildSnapshot, decodeResource, encodeResource, loadEnvoyProtos, TypeUrl, type MeshSnapshot } from '@xmesh/xds';
import { adsWire, XdsClient, DELTA_SERVER_FEATURE } from '../index.js';

const protos = loadEnvoyProtos();
const LISTENER = 'bench.svc';

function resources(clusters: number, perCluster: number, bump = -1): Record<string, unknown>[] {
  const names = Array.from({ length: clusters }, (_, i) => `c${i}`);
  const out: Record<string, unknown>[] = [
    {
      '@type': TypeUrl.Listener, name: LISTENER,
      api_listener: { api_listener: {
        '@type': TypeUrl.HttpConnectionManager, stat_prefix: 'b',
        rds: { route_config_name: 'r', config_source: { ads: {} } },
        http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }],
      } },
    },
    {
      '@type': TypeUrl.RouteConfiguration, name: 'r',
      virtual_hosts: [{ name: 'v', domains: ['*'], routes: names.map((c) => ({ match: { prefix: `/${c}/` }, route: { cluster: c } })) }],
    },
  ];
  for (const c of names) out.push({ '@type': TypeUrl.Cluster, name: c, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } });
  names.forEach((c, ci) => {
    out.push({
      '@type': TypeUrl.ClusterLoadAssignment, cluster_name: c,
      endpoints: [{ locality: { zone: 'z' }, lb_endpoints: Array.from({ length: perCluster }, (_, i) => {
        const n = ci * perCluster + i;
        const port = 10_000 + (n % 50_000) + (n === bump ? 1 : 0);
        return { endpoint: { address: { socket_address: { address: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, port_value: port } } } };
      }) }],
    });
  });
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

function inProcess(): void {
  const set = resources(1, 10_000);
  const wire = adsWire(protos).StreamAggregatedResources;
  const anys = set.map((r) => encodeResource(protos, r));
  const bytes = wire.responseSerialize({ type_url: TypeUrl.ClusterLoadAssignment, version_info: '1', nonce: '1', resources: [anys.at(-1)!] });
  const rest = set.slice(0, -1);
  const decodeMs: number[] = [];
  const buildMs: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    const res = wire.responseDeserialize(bytes);
    const cla = decodeResource(protos, res.resources![0]!);
    const t1 = performance.now();
    const built = buildSnapshot([...rest, cla], { version: String(i) });
    const t2 = performance.now();
    if (!built.ok) throw new Error(JSON.stringify(built.errors.slice(0, 3)));
    decodeMs.push(t1 - t0);
    buildMs.push(t2 - t1);
  }
  console.log(`1. 10 000 endpoints in process (${(bytes.length / 1024).toFixed(0)} KiB on the wire): ` +
    `decode ${fmt(median(decodeMs))} + build ${fmt(median(buildMs))} = ${fmt(median(decodeMs) + median(buildMs))} (median of 7)`);
}

async function overLoopback(delta: boolean, clusters: number, perCluster: number, label: string): Promise<void> {
  const plane = new ControlPlane({ protos, logger: silentLogger });
  plane.setSnapshot('v0', resources(clusters, perCluster));
  const port = await plane.listen(0);
  const client = new XdsClient({
    protos,
    bootstrap: {
      xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: delta ? [DELTA_SERVER_FEATURE] : [] }],
      node: { id: 'bench' },
    },
    listeners: [LISTENER],
  });
  const next = () => new Promise<MeshSnapshot>((resolve) => client.once('snapshot', resolve));
  const first = next();
  client.start();
  await first;
  const serverMs: number[] = [];
  const clientMs: number[] = [];
  let sent: ResponseEvent[] = [];
  let sentAt = 0;
  plane.on('response', (e) => {
    sent.push(e);
    sentAt = performance.now();
  });
  for (let i = 1; i <= 7; i++) {
    sent = [];
    const set = resources(clusters, perCluster, i % 2 === 1 ? 0 : -1);
    const changed = next();
    const t0 = performance.now();
    plane.setSnapshot(`v${i}`, set);
    await changed;
    const t1 = performance.now();
    serverMs.push(sentAt - t0);
    clientMs.push(t1 - sentAt);
  }
  const resourcesSent = sent.reduce((n, e) => n + e.resources.length, 0);
  console.log(`${label}: server (encode snapshot, diff, write) ${fmt(median(serverMs))}; ` +
    `client (receive, decode, build, emit) ${fmt(median(clientMs))} (medians of 7); ` +
    `sent ${resourcesSent} resource(s) in ${sent.length} response(s)`);
  await client.close();
  await plane.close();
}

inProcess();
await overLoopback(false, 1, 10_000, '2. 10 000 endpoints over loopback, state of the world');
await overLoopback(false, 100, 100, '3a. one endpoint of 100 × 100 changes, state of the world');
await overLoopback(true, 100, 100, '3b. one endpoint of 100 × 100 changes, delta');
