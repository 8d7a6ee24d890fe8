/**
 * An ADS client as a non-proxy (gRPC-style) xDS client: subscribes to the listeners it is asked for,
 * then to what they reference, over one aggregated stream (state of the world or delta, per the
 * bootstrap). It applies only whole, consistent sets: while anything wanted is still on its way no
 * snapshot is emitted, and an update that does not build is NACKed with every error and the last good
 * version kept. A lost stream moves to the bootstrap's next server at once (gRFC A71 order); after the
 * last one it starts again from the first with gRPC's jittered exponential backoff. The last snapshot
 * stays in force meanwhile.
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { systemClock, type Clock, type FieldError, type TimerHandle } from '@xmesh/core';
import { buildSnapshot, loadEnvoyProtos, TypeUrl, type EnvoyProtos, type MeshSnapshot } from '@xmesh/xds';
import { ConnectionBackoff, GRPC_CONNECTION_BACKOFF } from '@xmesh/core';
import { resolveBootstrap, type ResolvedBootstrap, type XdsBootstrap } from './bootstrap.js';
import { readCache, writeCache } from './cache.js';
import { nameOf } from './references.js';
import { short, WatchState, WATCH_ORDER } from './watch-state.js';
import { AdsStream, type ResponseUpdate } from './ads-stream.js';
import { decodeUpdate, type DecodeCache } from './decode-update.js';
import { ResourceTimers } from './resource-timers.js';
import { applyEndpointUpdate, labelPaths, type BuiltSet } from './endpoint-update.js';

export interface XdsClientOptions {
  /** The bootstrap object or file path; default: from the environment (see resolveBootstrap). */
  readonly bootstrap?: XdsBootstrap | string;
  readonly env?: NodeJS.ProcessEnv;
  /** Listener names to watch (for gRPC-style clients: the `xds:///` target authorities). */
  readonly listeners?: readonly string[];
  /** Subscribe to every listener (LDS wildcard). */
  readonly wildcardListeners?: boolean;
  /** Subscribe to every cluster (CDS wildcard); they all enter the snapshot. */
  readonly wildcardClusters?: boolean;
  /** Keep the last good resources here; overrides the bootstrap's `cache_path`. */
  readonly cachePath?: string;
  /** Shared Envoy protos; loaded on construction otherwise. */
  readonly protos?: EnvoyProtos;
  /** Timers (resource timeout, reconnect backoff). */
  readonly clock?: Clock;
  /** Wall clock in ms, for the cache's age. */
  readonly wallClock?: () => number;
  /** Jitter source for the backoff. */
  readonly random?: () => number;
  /** A requested resource not received within this is reported does-not-exist. Default 15 000 ms. */
  readonly resourceTimeoutMs?: number;
}

export interface AckInfo {
  readonly typeUrl: string;
  readonly version: string;
  readonly nonce: string;
}

export interface NackInfo extends AckInfo {
  /** Every validation error; `message` is what went on the wire in `error_detail`. */
  readonly errors: readonly FieldError[];
  readonly message: string;
}

export interface XdsClientEvents {
  /** A new whole, validated snapshot. */
  snapshot: [MeshSnapshot];
  ack: [AckInfo];
  nack: [NackInfo];
  'does-not-exist': [{ readonly typeUrl: string; readonly name: string }];
  /** The stream came up (first response) or went down (with the reconnect delay). */
  connection: [{ readonly connected: boolean; readonly error?: string; readonly retryInMs?: number; readonly nextServer?: string; readonly server?: string }];
  warning: [string];
}

export class XdsClient extends EventEmitter<XdsClientEvents> {
  readonly bootstrap: ResolvedBootstrap;
  private readonly protos: EnvoyProtos;
  private readonly clock: Clock;
  private readonly wallClock: () => number;
  private readonly cachePath: string | undefined;
  private readonly backoff: ConnectionBackoff;
  /** One channel per bootstrap server, opened when first used. */
  private readonly grpcClients: (grpc.Client | undefined)[];
  /** Index in `bootstrap.servers` of the server the stream goes (or went) to. */
  private serverIndex = 0;
  private state: WatchState;
  private readonly typeVersions = new Map<string, string>();
  /** SotW, per type: the decoded resources of its last accepted response, by hash of their bytes. */
  private readonly decodeCaches = new Map<string, DecodeCache>();
  private readonly timers: ResourceTimers;
  private stream: AdsStream | undefined;
  private reconnectTimer: TimerHandle | undefined;
  private current: MeshSnapshot | undefined;
  /** Counts changes other than endpoint updates (listeners, routes, clusters, absences). */
  private generation = 0;
  /** The last whole build from the control plane, and the generation it reflects. */
  private live: { set: BuiltSet; generation: number } | undefined;
  private started = false;
  private closed = false;

