/**
 * Endpoints from the SOFARPC providers published in ZooKeeper (an EDS cluster with
 * `metadata.filter_metadata.xmesh.zookeeper`): the children of `<root>/<interface>/providers`,
 * watched, each an ephemeral node a running provider keeps (see `provider-url.ts` for which serve).
 *
 * - A provider that stops (its session ends, its ephemeral node vanishes) leaves the set at the
 *   next watch event.
 * - While the ZooKeeper session is down the last good set stays (reported once through `onError`);
 *   a new session lists the providers again. An expired session is replaced by a new client.
 * - `ready` settles after the first listing, or after `sessionTimeoutMs` without one (then with no
 *   endpoints, reported through `onError`), so a mesh never waits on ZooKeeper for long.
 */
import zookeeper from 'node-zookeeper-client';
import { MeshError, systemClock, type Clock, type Endpoint, type TimerHandle } from '@xmesh/core';
import type { ZooKeeperRegistryConfig } from '@xmesh/xds';
import type { EndpointSource, SourceOptions } from '../endpoint-source.js';
import { sameIds } from '../flatten.js';
import { providerEndpoints } from './provider-url.js';

const EMPTY: readonly Endpoint[] = Object.freeze([]);
/** Providers listed per interface at most (a bound on what a registry can make us hold). */
const MAX_PROVIDERS = 10_000;

type ZkClient = ReturnType<typeof zookeeper.createClient>;

export class ZooKeeperSource implements EndpointSource {
  endpoints: readonly Endpoint[] = EMPTY;
  readonly ready: Promise<void>;
  private readonly path: string;
  private readonly listeners: ((endpoints: readonly Endpoint[]) => void)[] = [];
  private readonly clock: Clock;
  private readonly onError: ((error: MeshError) => void) | undefined;
  private client: ZkClient | undefined = undefined;
  private markReady: () => void = () => undefined;
  private readyTimer: TimerHandle | undefined = undefined;
  private relistTimer: TimerHandle | undefined = undefined;
  private disconnectedReported = false;
  private closed = false;

  constructor(
    private readonly config: ZooKeeperRegistryConfig,
    options: SourceOptions = {},
  ) {
    this.path = `${config.root === '/' ? '' : config.root}/${config.interface}/providers`;
    this.clock = options.clock ?? systemClock;
    this.onError = options.onError;
    this.ready = new Promise<void>((resolve) => {
      this.markReady = () => {
        if (this.readyTimer !== undefined) this.clock.clearTimeout(this.readyTimer);
        this.readyTimer = undefined;
        resolve();
      };
    });
    this.readyTimer = this.clock.setTimeout(() => {
      this.readyTimer = undefined;
      this.report(`no provider list from ZooKeeper ${config.servers} within ${config.sessionTimeoutMs} ms`);
      this.markReady();
    }, config.sessionTimeoutMs);
    this.readyTimer.unref?.();
    this.connect();
  }

  onChange(listener: (endpoints: readonly Endpoint[]) => void): void {
    if (!this.closed) this.listeners.push(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.length = 0;
    if (this.readyTimer !== undefined) this.clock.clearTimeout(this.readyTimer);
    if (this.relistTimer !== undefined) this.clock.clearTimeout(this.relistTimer);
    this.markReady();
    this.client?.close();
    this.client = undefined;
  }

  private connect(): void {
    const client = zookeeper.createClient(this.config.servers, { sessionTimeout: this.config.sessionTimeoutMs, spinDelay: 500, retries: 1_000_000 });
    this.client = client;
    client.on('state', (state) => {
      if (this.closed || this.client !== client) return;
      if (state === zookeeper.State.SYNC_CONNECTED || state === zookeeper.State.CONNECTED_READ_ONLY) {
        this.disconnectedReported = false;
        this.list(client);
      } else if (state === zookeeper.State.DISCONNECTED) {
        this.report(`ZooKeeper session to ${this.config.servers} lost; keeping the last ${this.endpoints.length} providers`);
      } else if (state === zookeeper.State.EXPIRED) {
        this.report(`ZooKeeper session to ${this.config.servers} expired; reconnecting, keeping the last ${this.endpoints.length} providers`);
        client.close();
        this.connect();
      }
    });
    client.connect();
  }

  /** Lists the providers and watches for the next change (the watch fires once; it re-lists). */
  private list(client: ZkClient): void {
    if (this.closed || this.client !== client) return;
    client.getChildren(
      this.path,
      () => this.list(client),
      (error, children) => {
        if (this.closed || this.client !== client) return;
        if (error) {
          if (error instanceof zookeeper.Exception && error.getCode() === zookeeper.Exception.NO_NODE) {
            // No provider ever registered: no providers; watch for the node to appear.
            this.apply([]);
            client.exists(this.path, () => this.list(client), () => undefined);
            return;
          }
          this.report(`listing ${this.path} in ZooKeeper failed: ${String(error)}`);
          this.relistTimer = this.clock.setTimeout(() => this.list(client), 1000);
          this.relistTimer.unref?.();
          return;
        }
        this.apply(children.slice(0, MAX_PROVIDERS));
      },
    );
  }

  private apply(children: readonly string[]): void {
    const next = providerEndpoints(children, this.config);
    this.markReady();
    if (sameIds(this.endpoints, next) && sameWeights(this.endpoints, next)) return;
    this.endpoints = next;
    for (const listener of this.listeners) listener(next);
  }

  private report(message: string): void {
    if (this.disconnectedReported) return;
    this.disconnectedReported = true;
    this.onError?.(new MeshError('XMESH_CONNECT_FAILED', message));
  }
}

function sameWeights(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  return a.every((e, i) => e.weight === b[i]!.weight);
}
