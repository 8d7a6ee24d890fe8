/**
 * Registry scale (issue 18, item 4): S services × I instances in a real etcd; an embedded mesh whose
 * clusters use W of them; a control plane reading the registry with A simulated delta-ADS clients each
 * subscribed to W services. Reports start-up time to the first call, the mesh's heap over an empty
 * mesh, registry→picker latency (an instance registered / deregistered until the picker has it / has
 * lost it) and registry→subscriber latency through the control plane (until every subscriber of the
 * changed service got its response), p50/p99 over C changes, and the control plane's responses per
 * change. A benchmark, not a test: run it on a quiet machine.
 *
 *   npm run registry-scale -w bench -- --services 1000 --instances 100 --watched 50 --changes 1000 --clients 500
 *   node --conditions=xmesh-source --import tsx --expose-gc bench/src/registry-scale.ts --services 50 --instances 20 --changes 100 --clients 20
 */
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { createMesh, type Mesh } from '@xmesh/client';
import { ControlPlane, registryClustersAsEds, serveRegistry, silentLogger } from '@xmesh/control-plane';
import { adsWire, type DeltaDiscoveryRequest, type DeltaDiscoveryResponse } from '@xmesh/discovery';
import { EtcdRegistry, encodeInstance, instanceKey } from '@xmesh/registry-etcd';
import { buildSnapshot, loadEnvoyProtos, TypeUrl } from '@xmesh/xds';
import { loadEchoService, startEchoServer, type EchoClient, type EchoReply } from '@xmesh/example-quickstart';
import { startLocalEtcd } from '@xmesh/example-registry/etcd';

const { values: args } = parseArgs({
  options: {
    services: { type: 'string', default: '1000' },
    instances: { type: 'string', default: '100' },
    watched: { type: 'string', default: '50' },
    changes: { type: 'string', default: '1000' },
    clients: { type: 'string', default: '500' },
  },
});
const SERVICES = Number(args.services);
const INSTANCES = Number(args.instances);
const WATCHED = Math.min(Number(args.watched), SERVICES);
const CHANGES = Number(args.changes);
const CLIENTS = Number(args.clients);
const PREFIX = '/xmesh/services/';
const service = (i: number) => `svc-${String(i).padStart(5, '0')}`;
/** Fake instances: addresses under 10.0.0.0/8 nobody dials (the bench looks at pickers, not calls). */
const fakeAddress = (s: number, i: number) => `10.${(s >> 8) & 255}.${s & 255}.${(i % 250) + 1}`;

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summary(label: string, samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  return `${label}: p50 ${percentile(s, 50).toFixed(1)} ms, p99 ${percentile(s, 99).toFixed(1)} ms, max ${s[s.length - 1]?.toFixed(1)} ms (n=${s.length})`;
}

function heapMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

/** Writes every instance key (no lease: the bench owns them) with bounded concurrency. */
async function populate(etcd: Etcd3): Promise<void> {
  const keys: [string, string][] = [];
  for (let s = 0; s < SERVICES; s++) {
    for (let i = 0; i < INSTANCES; i++) {
      keys.push([instanceKey(PREFIX, service(s), `i${i}`), encodeInstance({ address: fakeAddress(s, i), port: 10_000 + i, weight: 1, zone: '', healthy: true, metadata: {} })]);
    }
  }
  let next = 0;
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (next < keys.length) {
      const [key, value] = keys[next++]!;
      await etcd.put(key).value(value);
    }
  }));
}

