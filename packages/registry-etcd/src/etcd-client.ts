/**
 * The etcd3 client as the registry uses it: members given as `host:port` (or an `etcd://h:p,h:p`
 * URL), plaintext, unary calls bounded by a deadline, watch streams reconnecting after 100 ms
 * doubling to 2 s (etcd3's default grows to 30 s, too slow to resume a registry's watches).
 */
import type * as Etcd from 'etcd3';
import type { Etcd3, IRangeResponse } from 'etcd3';
import { lazyRequire, MeshError } from '@xmesh/core';

/** etcd3 (and the grpc-js it runs on), loaded when the first client connects (importing this package does not load it). */
const etcd3 = lazyRequire<typeof Etcd>(import.meta.url, 'etcd3');

export interface EtcdConnectionOptions {
  /** Deadline of each unary call (listing page, put, lease grant), ms. Default 5 000. */
  readonly callTimeoutMs?: number;
}

const WATCH_BACKOFF_FIRST_MS = 100;
const WATCH_BACKOFF_MAX_MS = 2_000;
const LIST_PAGE_SIZE = 1_000;

/** `etcd://h1:p1,h2:p2` (or `http://`, or a bare list) → `['h1:p1', 'h2:p2']`. */
export function parseEtcdUrl(url: string): string[] {
  const body = url.replace(/^(etcd|http):\/\//, '').replace(/\/+$/, '');
  const members = body.split(',').map((m) => m.trim()).filter((m) => m !== '');
  const bad = members.filter((m) => !/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(m));
  if (members.length === 0 || bad.length > 0 || url.startsWith('https://')) {
    throw new MeshError('XMESH_CONFIG_INVALID', `not an etcd address list: ${JSON.stringify(url)} (expected etcd://host:port[,host:port...]; TLS is not supported)`, {
      errors: [{ path: 'registry', message: 'expected etcd://host:port[,host:port...]' }],
    });
  }
  return members;
}

interface Backoff {
  readonly duration: number;
  next(): Backoff;
}

function backoffFrom(ms: number): Backoff {
  return { duration: ms, next: () => backoffFrom(Math.min(ms * 2, WATCH_BACKOFF_MAX_MS)) };
}

export function connectEtcd(members: readonly string[], options: EtcdConnectionOptions = {}): Etcd3 {
  const callTimeoutMs = options.callTimeoutMs ?? 5_000;
  const client = new (etcd3().Etcd3)({
    hosts: members.map((m) => `http://${m}`),
    dialTimeout: callTimeoutMs,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    faultHandling: { watchBackoff: { duration: 0, next: () => backoffFrom(WATCH_BACKOFF_FIRST_MS) } },
  });
  guardWatchStream(client);
  return client;
}

/** The parts of etcd3's (private) WatchManager the guard wraps (etcd3 1.1.x, lib/watch.js). */
interface WatchManagerInternals {
  handleResponse(res: unknown): void;
  handleCreatedResponse(res: unknown): void;
  handleUpdateResponse(watcher: { emit(event: string, ...args: unknown[]): boolean }, res: unknown): void;
  handleError(error: Error): void;
}

/**
 * etcd3 throws from its watch stream's 'data' handler when a response breaks its own bookkeeping —
 * an id no watcher has ("Failed to find watcher for IWatchResponse"), a "created" response no watcher
 * waits for, a cancellation nobody asked for — and rethrows on a later tick what a 'data' listener
 * throws (its own listener reads `kv.key` of every event, whatever the response holds); either escapes
 * as an uncaught exception or an unhandled rejection, which ends the process. Guarded, such a response is a lost stream: etcd3's own
 * `handleError` cancels it, tells every watcher 'disconnected' and reconnects with back-off, and the
 * registry lists again when the watch is back (its last good instances stay meanwhile).
 * Returns false when this etcd3 does not have the internals (a test holds the pinned version to true).
 */
export function guardWatchStream(client: Etcd3): boolean {
  const manager = (client as unknown as { watchManager?: Partial<WatchManagerInternals> }).watchManager;
  if (manager === undefined || ['handleResponse', 'handleCreatedResponse', 'handleUpdateResponse', 'handleError'].some((name) => typeof manager[name as keyof WatchManagerInternals] !== 'function')) return false;
  const internals = manager as WatchManagerInternals;
  internals.handleUpdateResponse = function guarded(this: WatchManagerInternals, watcher, res): void {
    watcher.emit('data', res);
  };
  for (const name of ['handleResponse', 'handleCreatedResponse'] as const) {
    const original = internals[name];
    internals[name] = function guarded(this: WatchManagerInternals, res: unknown): void {
      try {
        original.call(this, res);
      } catch (error) {
        this.handleError(error instanceof Error ? error : new Error(String(error)));
      }
    };
  }
  return true;
}

export interface ListedKey {
  readonly key: string;
  readonly value: Buffer;
  readonly modRevision: number;
}

/** Every key under `prefix` at one revision, read in pages (a large registry exceeds one gRPC message). */
export async function listPrefix(client: Etcd3, prefix: string): Promise<{ readonly revision: number; readonly keys: ListedKey[] }> {
  const range = etcd3().Range.prefix(prefix);
  const keys: ListedKey[] = [];
  let start: Buffer = range.start;
  let revision: string | undefined;
  for (;;) {
    const page: IRangeResponse = await client.kv.range({ key: start, range_end: range.end, limit: LIST_PAGE_SIZE, ...(revision === undefined ? {} : { revision }) });
    revision ??= page.header.revision;
    for (const kv of page.kvs) keys.push({ key: kv.key.toString('utf8'), value: kv.value, modRevision: Number(kv.mod_revision) });
    const last = page.kvs[page.kvs.length - 1];
    if (!page.more || last === undefined) break;
    start = Buffer.concat([last.key, Buffer.from([0])]);
  }
  return { revision: Number(revision), keys };
}