  constructor(options: XdsClientOptions = {}) {
    super();
    this.bootstrap = resolveBootstrap(options.bootstrap, options.env);
    this.protos = options.protos ?? loadEnvoyProtos();
    this.clock = options.clock ?? systemClock;
    this.wallClock = options.wallClock ?? Date.now;
    this.timers = new ResourceTimers(this.clock, options.resourceTimeoutMs ?? 15_000, (t, n) => this.onResourceTimeout(t, n));
    this.cachePath = options.cachePath ?? this.bootstrap.cachePath;
    this.backoff = new ConnectionBackoff(GRPC_CONNECTION_BACKOFF, options.random);
    const wildcard = new Set<string>();
    if (options.wildcardListeners) wildcard.add(TypeUrl.Listener);
    if (options.wildcardClusters) wildcard.add(TypeUrl.Cluster);
    this.state = new WatchState(new Set(options.listeners ?? []), wildcard);
    this.grpcClients = this.bootstrap.servers.map(() => undefined);
  }

  /** The server the stream uses now (or will reconnect to). */
  get currentServer(): string {
    return this.bootstrap.servers[this.serverIndex]!.serverUri;
  }

  /** The snapshot in force (from the control plane, or the cache at start), if any. */
  get snapshot(): MeshSnapshot | undefined {
    return this.current;
  }

  /** Calls `cb` with the current snapshot (if any) and each new one; returns an unsubscribe function. */
  onSnapshot(cb: (snapshot: MeshSnapshot) => void): () => void {
    this.on('snapshot', cb);
    if (this.current) cb(this.current);
    return () => this.off('snapshot', cb);
  }

  /** The snapshot in force, or the first one to come (from the cache or the control plane). */
  ready(): Promise<MeshSnapshot> {
    if (this.current) return Promise.resolve(this.current);
    return new Promise((resolve) => this.once('snapshot', resolve));
  }

  /** Loads the cache (if configured) and opens the stream. Idempotent. */
  start(): this {
    if (this.started || this.closed) return this;
    this.started = true;
    this.loadCache();
    this.openStream();
    return this;
  }

  /** Ends the stream and timers; the client cannot be restarted. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) this.clock.clearTimeout(this.reconnectTimer);
    this.timers.clear();
    this.stream?.cancel();
    this.stream = undefined;
    for (const client of this.grpcClients) client?.close();
  }

  private clientFor(index: number): grpc.Client {
    let client = this.grpcClients[index];
    if (client === undefined) {
      client = new grpc.Client(this.bootstrap.servers[index]!.serverUri, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
      this.grpcClients[index] = client;
    }
    return client;
  }

  private openStream(): void {
    this.reconnectTimer = undefined;
    const server = this.bootstrap.servers[this.serverIndex]!;
    const stream = new AdsStream(this.clientFor(this.serverIndex), this.protos, { ...this.bootstrap, ...server }, {
      onResponse: (update) => this.onResponse(stream, update),
      onFirstResponse: () => {
        this.backoff.reset();
        this.emit('connection', { connected: true, server: server.serverUri });
      },
      onIgnored: (typeUrl) => this.emit('warning', `ignoring responses for ${JSON.stringify(typeUrl.slice(0, 200))}: not a resource type this client asks for`),
      onEnd: (error) => this.onStreamEnd(stream, error),
    });
    this.stream = stream;
    this.syncSubscriptions();
  }

  private onStreamEnd(stream: AdsStream, error: string): void {
    if (stream !== this.stream) return;
    this.stream = undefined;
    this.timers.clear();
    if (this.closed) return;
    // The next server in the bootstrap's order at once; after the last, the first one after a backoff.
    const next = this.serverIndex + 1;
    const delay = next < this.bootstrap.servers.length ? 0 : this.backoff.nextDelayMs();
    this.serverIndex = next < this.bootstrap.servers.length ? next : 0;
    this.emit('connection', { connected: false, error, retryInMs: delay, nextServer: this.currentServer });
    this.reconnectTimer = this.clock.setTimeout(() => this.openStream(), delay);
    this.reconnectTimer.unref?.();
  }

  /** Tells the server what is wanted now, starting does-not-exist timers for new names. */
  private syncSubscriptions(): void {
    const wanted = this.state.wanted();
    this.state.prune(wanted);
    const stream = this.stream;
    if (!stream) return;
    for (const typeUrl of WATCH_ORDER) {
      const names = wanted.names.get(typeUrl)!;
      const wildcard = wanted.wildcard.has(typeUrl);
      const held = this.state.of(typeUrl);
      const added = stream.subscribe(typeUrl, names, wildcard, this.typeVersions.get(typeUrl) ?? '', held);
      for (const name of added) if (!held.has(name) && !this.state.absentOf(typeUrl).has(name)) this.timers.start(typeUrl, name);
    }
    this.timers.retain((typeUrl, name) => wanted.names.get(typeUrl)?.has(name) ?? false);
  }

