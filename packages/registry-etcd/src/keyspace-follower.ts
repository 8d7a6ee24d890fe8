/**
 * Follows the instance keys under one etcd prefix (one service's, or every service's): lists them in
 * pages at one revision, then watches from the next revision, applying each event to the listed state
 * (events at or before the listing's revision are already in it). Changed services are handed on
 * after a short quiet time (`coalesceMs`), so a burst of changes is one update. When the watch stream
 * was lost and comes back, or etcd cancels it (compaction), the state is listed again and the
 * difference handed on; while etcd is unreachable nothing changes and listing is retried with
 * back-off (100 ms doubling to 5 s).
 */
import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import { MeshError } from '@xmesh/core';
import type { RegistryInstance } from '@xmesh/discovery';
import { listPrefix } from './etcd-client.js';
import { decodeInstance, parseKey } from './instance-codec.js';

const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5_000;

interface Entry {
  readonly modRevision: number;
  readonly instance: RegistryInstance;
}

export interface FollowerOptions {
  readonly client: Etcd3;
  /** The registry's prefix (keys are `<prefix><service>/<id>`). */
  readonly prefix: string;
  /** The keys followed: `<prefix><service>/` for one service, `<prefix>` for all. */
  readonly keyPrefix: string;
  /** The one service followed, so its first update is given even when it has no instance. */
  readonly service?: string;
  readonly coalesceMs: number;
  /** Instances kept per service; more are skipped (and reported). */
  readonly maxInstancesPerService: number;
  readonly onUpdate: (changed: ReadonlyMap<string, readonly RegistryInstance[]>) => void;
  readonly onError: (error: MeshError) => void;
}

export class KeyspaceFollower {
  /** Resolves once the first listing finished (or failed). */
  readonly ready: Promise<void>;
  private readonly services = new Map<string, Map<string, Entry>>();
  private readonly dirty = new Set<string>();
  private markReady!: () => void;
  private listedRevision = 0;
  private watcher: Watcher | undefined;
  /** The watch stream was lost: list again once it is back. */
  private stale = false;
  private syncing = false;
  /** A sync was asked for while one ran: run another after it. */
  private syncAgain = false;
  private retryMs = RETRY_FIRST_MS;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private first = true;
  private closed = false;

  constructor(private readonly options: FollowerOptions) {
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    void this.sync();
  }

  /** The current instances of `service`. */
  instancesOf(service: string): readonly RegistryInstance[] {
    return listOf(this.services.get(service));
  }

  /** Every service with at least one instance, and its instances. */
  all(): Map<string, readonly RegistryInstance[]> {
    return new Map([...this.services].map(([service, entries]) => [service, listOf(entries)]));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.dropWatcher();
    this.markReady();
  }

  private async sync(): Promise<void> {
    if (this.closed) return;
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = true;
    this.timer = undefined;
    try {
      const listed = await listPrefix(this.options.client, this.options.keyPrefix);
      if (this.closed) return;
      this.applyListing(listed.revision, listed.keys);
      this.retryMs = RETRY_FIRST_MS;
      if (this.watcher === undefined) this.startWatcher(listed.revision + 1);
    } catch (cause) {
      if (this.closed) return;
      this.options.onError(new MeshError('XMESH_REGISTRY_UNAVAILABLE', `etcd: listing ${this.options.keyPrefix} failed (${(cause as Error).message}); keeping the last good instances, retrying in ${this.retryMs} ms`, { cause }));
      this.timer = setTimeout(() => void this.sync(), this.retryMs);
      this.timer.unref?.();
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    } finally {
      this.syncing = false;
      if (this.first) {
        this.flush();
        this.first = false;
        this.markReady();
      }
      if (this.syncAgain && !this.closed) {
        this.syncAgain = false;
        void this.sync();
      }
    }
  }

  private startWatcher(fromRevision: number): void {
    const watcher = this.options.client.watch().prefix(this.options.keyPrefix).startRevision(String(fromRevision)).watcher();
    this.watcher = watcher;
    watcher.on('data', (response: IWatchResponse) => {
      if (this.watcher !== watcher || this.closed) return;
      try {
        this.applyEvents(response);
      } catch (cause) {
        // etcd3 rethrows a listener's error on a later tick, which would end the process: a response this
        // cannot read (an event without its key-value) is a broken watch instead; the state is listed again.
        this.watchBroken(watcher, cause as Error);
      }
    });
    watcher.on('disconnected', () => {
      if (this.watcher === watcher) this.stale = true;
    });
    watcher.on('connected', () => {
      if (this.watcher !== watcher || !this.stale) return;
      this.stale = false;
      void this.sync();
    });
    // etcd cancelled the watch (its start revision was compacted, or the stream broke for good): start over.
    watcher.on('error', (error: Error) => {
      if (this.watcher !== watcher || this.closed) return;
      this.watchBroken(watcher, error);
    });
    watcher.on('end', () => undefined);
    watcher.on('disconnected', (error: unknown) => {
      if (this.watcher === watcher && !this.closed && error instanceof Error && !/stream ended|UNAVAILABLE|CANCELLED/i.test(error.message)) {
        this.options.onError(new MeshError('XMESH_REGISTRY_UNAVAILABLE', `etcd: the watch stream of ${this.options.keyPrefix} broke (${error.message}); keeping the last good instances, listing again once it is back`, { cause: error }));
      }
    });
  }

