/**
 * The SOFARPC registry in ZooKeeper as a ServiceRegistry: a service is an interface, its instances
 * the providers stock `sofa-rpc-node` servers publish as ephemeral children of
 * `<root>/<interface>/providers` (see `provider-url.ts` for which serve, by this registry's
 * version / group filter). One session is shared by every watch.
 *
 * - A provider that stops (its session ends, its ephemeral node vanishes) leaves at the next watch event.
 * - While the session is down the last good lists stay (reported once through `onError`); a new
 *   session lists every followed interface again. An expired session is replaced by a new client.
 * - A watch's `ready` settles after its first listing, or after `connectTimeoutMs` without a session
 *   (then with no instances, reported): a mesh never waits on an unreachable ZooKeeper for long,
 *   whatever its session timeout.
 * - `watchAll` follows the interfaces under `<root>` too: a new interface is followed once it appears.
 */
import type zookeeper from 'node-zookeeper-client';
import { lazyRequire, MeshError, systemClock, type Clock, type TimerHandle } from '@xmesh/core';
import type { RegistryInstance, RegistryWatch, ServiceRegistry } from '../registry/registry.js';
import { providerInstances } from './provider-url.js';

export interface ZooKeeperRegistryOptions {
  /** ZooKeeper connect string, `host:port[,host:port...]` (or a list of `host:port`). */
  readonly servers: string | readonly string[];
  /** The SOFARPC registry's root path; default `/sofa-rpc`. */
  readonly root?: string;
  /** Only providers of this version (when they publish one), as the stock consumer asks; absent = any. */
  readonly version?: string;
  /** Only providers of this group (when they publish one); absent = any. */
  readonly group?: string;
  /** ZooKeeper session timeout, ms; default 30 000. */
  readonly sessionTimeoutMs?: number;
  /** How long a watch's first listing waits for a session before `ready` settles without one; default 5 000. */
  readonly connectTimeoutMs?: number;
  /** Lost sessions and failed listings (XMESH_REGISTRY_UNAVAILABLE); the last good lists stay. */
  readonly onError?: (error: MeshError) => void;
  readonly clock?: Clock;
}

/** node-zookeeper-client, loaded when the first registry connects. */
const zk = lazyRequire<typeof zookeeper>(import.meta.url, 'node-zookeeper-client');

type ZkClient = ReturnType<typeof zookeeper.createClient>;
type Listener = (instances: readonly RegistryInstance[]) => void;
type AllListener = (changed: ReadonlyMap<string, readonly RegistryInstance[]>) => void;

/** Providers listed per interface, and interfaces followed by `watchAll`, at most (bounds on what a registry can make us hold). */
const MAX_PROVIDERS = 10_000;
const MAX_INTERFACES = 10_000;
const RELIST_MS = 1_000;
const EMPTY: readonly RegistryInstance[] = Object.freeze([]);

interface Followed {
  readonly service: string;
  instances: readonly RegistryInstance[];
  listed: boolean;
  readonly listeners: Set<Listener>;
  /** Followed for `watchAll` (kept while it runs, even without listeners of its own). */
  byAll: boolean;
  /** Settled by the first listing (every watch of this service waits on it). */
  readonly firstListing: Promise<void>;
  markListed: () => void;
  relistTimer: TimerHandle | undefined;
  /**
   * The one watcher this service's listings register: the ZooKeeper client keeps a watcher once per
   * function, so listing again (a new session, a failed listing) never stacks a second one.
   */
  readonly onWatch: () => void;
}

export class ZooKeeperRegistry implements ServiceRegistry {
  readonly root: string;
  private readonly servers: string;
  private readonly clock: Clock;
  private readonly onError: (error: MeshError) => void;
  private readonly followed = new Map<string, Followed>();
  private readonly allListeners = new Set<AllListener>();
  private client: ZkClient | undefined = undefined;
  private connected = false;
  private downReported = false;
  private rootRelist: TimerHandle | undefined = undefined;
  private closed = false;

