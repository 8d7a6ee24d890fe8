/**
 * SOFARPC Bolt rows: the same unary echo (100 B, 1 KiB, ... of bytes, Hessian2) made by the stock
 * `sofa-rpc-node` client straight to a stock provider (`bolt-direct`), by the xmesh drop-in in
 * embedded mode (`bolt-embedded`, policies on as in `embedded`), and by the stock client through the
 * xmesh sidecar's Bolt listener (`bolt-sidecar-xmesh`). The provider runs in its own process; so does
 * the sidecar (its CPU is the proxy's). Bolt has no streaming call: stream rows are not applicable.
 */
import { createRequire } from 'node:module';
import type { Call } from './load.js';
import { benchPayload } from './echo-calls.js';
import { BENCH_HTTP_FILTERS, loadCreateMesh } from './embedded.js';
import type { ScenarioInstance } from './scenarios.js';
import { startChildEntry, type XmeshSidecarProcess } from './xmesh-sidecar.js';

export const BOLT_BENCH_SERVICE = 'com.xmesh.bench.EchoService';

/**
 * A bootstrap with one listener marked for Bolt (free port) routing the bench service to one STATIC
 * cluster on `providerPort`, with the policies of `embeddedBootstrap`: a retry policy
 * (`reset,connect-failure`, 2 retries), circuit-breaker thresholds, outlier detection and a local
 * rate limit that never trips.
 */
export function boltBenchConfig(providerPort: number): Record<string, unknown> {
  return {
    static_resources: {
      listeners: [{
        name: 'sofa',
        address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
        metadata: { filter_metadata: { xmesh: { protocol: 'bolt' } } },
        filter_chains: [{
          filters: [{
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: 'sofa',
              route_config: {
                name: 'bench',
                virtual_hosts: [{
                  name: 'echo',
                  domains: [BOLT_BENCH_SERVICE],
                  routes: [{ match: { prefix: '/' }, route: { cluster: 'echo', retry_policy: { retry_on: 'reset,connect-failure', num_retries: 2 } } }],
                }],
              },
              http_filters: BENCH_HTTP_FILTERS,
            },
          }],
        }],
      }],
      clusters: [{
        name: 'echo',
        type: 'STATIC',
        connect_timeout: '1s',
        circuit_breakers: { thresholds: [{ max_requests: 10_000, max_pending_requests: 10_000, max_retries: 3 }] },
        outlier_detection: { consecutive_5xx: 5, interval: '10s' },
        load_assignment: { cluster_name: 'echo', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: providerPort } } } }] }] },
      }],
    },
  };
}

interface Consumer {
  invoke(method: string, args: unknown[], options?: { responseTimeout?: number }): Promise<unknown>;
}

const require = createRequire(import.meta.url);

/** A stock `sofa-rpc-node` client with a consumer of the bench service at `address`. */
async function stockConsumer(address: string): Promise<{ consumer: Consumer; close(): Promise<void> }> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const sofa = require('sofa-rpc-node') as any;
  const logger = { info() {}, warn() {}, error() {}, debug() {} };
  const client = new sofa.client.RpcClient({ logger });
  client.on('error', () => undefined);
  const consumer = client.createConsumer({ interfaceName: BOLT_BENCH_SERVICE, serverHost: address });
  await consumer.ready();
  return { consumer, close: () => client.close() };
}

function boltCalls(consumer: Consumer): ScenarioInstance['callFor'] {
  return (w) => {
    if (w.kind !== 'unary') return undefined;
    const args = [benchPayload(w.payloadBytes)];
    const call: Call = () => consumer.invoke('echo', args, { responseTimeout: 10_000 }).then(() => undefined);
    return call;
  };
}

/** Starts a Bolt scenario: its provider process, then its client (and sidecar). */
export async function startBoltScenario(kind: 'direct' | 'embedded' | 'sidecar'): Promise<ScenarioInstance> {
  const provider = await startChildEntry('bolt-server-child', []);
  let sidecar: XmeshSidecarProcess | undefined;
  try {
    if (kind === 'embedded') {
      const createMesh = await loadCreateMesh();
      if (createMesh === undefined) throw new Error('@xmesh/client is not available');
      const specifier: string = '@xmesh/bolt';
      const { MeshRpcClient } = (await import(specifier)) as typeof import('@xmesh/bolt');
      const mesh = await createMesh({ config: boltBenchConfig(provider.port) });
      const client = new MeshRpcClient(mesh);
      const consumer = client.createConsumer({ interfaceName: BOLT_BENCH_SERVICE });
      return {
        callFor: boltCalls(consumer),
        proxyPids: [],
        close: async () => {
          await client.close();
          await mesh.close();
          await provider.stop();
        },
      };
    }
    if (kind === 'sidecar') sidecar = await startChildEntry('xmesh-sidecar-child', [String(provider.port), 'bolt']);
    const stock = await stockConsumer(`127.0.0.1:${sidecar?.port ?? provider.port}`);
    return {
      callFor: boltCalls(stock.consumer),
      proxyPids: sidecar === undefined ? [] : [sidecar.pid],
      close: async () => {
        await stock.close();
        await sidecar?.stop();
        await provider.stop();
      },
    };
  } catch (error) {
    await sidecar?.stop();
    await provider.stop();
    throw error;
  }
}
