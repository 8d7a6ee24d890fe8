/** `xmesh control-plane`: serve a resource file (and a registry's endpoints) over ADS until SIGINT/SIGTERM. */
import type { ServiceRegistry } from '@xmesh/discovery';
import { ControlPlane } from './control-plane.js';
import { consoleLogger, type ControlPlaneLogger } from './events.js';
import { serveFile } from './file-source.js';
import { serveRegistry } from './registry-feed.js';

export interface RunControlPlaneOptions {
  readonly config: string;
  readonly port: number;
  readonly host?: string;
  readonly logger?: ControlPlaneLogger;
  /** Resolves when the server should stop; default: the first SIGINT or SIGTERM. */
  readonly until?: Promise<void>;
  /** Serve this registry's services as endpoints (`--registry etcd://...` or `zookeeper://...`); closed on stop. */
  readonly registry?: ServiceRegistry;
}

/** Serves until `until` resolves, then closes. Rejects if the file cannot be served at start. */
export async function runControlPlane(options: RunControlPlaneOptions): Promise<void> {
  const plane = new ControlPlane({ logger: options.logger ?? consoleLogger });
  const registry = options.registry;
  const feed = registry === undefined ? undefined : serveRegistry(plane, registry);
  const source = await serveFile(plane, options.config, { registry: registry !== undefined }).catch(async (error: unknown) => {
    feed?.close();
    await registry?.close();
    throw error;
  });
  await feed?.ready;
  await plane.listen(options.port, options.host ?? '127.0.0.1');
  await (options.until ?? new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  }));
  source.close();
  feed?.close();
  await registry?.close();
  await plane.close();
}