/** The probe listener and cluster (one real server), the etcd cluster, and `watched` registry clusters. */
function resources(etcdEndpoint: string, watched: number): Record<string, unknown>[] {
  const cluster = (name: string, svc: string) => ({
    '@type': TypeUrl.Cluster, name, type: 'EDS', connect_timeout: '1s', http2_protocol_options: {},
    eds_cluster_config: { service_name: svc, eds_config: { ads: {} } },
    metadata: { filter_metadata: { xmesh: { registry: { etcd_cluster: 'etcd' } } } },
  });
  const [host, port] = etcdEndpoint.split(':');
  return [
    {
      '@type': TypeUrl.Listener, name: 'bench.registry',
      api_listener: { api_listener: {
        '@type': TypeUrl.HttpConnectionManager, stat_prefix: 'bench',
        route_config: { name: 'bench', virtual_hosts: [{ name: 'probe', domains: ['*'], routes: [{ match: { prefix: '' }, route: { cluster: 'probe' } }] }] },
        http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }],
      } },
    },
    { '@type': TypeUrl.Cluster, name: 'etcd', type: 'STATIC', load_assignment: { cluster_name: 'etcd', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: Number(port) } } } }] }] } },
    cluster('probe', 'probe'),
    ...Array.from({ length: watched }, (_, w) => cluster(`c${w}`, service(w))),
  ];
}

