/**
 * The sidecar's Bolt listeners: one per listener of the config marked
 * `metadata.filter_metadata.xmesh.protocol: bolt`, bound to that listener's address (port 0 picks
 * a free one), or to `listen` when given. Started with the sidecar; their routes follow config
 * updates (each call reads the current snapshot), the set of ports is fixed at start.
 */
import type { Mesh } from '@xmesh/client';
import type { BoltConnectionOptions } from '@xmesh/bolt';
import { BoltFront } from './bolt-front.js';
import { BoltListener, type BoltListenerOptions } from './bolt-listener.js';

export interface SidecarBoltOptions extends Omit<BoltListenerOptions, 'onOpen' | 'onClose' | 'onDropped'> {
  /** `host:port` for the Bolt listener (only with one Bolt listener in the config, or with `listener`). */
  readonly listen?: string;
  /** Serve this listener's routes as Bolt, marked or not. */
  readonly listener?: string;
  /** Upstream connection settings. */
  readonly connection?: BoltConnectionOptions & { readonly size?: number };
}

export interface BoltBound {
  readonly listener: string;
  readonly host: string;
  readonly port: number;
}

export class BoltListeners {
  private constructor(
    private readonly running: readonly { readonly bound: BoltBound; readonly listener: BoltListener }[],
  ) {}

  static async start(mesh: Mesh, options: SidecarBoltOptions, stats: { begin(): void; end(): void; onewayDropped(): void }, splitHostPort: (value: string) => { host: string; port: number }): Promise<BoltListeners> {
    const listeners = Object.values(mesh.snapshot.listeners).filter((l) => (options.listener === undefined ? l.protocol === 'bolt' : l.name === options.listener));
    if (options.listener !== undefined && listeners.length === 0) throw new Error(`no listener named "${options.listener}" to serve Bolt on`);
    if (options.listen !== undefined && listeners.length > 1) throw new Error(`bolt.listen names one address, but ${listeners.length} listeners are marked for Bolt: name one with bolt.listener`);
    const running: { bound: BoltBound; listener: BoltListener }[] = [];
    try {
      for (const config of listeners) {
        const front = new BoltFront(mesh, { listener: config.name, ...(options.connection === undefined ? {} : { connection: options.connection }) });
        const listener = new BoltListener(front, { ...options, onOpen: () => stats.begin(), onClose: () => stats.end(), onDropped: () => stats.onewayDropped() });
        const at = options.listen !== undefined ? splitHostPort(options.listen) : { host: config.address?.address ?? '127.0.0.1', port: config.address?.port ?? 0 };
        const bound = await listener.listen(at.host, at.port);
        running.push({ bound: { listener: config.name, ...bound }, listener });
      }
    } catch (error) {
      await Promise.all(running.map((r) => r.listener.close()));
      throw error;
    }
    return new BoltListeners(running);
  }

  /** Where each Bolt listener listens. */
  get bound(): readonly BoltBound[] {
    return this.running.map((r) => r.bound);
  }

  drain(graceMs: number): Promise<void> {
    return Promise.all(this.running.map((r) => r.listener.drain(graceMs))).then(() => undefined);
  }

  close(): Promise<void> {
    return Promise.all(this.running.map((r) => r.listener.close())).then(() => undefined);
  }
}