  private onResponse(stream: AdsStream, update: ResponseUpdate): void {
    const { typeUrl, nonce, version } = update;
    const { received, errors, cache } = decodeUpdate(this.protos, update, this.decodeCaches.get(typeUrl));
    if (errors.length > 0) return this.nack(stream, update, errors);

    const trial = this.state.clone();
    const held = trial.of(typeUrl);
    const absent = trial.absentOf(typeUrl);
    const wanted = trial.wanted();
    const subscribed = wanted.names.get(typeUrl) ?? new Set<string>();
    const isWildcard = wanted.wildcard.has(typeUrl);
    const gone: string[] = [];
    // SotW LDS/CDS: what the response does not carry is deleted (held or merely asked for).
    const removed = update.stateOfTheWorld
      ? [...new Set([...held.keys(), ...subscribed])].filter((n) => !received.has(n))
      : update.removed;
    for (const name of removed) {
      held.delete(name);
      if (subscribed.has(name) && !absent.has(name)) {
        absent.add(name);
        gone.push(name);
      }
    }
    for (const [name, r] of received) {
      if (!isWildcard && !subscribed.has(name)) continue; // not asked for: ignored, as gRPC does
      held.set(name, { json: r.json, version: r.version });
      absent.delete(name);
    }
    // Only endpoints changed since the last whole build: rebuild just the clusters using them.
    const structural = typeUrl !== TypeUrl.ClusterLoadAssignment || removed.length > 0;
    const incremental = !structural && this.live !== undefined && this.live.generation === this.generation;
    const applied = incremental
      ? this.applyEndpoints(trial, received, version)
      : this.tryApply(trial, typeUrl, version);
    if (!applied.ok) return this.nack(stream, update, applied.errors);

    this.state = trial;
    // SotW resends unchanged resources: remember this response's decodings (delta sends only changes).
    if (!this.bootstrap.delta) this.decodeCaches.set(typeUrl, cache);
    if (structural) this.generation++;
    this.typeVersions.set(typeUrl, version);
    for (const name of [...received.keys(), ...gone]) this.timers.cancel(typeUrl, name);
    stream.ack(typeUrl, nonce, version);
    this.emit('ack', { typeUrl, version, nonce });
    for (const name of gone) this.emit('does-not-exist', { typeUrl, name });
    this.syncSubscriptions();
    if (applied.snapshot) this.publish(applied.snapshot, applied.resources);
  }

  private applyEndpoints(trial: WatchState, received: ReadonlyMap<string, { json: Record<string, unknown> }>, version: string):
    | { ok: true; snapshot?: MeshSnapshot; resources?: readonly Record<string, unknown>[] }
    | { ok: false; errors: readonly FieldError[] } {
    const before = this.state.of(TypeUrl.ClusterLoadAssignment);
    const after = trial.of(TypeUrl.ClusterLoadAssignment);
    const changed = new Map<string, Record<string, unknown>>();
    for (const [name, r] of received) if (after.get(name)?.json === r.json && before.get(name)?.json !== r.json) changed.set(name, r.json);
    const result = applyEndpointUpdate(this.live!.set, trial.of(TypeUrl.Cluster), changed, this.versionLabel(TypeUrl.ClusterLoadAssignment, version));
    return result.ok ? { ok: true, snapshot: result.set.snapshot, resources: result.set.resources } : result;
  }