async function main(): Promise<void> {
  const etcdProcess = await startLocalEtcd();
  const etcd = new Etcd3({ hosts: `http://${etcdProcess.endpoint}` });
  const echo = await startEchoServer('probe');
  const closers: (() => Promise<void> | void)[] = [() => etcdProcess.stop(), () => etcd.close(), () => echo.close()];
  try {
    let started = performance.now();
    await populate(etcd);
    await etcd.put(instanceKey(PREFIX, 'probe', 'p0')).value(encodeInstance({ address: '127.0.0.1', port: echo.port, weight: 1, zone: '', healthy: true, metadata: {} }));
    console.log(`etcd: ${SERVICES} services × ${INSTANCES} instances = ${SERVICES * INSTANCES} keys written in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    // ---- embedded mesh: start-up, heap, registry → picker
    const config = resources(etcdProcess.endpoint, WATCHED);
    // The baseline: a mesh with the probe cluster only.
    const empty = await createMesh({ config: resources(etcdProcess.endpoint, 0), listener: 'bench.registry', env: {} });
    const heapBefore = heapMb();
    await empty.close();
    started = performance.now();
    const mesh: Mesh = await createMesh({ config, listener: 'bench.registry', env: {} });
    closers.unshift(() => mesh.close());
    const Echo = loadEchoService();
    const client = mesh.grpcClient(Echo, 'bench.registry:80') as EchoClient;
    closers.unshift(() => client.close());
    await new Promise<EchoReply>((resolve, reject) => client.echo({ message: 'first' }, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (e, r) => (e || !r ? reject(e) : resolve(r))));
    console.log(`embedded: ${WATCHED + 1} registry clusters listed and first call answered in ${(performance.now() - started).toFixed(0)} ms`);
    const heapAfter = heapMb();
    console.log(`embedded: heap ${heapAfter.toFixed(1)} MB, ${(heapAfter - heapBefore).toFixed(1)} MB over a mesh without the watched clusters (${WATCHED} watched services × ${INSTANCES} instances)`);

    const clusters = () => (mesh.state() as { clusters: ReadonlyMap<string, { endpoints: readonly { port: number }[] }> }).clusters;
    const pickerLatencies: number[] = [];
    for (let n = 0; n < Math.min(CHANGES, 1_000); n++) {
      // Each service gets an instance registered (even n), then deregistered (odd n).
      const w = Math.floor(n / 2) % WATCHED;
      const key = instanceKey(PREFIX, service(w), 'bench-change');
      const adding = n % 2 === 0;
      const t0 = performance.now();
      if (adding) await etcd.put(key).value(encodeInstance({ address: '127.0.0.1', port: 65_000, weight: 1, zone: '', healthy: true, metadata: {} }));
      else await etcd.delete().key(key);
      for (;;) {
        const has = clusters().get(`c${w}`)!.endpoints.some((e) => e.port === 65_000);
        if (has === adding) break;
        await new Promise((r) => setImmediate(r));
        if (performance.now() - t0 > 10_000) throw new Error(`change ${n} not in the picker after 10 s`);
      }
      pickerLatencies.push(performance.now() - t0);
    }
    console.log(summary('embedded: registry → picker', pickerLatencies));

    // ---- control plane with simulated delta-ADS clients
    const protos = loadEnvoyProtos();
    const plane = new ControlPlane({ protos, logger: silentLogger });
    const registry = new EtcdRegistry({ endpoints: [etcdProcess.endpoint] });
    started = performance.now();
    const feed = serveRegistry(plane, registry);
    const built = buildSnapshot(config);
    if (!built.ok) throw new Error(JSON.stringify(built.errors));
    plane.setSnapshot('v1', registryClustersAsEds(config, built.snapshot));
    await feed.ready;
    const port = await plane.listen(0);
    console.log(`control plane: ${SERVICES} services served in ${(performance.now() - started).toFixed(0)} ms`);
    closers.unshift(async () => { feed.close(); await registry.close(); await plane.close(); });
    let responses = 0;
    plane.on('response', () => { responses += 1; });
    const wire = adsWire(protos).DeltaAggregatedResources;
    // One connection per simulated client, as separate processes would have: the control plane admits 100 streams per connection.
    const connect = (): grpc.Client => {
      const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
      closers.unshift(() => client.close());
      return client;
    };
    /** Per service: arrival callbacks of its subscribers for the change under way. */
    const waiting = new Map<string, Set<() => void>>();
    const subscribers = new Map<string, number>();
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => new Promise<void>((ready) => {
      const call = connect().makeBidiStreamRequest(wire.path, wire.requestSerialize as (r: DeltaDiscoveryRequest) => Buffer, wire.responseDeserialize as (b: Buffer) => DeltaDiscoveryResponse);
      call.on('error', () => undefined);
      const names = Array.from({ length: WATCHED }, (_, k) => service((c * 7 + k) % SERVICES));
      for (const n of names) subscribers.set(n, (subscribers.get(n) ?? 0) + 1);
      let first = true;
      call.on('data', (res: DeltaDiscoveryResponse) => {
        call.write({ type_url: TypeUrl.ClusterLoadAssignment, response_nonce: res.nonce ?? '' });
        if (first) {
          first = false;
          ready();
          return;
        }
        for (const r of res.resources ?? []) {
          const set = waiting.get(r.name ?? '');
          const done = set?.values().next().value;
          if (done) { set!.delete(done); done(); }
        }
      });
      call.write({ node: { id: `sim-${c}` }, type_url: TypeUrl.ClusterLoadAssignment, resource_names_subscribe: names });
      closers.unshift(() => call.cancel());
    })));
    console.log(`control plane: ${CLIENTS} delta-ADS clients subscribed to ${WATCHED} services each`);
    const pushLatencies: number[] = [];
    const perChange: number[] = [];
    const subscribed = [...subscribers.keys()];
    for (let n = 0; n < CHANGES; n++) {
      const svc = subscribed[Math.floor(n / 2) % subscribed.length]!;
      const expected = subscribers.get(svc)!;
      const arrived = new Promise<void>((resolve) => {
        let left = expected;
        const set = new Set<() => void>();
        for (let i = 0; i < expected; i++) set.add(() => { left -= 1; if (left === 0) resolve(); });
        waiting.set(svc, set);
      });
      const before = responses;
      const t0 = performance.now();
      const key = instanceKey(PREFIX, svc, 'bench-change');
      if (n % 2 === 0) await etcd.put(key).value(encodeInstance({ address: '127.0.0.1', port: 65_001, weight: 1, zone: '', healthy: true, metadata: {} }));
      else await etcd.delete().key(key);
      await Promise.race([arrived, new Promise((_, reject) => setTimeout(() => reject(new Error(`change ${n} of ${svc}: not every subscriber got it within 10 s (${responses - before} responses)`)), 10_000).unref())]);
      pushLatencies.push(performance.now() - t0);
      perChange.push((responses - before) / expected);
      waiting.delete(svc);
    }
    console.log(summary(`control plane: registry → every subscriber (${(subscribed.length ? CLIENTS * WATCHED / subscribed.length : 0).toFixed(1)} subscribers per service on average)`, pushLatencies));
    console.log(`control plane: responses sent per change / subscribers of the changed service: max ${Math.max(...perChange).toFixed(2)} (1.00 = only the subscribers)`);
  } finally {
    for (const close of closers) await close();
  }
}

main().then(() => process.exit(0), (error: Error) => {
  console.error(error);
  process.exit(1);
});