  /** The watch cannot go on: drop it, keep the state, list again (which starts a new watch). */
  private watchBroken(watcher: Watcher, error: Error): void {
    if (this.watcher !== watcher) return;
    this.dropWatcher();
    this.options.onError(new MeshError('XMESH_REGISTRY_UNAVAILABLE', `etcd: the watch of ${this.options.keyPrefix} ended (${error.message}); listing again`, { cause: error }));
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => void this.sync(), RETRY_FIRST_MS);
    this.timer.unref?.();
  }

  private dropWatcher(): void {
    const watcher = this.watcher;
    this.watcher = undefined;
    if (watcher === undefined) return;
    watcher.cancel().catch(() => undefined);
  }

  /** Replaces the state with a listing at `revision`; services that differ become dirty. */
  private applyListing(revision: number, keys: readonly { key: string; value: Buffer; modRevision: number }[]): void {
    const next = new Map<string, Map<string, Entry>>();
    for (const { key, value, modRevision } of keys) {
      const entry = this.decode(key, value, modRevision, next);
      if (entry === undefined) continue;
      let entries = next.get(entry.service);
      if (entries === undefined) next.set(entry.service, (entries = new Map()));
      entries.set(entry.id, entry.entry);
    }
    for (const service of new Set([...this.services.keys(), ...next.keys()])) {
      if (!sameEntries(this.services.get(service), next.get(service))) this.dirty.add(service);
    }
    this.services.clear();
    for (const [service, entries] of next) this.services.set(service, entries);
    this.listedRevision = revision;
    if (!this.first) this.scheduleFlush();
  }

  private applyEvents(response: IWatchResponse): void {
    for (const event of response.events) {
      const kv: IKeyValue = event.kv;
      const modRevision = Number(kv.mod_revision);
      if (modRevision <= this.listedRevision) continue;
      const key = kv.key.toString('utf8');
      if (String(event.type).toUpperCase() === 'DELETE') {
        const parsed = parseKey(this.options.prefix, key);
        if (parsed === undefined) continue;
        const entries = this.services.get(parsed.service);
        if (entries?.delete(parsed.id)) {
          if (entries.size === 0) this.services.delete(parsed.service);
          this.dirty.add(parsed.service);
        }
        continue;
      }
      const decoded = this.decode(key, kv.value, modRevision, this.services);
      const parsed = decoded ?? parseKey(this.options.prefix, key);
      if (parsed === undefined) continue;
      let entries = this.services.get(parsed.service);
      if (decoded === undefined) {
        // An invalid value replaces a valid one: the instance is no longer usable.
        if (entries?.delete(parsed.id)) this.dirty.add(parsed.service);
        continue;
      }
      if (entries === undefined) this.services.set(parsed.service, (entries = new Map()));
      entries.set(decoded.id, decoded.entry);
      this.dirty.add(parsed.service);
    }
    if (this.dirty.size > 0) this.scheduleFlush();
  }

  /** The entry a key-value pair gives, or undefined (reported) when it is not a usable instance. */
  private decode(key: string, value: Buffer, modRevision: number, state: ReadonlyMap<string, ReadonlyMap<string, Entry>>):
    | { service: string; id: string; entry: Entry }
    | undefined {
    const parsed = parseKey(this.options.prefix, key);
    if (parsed === undefined) return undefined;
    const known = state.get(parsed.service);
    if (!known?.has(parsed.id) && (known?.size ?? 0) >= this.options.maxInstancesPerService) {
      this.options.onError(new MeshError('XMESH_REGISTRY_UNAVAILABLE', `etcd: service "${parsed.service}" has more than ${this.options.maxInstancesPerService} instances; ${key} is skipped`));
      return undefined;
    }
    const result = decodeInstance(parsed.id, value);
    if ('problem' in result) {
      this.options.onError(new MeshError('XMESH_REGISTRY_UNAVAILABLE', `etcd: ${key} is skipped: ${result.problem}`));
      return undefined;
    }
    return { ...parsed, entry: { modRevision, instance: result.instance } };
  }

  private scheduleFlush(): void {
    if (this.flushTimer !== undefined || this.closed) return;
    this.flushTimer = setTimeout(() => this.flush(), this.options.coalesceMs);
    this.flushTimer.unref?.();
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.closed) return;
    if (this.first && this.options.service !== undefined) this.dirty.add(this.options.service);
    if (this.dirty.size === 0) return;
    const changed = new Map<string, readonly RegistryInstance[]>();
    for (const service of this.dirty) changed.set(service, listOf(this.services.get(service)));
    this.dirty.clear();
    this.options.onUpdate(changed);
  }
}

const NONE: readonly RegistryInstance[] = Object.freeze([]);

function listOf(entries: ReadonlyMap<string, Entry> | undefined): readonly RegistryInstance[] {
  if (entries === undefined || entries.size === 0) return NONE;
  return Object.freeze([...entries.values()].map((e) => e.instance));
}

function sameEntries(a: ReadonlyMap<string, Entry> | undefined, b: ReadonlyMap<string, Entry> | undefined): boolean {
  if ((a?.size ?? 0) !== (b?.size ?? 0)) return false;
  if (a === undefined || b === undefined) return true;
  for (const [id, entry] of a) if (b.get(id)?.modRevision !== entry.modRevision) return false;
  return true;
}