  constructor(private readonly options: ZooKeeperRegistryOptions) {
    this.servers = typeof options.servers === 'string' ? options.servers : options.servers.join(',');
    const root = options.root ?? '/sofa-rpc';
    this.root = root.length > 1 && root.endsWith('/') ? root.slice(0, -1) : root;
    this.clock = options.clock ?? systemClock;
    this.onError = options.onError ?? (() => undefined);
  }

  watchService(service: string, listener: Listener): RegistryWatch {
    if (this.closed) return { ready: Promise.resolve(), close: () => undefined };
    const followed = this.follow(service);
    // Every change reaches the listener as it comes; `ready` hands it the list if no change did first.
    let heard = false;
    const hear: Listener = (instances) => {
      heard = true;
      listener(instances);
    };
    followed.listeners.add(hear);
    const ready = this.bounded(followed.firstListing).then(() => {
      if (!this.closed && followed.listeners.has(hear) && !heard) hear(followed.instances);
    });
    return watchOf(ready, () => {
      followed.listeners.delete(hear);
      this.unfollowIfIdle(followed);
    });
  }

  watchAll(listener: AllListener): RegistryWatch {
    if (this.closed) return { ready: Promise.resolve(), close: () => undefined };
    const first = this.allListeners.size === 0;
    this.allListeners.add(listener);
    if (first) this.listRoot();
    const ready = this.bounded(this.rootListing()).then(() => {
      if (this.closed || !this.allListeners.has(listener)) return;
      const all = new Map<string, readonly RegistryInstance[]>();
      for (const followed of this.followed.values()) if (followed.byAll) all.set(followed.service, followed.instances);
      listener(all);
    });
    return watchOf(ready, () => {
      this.allListeners.delete(listener);
      if (this.allListeners.size > 0) return;
      // A later watchAll waits for a listing of its own.
      this.rootListed = undefined;
      for (const followed of this.followed.values()) {
        followed.byAll = false;
        this.unfollowIfIdle(followed);
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const followed of this.followed.values()) this.stopFollowing(followed);
    this.followed.clear();
    this.allListeners.clear();
    if (this.rootRelist !== undefined) this.clock.clearTimeout(this.rootRelist);
    this.client?.close();
    this.client = undefined;
  }

  // ------------------------------------------------------------------ following

  private follow(service: string): Followed {
    let followed = this.followed.get(service);
    if (followed !== undefined) return followed;
    let markListed!: () => void;
    const firstListing = new Promise<void>((resolve) => (markListed = resolve));
    const created: Followed = {
      service, instances: EMPTY, listed: false, listeners: new Set(), byAll: false, firstListing, markListed, relistTimer: undefined,
      onWatch: () => this.list(created),
    };
    followed = created;
    this.followed.set(service, followed);
    this.ensureClient();
    if (this.connected) this.list(followed);
    return followed;
  }

  private unfollowIfIdle(followed: Followed): void {
    if (followed.listeners.size > 0 || followed.byAll || this.followed.get(followed.service) !== followed) return;
    this.stopFollowing(followed);
    this.followed.delete(followed.service);
  }

  private stopFollowing(followed: Followed): void {
    if (followed.relistTimer !== undefined) this.clock.clearTimeout(followed.relistTimer);
    followed.relistTimer = undefined;
    followed.markListed();
  }

  /** Settles with `promise`, or after `connectTimeoutMs` (reported) when no session lists in time. */
  private bounded(promise: Promise<void>): Promise<void> {
    const limit = this.options.connectTimeoutMs ?? 5_000;
    return new Promise<void>((resolve) => {
      const timer = this.clock.setTimeout(() => {
        this.report(`no listing from ZooKeeper ${this.servers} within ${limit} ms; starting without its providers`);
        resolve();
      }, limit);
      timer.unref?.();
      void promise.then(() => {
        this.clock.clearTimeout(timer);
        resolve();
      });
    });
  }

  // ------------------------------------------------------------------ session

  private ensureClient(): void {
    if (this.client !== undefined || this.closed) return;
    const client = zk().createClient(this.servers, { sessionTimeout: this.options.sessionTimeoutMs ?? 30_000, spinDelay: 500, retries: 1_000_000 });
    this.client = client;
    client.on('state', (state) => {
      if (this.closed || this.client !== client) return;
      if (state === zk().State.SYNC_CONNECTED || state === zk().State.CONNECTED_READ_ONLY) {
        this.connected = true;
        this.downReported = false;
        // A new session: every followed interface (and the root, for watchAll) is listed again.
        for (const followed of this.followed.values()) this.list(followed);
        if (this.allListeners.size > 0) this.listRoot();
      } else if (state === zk().State.DISCONNECTED) {
        this.connected = false;
        this.report(`ZooKeeper session to ${this.servers} lost; keeping the last providers`);
      } else if (state === zk().State.EXPIRED) {
        this.connected = false;
        this.report(`ZooKeeper session to ${this.servers} expired; reconnecting, keeping the last providers`);
        client.close();
        this.client = undefined;
        this.ensureClient();
      }
    });
    client.connect();
  }

  private report(message: string): void {
    if (this.downReported) return;
    this.downReported = true;
    this.onError(new MeshError('XMESH_REGISTRY_UNAVAILABLE', message));
  }

  // ------------------------------------------------------------------ listing

  /** Lists `followed`'s providers and watches for the next change (the watch fires once; it lists again). */
  private list(followed: Followed): void {
    const client = this.client;
    if (this.closed || client === undefined || !this.connected || this.followed.get(followed.service) !== followed) return;
    const path = `${this.root === '/' ? '' : this.root}/${followed.service}/providers`;
    client.getChildren(
      path,
      followed.onWatch,
      (error, children) => {
        if (this.closed || this.client !== client || this.followed.get(followed.service) !== followed) return;
        if (error) {
          if (error instanceof zk().Exception && error.getCode() === zk().Exception.NO_NODE) {
            // No provider ever registered: none; watch for the node to appear.
            this.apply(followed, []);
            client.exists(path, followed.onWatch, () => undefined);
            return;
          }
          this.onError(new MeshError('XMESH_REGISTRY_UNAVAILABLE', `listing ${path} in ZooKeeper failed: ${String(error)}; keeping the last providers`));
          if (followed.relistTimer !== undefined) return;
          followed.relistTimer = this.clock.setTimeout(() => {
            followed.relistTimer = undefined;
            this.list(followed);
          }, RELIST_MS);
          followed.relistTimer.unref?.();
          return;
        }
        this.apply(followed, children.slice(0, MAX_PROVIDERS));
      },
    );
  }

  private apply(followed: Followed, children: readonly string[]): void {
    const next = providerInstances(children, { interface: followed.service, ...this.filter() });
    followed.listed = true;
    const changed = !sameInstances(followed.instances, next);
    if (changed) followed.instances = next;
    followed.markListed();
    if (!changed) return;
    for (const listener of followed.listeners) listener(next);
    if (followed.byAll) for (const listener of this.allListeners) listener(new Map([[followed.service, next]]));
  }

  private filter(): { version?: string; group?: string } {
    const { version, group } = this.options;
    return { ...(version === undefined ? {} : { version }), ...(group === undefined ? {} : { group }) };
  }

  // ------------------------------------------------------------------ every interface (watchAll)

  private rootListed: Promise<void> | undefined = undefined;
  /** The root's one watcher (see `Followed.onWatch`). */
  private readonly onRootWatch = (): void => this.listRoot();
  private markRootListed: () => void = () => undefined;

  /** Settles once the root and every interface it held were listed the first time. */
  private rootListing(): Promise<void> {
    this.rootListed ??= new Promise<void>((resolve) => (this.markRootListed = resolve));
    return this.rootListed;
  }

  private listRoot(): void {
    this.rootListing();
    this.ensureClient();
    const client = this.client;
    if (this.closed || client === undefined || !this.connected || this.allListeners.size === 0) return;
    client.getChildren(
      this.root,
      this.onRootWatch,
      (error, children) => {
        if (this.closed || this.client !== client || this.allListeners.size === 0) return;
        if (error) {
          if (error instanceof zk().Exception && error.getCode() === zk().Exception.NO_NODE) {
            this.followInterfaces([]);
            client.exists(this.root, this.onRootWatch, () => undefined);
            return;
          }
          this.onError(new MeshError('XMESH_REGISTRY_UNAVAILABLE', `listing ${this.root} in ZooKeeper failed: ${String(error)}`));
          if (this.rootRelist !== undefined) return;
          this.rootRelist = this.clock.setTimeout(() => {
            this.rootRelist = undefined;
            this.listRoot();
          }, RELIST_MS);
          this.rootRelist.unref?.();
          return;
        }
        this.followInterfaces(children.slice(0, MAX_INTERFACES));
      },
    );
  }

  /**
   * Follows every interface of the root's listing for `watchAll`: interfaces gone from it are handed on
   * with an empty list, ones already followed (and listed) for a `watchService` with theirs; a new one
   * reaches `watchAll` with its first listing (a change from none).
   */
  private followInterfaces(interfaces: readonly string[]): void {
    const names = new Set(interfaces);
    const news = new Map<string, readonly RegistryInstance[]>();
    for (const followed of [...this.followed.values()]) {
      if (!followed.byAll || names.has(followed.service)) continue;
      followed.byAll = false;
      if (followed.instances.length > 0) news.set(followed.service, EMPTY);
      this.unfollowIfIdle(followed);
    }
    const fresh: Followed[] = [];
    for (const name of names) {
      const followed = this.follow(name);
      if (followed.byAll) continue;
      followed.byAll = true;
      fresh.push(followed);
      if (followed.listed && followed.instances.length > 0) news.set(name, followed.instances);
    }
    if (news.size > 0) for (const listener of this.allListeners) listener(news);
    void Promise.all(fresh.map((f) => f.firstListing)).then(() => this.markRootListed());
  }
}

/** A watch that settles with `ready` and runs `stop` on its first `close()`. */
function watchOf(ready: Promise<void>, stop: () => void): RegistryWatch {
  let open = true;
  return {
    ready,
    close: () => {
      if (!open) return;
      open = false;
      stop();
    },
  };
}

function sameInstances(a: readonly RegistryInstance[], b: readonly RegistryInstance[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i]!;
    return x.id === y.id && x.weight === y.weight && x.healthy === y.healthy && JSON.stringify(x.metadata) === JSON.stringify(y.metadata);
  });
}