  private versionLabel(typeUrl: string, version: string): string {
    return WATCH_ORDER.map((t) => `${short(t)}=${t === typeUrl ? version : this.typeVersions.get(t) ?? ''}`).join(',');
  }

  private nack(stream: AdsStream, update: ResponseUpdate, errors: readonly FieldError[]): void {
    const version = this.typeVersions.get(update.typeUrl) ?? '';
    const message = errors.map((e) => `${e.path}: ${e.message}`).join('\n');
    stream.nack(update.typeUrl, update.nonce, version, message);
    this.emit('nack', { typeUrl: update.typeUrl, version, nonce: update.nonce, errors, message });
  }

  /** Builds the snapshot `trial` gives, if it is whole. `ok: false` only when it is whole and invalid. */
  private tryApply(trial: WatchState, typeUrl: string, version: string):
    | { ok: true; snapshot?: MeshSnapshot; resources?: readonly Record<string, unknown>[] }
    | { ok: false; errors: readonly FieldError[] } {
    const assembly = trial.assemble();
    if (assembly.pending.length > 0) return { ok: true };
    for (const reason of assembly.excluded) this.emit('warning', reason);
    const built = buildSnapshot(assembly.resources, { version: this.versionLabel(typeUrl, version) });
    if (built.ok) return { ok: true, snapshot: built.snapshot, resources: assembly.resources };
    const labels = assembly.resources.map((r) => `${short(String(r['@type']))} "${nameOf(String(r['@type']), r) ?? '?'}"`);
    return { ok: false, errors: labelPaths(built.errors, labels) };
  }

  /** Makes `snapshot` current; `resources` (what it was built from) become the base of endpoint-only updates. */
  private publish(snapshot: MeshSnapshot, resources: readonly Record<string, unknown>[] | undefined): void {
    if (resources) this.live = { set: { snapshot, resources }, generation: this.generation };
    if (this.current && this.current.version === snapshot.version) return;
    this.current = snapshot;
    this.emit('snapshot', snapshot);
    if (this.cachePath && resources) {
      writeCache(this.cachePath, { version: snapshot.version, savedAt: this.wallClock(), resources }).catch((err: Error) =>
        this.emit('warning', `cannot write xDS cache ${this.cachePath}: ${err.message}`),
      );
    }
  }

  private loadCache(): void {
    if (!this.cachePath) return;
    try {
      const cached = readCache(this.cachePath);
      if (!cached) return;
      const built = buildSnapshot(cached.resources, { version: cached.version });
      if (!built.ok) throw new Error(built.errors.map((e) => `${e.path}: ${e.message}`).join('; '));
      const ageS = Math.max(0, Math.round((this.wallClock() - cached.savedAt) / 1000));
      this.emit('warning', `starting from cached xDS resources (${this.cachePath}, version ${cached.version}, saved ${ageS} s ago) until the control plane answers`);
      this.current = built.snapshot;
      this.emit('snapshot', built.snapshot);
    } catch (err) {
      this.emit('warning', `ignoring xDS cache ${this.cachePath}: ${(err as Error).message}`);
    }
  }

  private onResourceTimeout(typeUrl: string, name: string): void {
    if (this.state.of(typeUrl).has(name)) return;
    const trial = this.state.clone();
    trial.absentOf(typeUrl).add(name);
    this.emit('does-not-exist', { typeUrl, name });
    const applied = this.tryApply(trial, typeUrl, this.typeVersions.get(typeUrl) ?? '');
    this.state = trial;
    this.generation++;
    this.syncSubscriptions();
    if (!applied.ok) this.emit('warning', `config without ${short(typeUrl)} "${name}" is invalid: ${applied.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
    else if (applied.snapshot) this.publish(applied.snapshot, applied.resources);
  }
}