/**
 * `zookeeper://h1:p1[,h2:p2...][/root][?version=1.0&group=SOFA&session_timeout_ms=30000]` as the
 * options of a ZooKeeperRegistry (`xmesh control-plane --registry`). Throws XMESH_CONFIG_INVALID on
 * anything else.
 */
export function zookeeperOptionsFromUrl(url: string): Pick<ZooKeeperRegistryOptions, 'servers' | 'root' | 'version' | 'group' | 'sessionTimeoutMs'> {
  const match = /^zookeeper:\/\/([^/?]+)(\/[^?]*)?(?:\?(.*))?$/.exec(url);
  const servers = match?.[1]?.split(',').map((s) => s.trim()).filter((s) => s !== '') ?? [];
  const badServer = servers.find((s) => !/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(s));
  const params = new URLSearchParams(match?.[3] ?? '');
  const unknown = [...params.keys()].find((k) => !['version', 'group', 'session_timeout_ms'].includes(k));
  const timeout = params.get('session_timeout_ms');
  if (match === null || servers.length === 0 || badServer !== undefined || unknown !== undefined || (timeout !== null && !/^\d+$/.test(timeout))) {
    throw new MeshError('XMESH_CONFIG_INVALID', `not a ZooKeeper registry URL: ${JSON.stringify(url)} (expected zookeeper://host:port[,host:port...][/root][?version=&group=&session_timeout_ms=])`, {
      errors: [{ path: 'registry', message: 'expected zookeeper://host:port[,host:port...][/root][?version=&group=&session_timeout_ms=]' }],
    });
  }
  const version = params.get('version');
  const group = params.get('group');
  return {
    servers,
    ...(match[2] === undefined || match[2] === '/' ? {} : { root: match[2] }),
    ...(version === null ? {} : { version }),
    ...(group === null ? {} : { group }),
    ...(timeout === null ? {} : { sessionTimeoutMs: Number(timeout) }),
  };
}
