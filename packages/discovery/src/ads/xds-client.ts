/**
 * An ADS client as a non-proxy (gRPC-style) xDS client: subscribes to the listeners it is asked for (at
 * construction, or later with `watchListener` as targets are used), then to what they reference, over
 * one aggregated stream (state of the world or delta, per the bootstrap).
 *
 * Each resource of a response is validated on its own (gRFC A46): the invalid ones are NACKed in the
 * response that carried them, with every error and its path, and keep their last good version; the
 * valid ones are applied. What is applied is consistent per listener (gRFC A74, see watch-state.ts): a
 * listener's new chain enters only when whole, other listeners are not held back, and a cluster that
 * does not exist fails only the calls routed to it. A listener or cluster the control plane deletes is
 * dropped (gRFC A53), or kept with `ignore_resource_deletion`; a lost stream never deletes anything.
 * A lost stream moves to the bootstrap's next server at once (gRFC A71 order); after the last one it
 * starts again from the first with gRPC's jittered exponential backoff. The last snapshot stays in
 * force meanwhile.
 */
import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { lazyRequire, systemClock, type Clock, type FieldError, type TimerHandle } from '@xmesh/core';
import { buildSnapshot, deepFreeze, dynamicSources, loadEnvoyProtos, TypeUrl, withSources, type ClientRules, type EnvoyProtos, type MeshSnapshot } from '@xmesh/xds';
import { ConnectionBackoff, GRPC_CONNECTION_BACKOFF } from '@xmesh/core';
import { resolveBootstrap, type ResolvedBootstrap, type ResolvedServer, type XdsBootstrap } from './bootstrap.js';
import { readCache, writeCache } from './cache.js';
import { nameOf } from './references.js';
import { short, WatchState, WATCH_ORDER, type HeldResource, type ListenerStatus } from './watch-state.js';
import { AdsStream, type ResponseUpdate } from './ads-stream.js';
import { decodeUpdate, type DecodeCache } from './decode-update.js';
import { ResourceTimers } from './resource-timers.js';
import { applyEndpointUpdate, edsUsers, labelPaths, type BuiltSet } from './endpoint-update.js';

/** grpc-js, loaded when the first ADS stream opens (importing `@xmesh/discovery` does not load it). */
const grpcJs = lazyRequire<typeof grpc>(import.meta.url, '@grpc/grpc-js');

export interface XdsClientOptions {
  /** The bootstrap object or file path; default: from the environment (see resolveBootstrap). */
  readonly bootstrap?: XdsBootstrap | string;
  readonly env?: NodeJS.ProcessEnv;
  /** Listener names to watch from the start (for gRPC-style clients: the `xds:///` target authorities); `watchListener` adds more. */
  readonly listeners?: readonly string[];
  /** Subscribe to every listener (LDS wildcard), as a proxy does. */
  readonly wildcardListeners?: boolean;
  /** Subscribe to every cluster (CDS wildcard); they all enter the snapshot. */
  readonly wildcardClusters?: boolean;
  /**
   * Whose rules resources are validated by (see `ClientRules` in @xmesh/xds): a gRPC client's (`grpc`,
   * the default for a client naming its listeners) or Envoy's (`envoy`, the default with wildcard LDS: a proxy).
   */
  readonly rules?: ClientRules;
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

/** What a new snapshot changed, by resource name: added, changed or removed since the previous one. */
export interface XdsUpdate {
  readonly version: string;
  readonly listeners: readonly string[];
  readonly routeConfigs: readonly string[];
  readonly clusters: readonly string[];
  readonly endpoints: readonly string[];
  /** Secrets (TLS material the control plane serves): a rotation is a change. */
  readonly secrets: readonly string[];
}

export type { ListenerStatus } from './watch-state.js';

export interface XdsClientEvents {
  /** A new snapshot: every listener in it has its whole chain (gRFC A74). */
  snapshot: [MeshSnapshot];
  /** Emitted just before `snapshot`: what it changed. */
  update: [XdsUpdate];
  ack: [AckInfo];
  nack: [NackInfo];
  'does-not-exist': [{ readonly typeUrl: string; readonly name: string }];
  /** A watched listener changed status (pending → ready, ready → absent, ...). */
  listener: [{ readonly name: string; readonly status: ListenerStatus }];
  /**
   * The stream came up (channel connected, or a first response; `server` it went to) or went down (with
   * the reconnect delay and the server it goes to next).
   */
  connection: [{ readonly connected: boolean; readonly error?: string; readonly retryInMs?: number; readonly nextServer?: string; readonly server?: string }];
  warning: [string];
}

/** Why a name is absent, as the listener status and the warnings say it. */
const DOES_NOT_EXIST = 'does not exist';
const DELETED = 'was deleted by the control plane';
const NOT_SENT = 'does not exist (not among every resource of its type the control plane sent)';
const TIMED_OUT = 'does not exist (the control plane did not send it in time)';

export class XdsClient extends EventEmitter<XdsClientEvents> {
  readonly bootstrap: ResolvedBootstrap;
  readonly rules: ClientRules;
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
  /** Per type: the decodings of its last response, by hash of their bytes. */
  private readonly decodeCaches = new Map<string, DecodeCache>();
  private readonly timers: ResourceTimers;
  /** Listeners and clusters kept although the control plane deleted them (`ignore_resource_deletion`), `type\0name`. */
  private readonly deletionIgnored = new Set<string>();
  private stream: AdsStream | undefined;
  private streamConnected = false;
  private reconnectTimer: TimerHandle | undefined;
  private current: MeshSnapshot | undefined;
  /** `current` came from the on-disk cache: it is replaced only by a snapshot start-up may proceed with. */
  private currentFromCache = false;
  /** Resources of the current snapshot by `type\0name`, to tell what the next one changes. */
  private currentResources = new Map<string, Record<string, unknown>>();
  private statuses: ReadonlyMap<string, ListenerStatus> = new Map();
  /** Counts changes other than endpoint updates (listeners, routes, clusters, absences). */
  private generation = 0;
  /** The last whole build from the control plane, the generation it reflects, and whether every listener in it was current. */
  private live: { set: BuiltSet; generation: number; current: boolean } | undefined;
  /** The listeners asked for at construction: `ready()` waits until each is settled. */
  private readonly initialListeners: readonly string[];
  private sawListenerResponse = false;
  private started = false;
  private closed = false;

  constructor(options: XdsClientOptions = {}) {
    super();
    this.bootstrap = resolveBootstrap(options.bootstrap, options.env);
    this.rules = options.rules ?? (options.wildcardListeners ? 'envoy' : 'grpc');
    this.protos = options.protos ?? loadEnvoyProtos();
    this.clock = options.clock ?? systemClock;
    this.wallClock = options.wallClock ?? Date.now;
    this.timers = new ResourceTimers(this.clock, options.resourceTimeoutMs ?? 15_000, (t, n) => this.onResourceTimeout(t, n));
    this.cachePath = options.cachePath ?? this.bootstrap.cachePath;
    this.backoff = new ConnectionBackoff(GRPC_CONNECTION_BACKOFF, options.random);
    const wildcard = new Set<string>();
    if (options.wildcardListeners) wildcard.add(TypeUrl.Listener);
    if (options.wildcardClusters) wildcard.add(TypeUrl.Cluster);
    this.initialListeners = [...new Set(options.listeners ?? [])];
    this.state = new WatchState(new Set(this.initialListeners), wildcard);
    this.grpcClients = this.bootstrap.servers.map(() => undefined);
  }

  /** The server the stream uses now (or will reconnect to). */
  get currentServer(): string {
    return this.server.serverUri;
  }

  /** The bootstrap's entry for that server: its protocol and features. */
  private get server(): ResolvedServer {
    return this.bootstrap.servers[this.serverIndex]!;
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

  /**
   * The snapshot to start with: from the cache at once, else the first one in which every listener asked
   * for at construction is settled (in it, or known not to exist) — with wildcard LDS, once the first LDS
   * response came; with nothing to watch, the (empty) snapshot once the stream is connected.
   */
  ready(): Promise<MeshSnapshot> {
    if (this.current && (this.currentFromCache || this.startable())) return Promise.resolve(this.current);
    return new Promise((resolve) => {
      const check = (snapshot: MeshSnapshot) => {
        if (!this.currentFromCache && !this.startable()) return;
        this.off('snapshot', check);
        resolve(snapshot);
      };
      this.on('snapshot', check);
    });
  }

  /** Where listener `name` stands; undefined when it is not watched. */
  listenerStatus(name: string): ListenerStatus | undefined {
    return this.statuses.get(name);
  }

  /**
   * Watches listener `name` too (a target used for the first time): subscribes it and what it
   * references. Its status is `pending` until it is in a snapshot or known not to exist (does-not-exist
   * timer, deletion). Idempotent.
   */
  watchListener(name: string): ListenerStatus {
    const known = this.statuses.get(name);
    if (known !== undefined || this.closed) return known ?? { state: 'absent', reason: 'the xDS client is closed' };
    this.state.listeners.add(name);
    this.syncSubscriptions();
    this.rebuild(true);
    return this.statuses.get(name) ?? { state: 'pending', waitingFor: [`Listener "${name}"`] };
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
      client = new (grpcJs().Client)(this.bootstrap.servers[index]!.serverUri, grpcJs().credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
      this.grpcClients[index] = client;
    }
    return client;
  }

  /**
   * True once a snapshot may start (or replace the cached one): every listener asked for at construction
   * is settled; with wildcard LDS, the first LDS response came and none of its listeners is still
   * pending; with nothing to watch, the stream is up.
   */
  private startable(): boolean {
    const settled = (name: string) => {
      const status = this.statuses.get(name);
      return status !== undefined && status.state !== 'pending';
    };
    if (this.state.wildcard.has(TypeUrl.Listener)) return this.sawListenerResponse && [...this.statuses.keys()].every(settled);
    if (this.initialListeners.length === 0) return this.streamConnected || (this.current !== undefined && !this.currentFromCache);
    return this.initialListeners.every(settled);
  }

  private openStream(): void {
    this.reconnectTimer = undefined;
    const server = this.bootstrap.servers[this.serverIndex]!;
    const client = this.clientFor(this.serverIndex);
    const stream = new AdsStream(client, this.protos, { ...this.bootstrap, ...server }, {
      onResponse: (update) => this.onResponse(stream, update),
      onFirstResponse: () => {
        this.backoff.reset();
        this.onConnected(stream);
      },
      onIgnored: (typeUrl) => this.emit('warning', `ignoring responses for ${JSON.stringify(typeUrl.slice(0, 200))}: not a resource type this client asks for`),
      onEnd: (error) => this.onStreamEnd(stream, error),
    });
    this.stream = stream;
    this.syncSubscriptions();
    this.watchChannel(stream, client);
  }

  /**
   * Reports the stream up as soon as its channel is connected: a control plane that answers only named
   * requests sends nothing while nothing is named, and a client watching nothing yet still starts.
   */
  private watchChannel(stream: AdsStream, client: grpc.Client): void {
    const channel = client.getChannel();
    const check = (): void => {
      if (this.closed || stream !== this.stream) return;
      const state = channel.getConnectivityState(false);
      if (state === grpcJs().connectivityState.READY) {
        this.onConnected(stream);
        return;
      }
      if (state === grpcJs().connectivityState.SHUTDOWN) return;
      channel.watchConnectivityState(state, Infinity, check);
    };
    check();
  }

  private onConnected(stream: AdsStream): void {
    if (stream !== this.stream || this.streamConnected) return;
    this.streamConnected = true;
    this.emit('connection', { connected: true, server: this.currentServer });
    if ((this.current === undefined || this.currentFromCache) && this.startable()) this.rebuild(true);
  }

  private onStreamEnd(stream: AdsStream, error: string): void {
    if (stream !== this.stream) return;
    this.stream = undefined;
    this.streamConnected = false;
    // gRFC A57: does-not-exist timers run only while the stream is up; they restart on the next one.
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
    const { resources, cache } = decodeUpdate(this.protos, update, this.decodeCaches.get(typeUrl), this.rules);
    // SotW resends unchanged resources: keep this response's decodings (delta sends each change once).
    if (!this.server.delta) this.decodeCaches.set(typeUrl, cache);
    if (typeUrl === TypeUrl.Listener) this.sawListenerResponse = true;

    const trial = this.state.clone();
    const held = trial.of(typeUrl);
    const absent = trial.absentOf(typeUrl);
    const wanted = trial.wanted();
    const subscribed = wanted.names.get(typeUrl) ?? new Set<string>();
    const isWildcard = wanted.wildcard.has(typeUrl);
    const errors: FieldError[] = [];
    /** Names the response carries, valid or not: an invalid one is not deleted, it keeps its last good version. */
    const carried = new Set<string>();
    const accepted: string[] = [];
    /** Accepted resources whose content changed (SotW resends the unchanged ones, decoded to the same object). */
    const changed: string[] = [];
    const gone: string[] = [];
    const kept: string[] = [];
    let structural = typeUrl !== TypeUrl.ClusterLoadAssignment;
    for (const r of resources) {
      if (r.name !== undefined) carried.add(r.name);
      if (r.json === undefined) {
        errors.push(...r.errors);
        // gRPC: an invalid resource never received valid fails its users with the error (it is not waited for).
        if (r.name !== undefined && !held.has(r.name) && subscribed.has(r.name)) {
          absent.set(r.name, `was rejected: ${r.errors[0]?.message ?? 'invalid'}`);
          structural = true;
        }
        continue;
      }
      const name = r.name!;
      if (!isWildcard && !subscribed.has(name)) continue; // not asked for: ignored, as gRPC does
      if (held.get(name)?.json !== r.json) changed.push(name);
      held.set(name, r.assignment === undefined ? { json: r.json, version: r.version } : { json: r.json, version: r.version, assignment: r.assignment });
      if (absent.delete(name)) structural = true;
      this.deletionIgnored.delete(`${typeUrl}\0${name}`);
      accepted.push(name);
    }
    // SotW LDS/CDS: a held resource the response does not carry is deleted; one never received is left to
    // its does-not-exist timer, as the response may predate the request naming it (xDS protocol, "Knowing
    // When a Requested Resource Does Not Exist"; gRPC clients alike). Delta says what it removed.
    // A wildcard subscription's SotW response is the whole set: a named resource it lacks does not exist (as Envoy takes it).
    const removed = update.stateOfTheWorld
      ? (isWildcard ? [...new Set([...held.keys(), ...subscribed])] : [...held.keys()]).filter((n) => !carried.has(n))
      : update.removed;
    for (const name of removed) {
      structural = true;
      if (held.has(name)) {
        if (this.server.ignoreResourceDeletion && (typeUrl === TypeUrl.Listener || typeUrl === TypeUrl.Cluster)) {
          kept.push(name);
          continue;
        }
        held.delete(name);
        if (subscribed.has(name) && !absent.has(name)) {
          absent.set(name, DELETED);
          gone.push(name);
        }
      } else if (subscribed.has(name) && !absent.has(name)) {
        absent.set(name, update.stateOfTheWorld ? NOT_SENT : DOES_NOT_EXIST);
        gone.push(name);
      }
    }

    this.state = trial;
    if (structural) this.generation++;
    // gRPC's rule: the type's version moves on when the response had a valid resource or no error.
    if (accepted.length > 0 || errors.length === 0) this.typeVersions.set(typeUrl, version);
    for (const name of [...accepted, ...gone]) this.timers.cancel(typeUrl, name);
    for (const r of resources) if (r.name !== undefined && r.json === undefined) this.timers.cancel(typeUrl, r.name);
    if (errors.length > 0) this.nack(stream, update, errors);
    else {
      stream.ack(typeUrl, nonce, version);
      this.emit('ack', { typeUrl, version, nonce });
    }
    for (const name of kept) this.warnKept(typeUrl, name);
    for (const name of gone) this.emit('does-not-exist', { typeUrl, name });
    this.syncSubscriptions();
    this.rebuild(structural, typeUrl === TypeUrl.ClusterLoadAssignment && !structural ? changed : undefined);
  }

  private warnKept(typeUrl: string, name: string): void {
    const key = `${typeUrl}\0${name}`;
    if (this.deletionIgnored.has(key)) return;
    this.deletionIgnored.add(key);
    this.emit('warning', `the control plane deleted ${short(typeUrl)} "${name}"; it is kept (ignore_resource_deletion)`);
  }

  private nack(stream: AdsStream, update: ResponseUpdate, errors: readonly FieldError[]): void {
    const version = this.typeVersions.get(update.typeUrl) ?? '';
    const message = errors.map((e) => `${e.path}: ${e.message}`).join('\n');
    stream.nack(update.typeUrl, update.nonce, version, message);
    this.emit('nack', { typeUrl: update.typeUrl, version, nonce: update.nonce, errors, message });
  }

  private versionLabel(): string {
    return WATCH_ORDER.map((t) => `${short(t)}=${this.typeVersions.get(t) ?? ''}`).join(',');
  }

  /**
   * Applies the state: only the endpoints of clusters already in force changed (`endpoints` named) and
   * every listener in force is current, so just those clusters are rebuilt; otherwise the whole set is
   * assembled per listener and built.
   */
  private rebuild(structural: boolean, endpoints?: readonly string[]): void {
    const live = this.live;
    if (!structural && endpoints !== undefined && live !== undefined && live.current && live.generation === this.generation) {
      const changed = new Map<string, HeldResource>();
      const assignments = this.state.of(TypeUrl.ClusterLoadAssignment);
      for (const name of endpoints) changed.set(name, assignments.get(name)!);
      if (endpointsAllInForce(live.set.snapshot, changed)) {
        const result = applyEndpointUpdate(live.set, this.state.of(TypeUrl.Cluster), changed, this.versionLabel(), this.buildOptions());
        if (result.ok) {
          this.publish(result.set.snapshot, result.set.resources, { structural: false, assignments: changed });
          return;
        }
        this.emit('warning', `endpoints not applied: ${result.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
        return;
      }
    }
    const assembly = this.state.assemble();
    this.noteStatuses(assembly.listeners);
    if ((this.current === undefined || this.currentFromCache) && !this.startable()) return;
    const built = buildSnapshot(assembly.resources, { version: this.versionLabel(), ...this.buildOptions() });
    if (!built.ok) {
      // Every resource was validated on its own: this is a combination xmesh cannot build, kept out of force.
      const labels = assembly.resources.map((r) => `${short(String(r['@type']))} "${nameOf(String(r['@type']), r) ?? '?'}"`);
      const errors = labelPaths(built.errors, labels);
      this.emit('warning', `the resources received do not build (the last snapshot stays in force): ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
      return;
    }
    const allCurrent = assembly.stale.length === 0 && [...assembly.listeners.values()].every((s) => s.state !== 'pending');
    this.forgetDecodedAssignments();
    // The config dump's sources are the held resources themselves, not the build's copy of them.
    const snapshot = deepFreeze(withSources({ ...built.snapshot }, dynamicSources(assembly.resources)));
    this.publish(snapshot, assembly.resources, { structural: true, allCurrent });
  }

  /**
   * A whole build decoded every assignment again: the decodings kept from validation (for endpoint updates)
   * would only double the endpoints in memory.
   */
  private forgetDecodedAssignments(): void {
    const held = this.state.of(TypeUrl.ClusterLoadAssignment);
    for (const [name, h] of held) if (h.assignment !== undefined) held.set(name, { json: h.json, version: h.version });
  }

  private buildOptions(): { rules: ClientRules; missingClusters: 'unavailable' } {
    return { rules: this.rules, missingClusters: 'unavailable' };
  }

  private noteStatuses(next: ReadonlyMap<string, ListenerStatus>): void {
    const previous = this.statuses;
    this.statuses = next;
    for (const [name, status] of next) {
      const before = previous.get(name);
      if (before === undefined || before.state !== status.state) this.emit('listener', { name, status });
    }
  }

  /** Makes `snapshot` current; `resources` (what it was built from) become the base of endpoint-only updates. */
/**
   * Puts `snapshot` in force. `how.assignments`: the ClusterLoadAssignments that are all that changed since the
   * last build (an endpoint update), so only they are compared.
   */
  private publish(snapshot: MeshSnapshot, resources: readonly Record<string, unknown>[], how: { structural: boolean; allCurrent?: boolean; assignments?: ReadonlyMap<string, HeldResource> }): void {
    if (how.structural) this.live = { set: { snapshot, resources }, generation: this.generation, current: how.allCurrent ?? false };
    else if (this.live) this.live = { ...this.live, set: { snapshot, resources } };
    let byKey: Map<string, Record<string, unknown>>;
    let changed: Map<string, string[]>;
    if (how.assignments !== undefined && !this.currentFromCache) {
      byKey = new Map(this.currentResources);
      const names: string[] = [];
      for (const [name, { json }] of how.assignments) {
        const key = `${TypeUrl.ClusterLoadAssignment}\0${name}`;
        if (byKey.get(key) !== json) names.push(name);
        byKey.set(key, json);
      }
      changed = names.length === 0 ? new Map() : new Map([[TypeUrl.ClusterLoadAssignment, names]]);
    } else {
      byKey = new Map();
      for (const r of resources) byKey.set(`${String(r['@type'])}\0${nameOf(String(r['@type']), r) ?? ''}`, r);
      changed = diffResources(this.currentResources, byKey);
    }
    // Nothing routed differently (a resend, or only versions moved): the snapshot in force stays.
    if (this.current && !this.currentFromCache && changed.size === 0) return;
    this.current = snapshot;
    this.currentFromCache = false;
    this.currentResources = byKey;
    this.emit('update', {
      version: snapshot.version,
      listeners: changed.get(TypeUrl.Listener) ?? [],
      routeConfigs: changed.get(TypeUrl.RouteConfiguration) ?? [],
      clusters: changed.get(TypeUrl.Cluster) ?? [],
      endpoints: changed.get(TypeUrl.ClusterLoadAssignment) ?? [],
      secrets: changed.get(TypeUrl.Secret) ?? [],
    });
    this.emit('snapshot', snapshot);
    if (this.cachePath) {
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
      const built = buildSnapshot(cached.resources, { version: cached.version, ...this.buildOptions() });
      if (!built.ok) throw new Error(built.errors.map((e) => `${e.path}: ${e.message}`).join('; '));
      const ageS = Math.max(0, Math.round((this.wallClock() - cached.savedAt) / 1000));
      this.emit('warning', `starting from cached xDS resources (${this.cachePath}, version ${cached.version}, saved ${ageS} s ago) until the control plane answers`);
      this.current = built.snapshot;
      this.currentFromCache = true;
      this.emit('snapshot', built.snapshot);
    } catch (err) {
      this.emit('warning', `ignoring xDS cache ${this.cachePath}: ${(err as Error).message}`);
    }
  }

  private onResourceTimeout(typeUrl: string, name: string): void {
    if (this.state.of(typeUrl).has(name) || this.state.absentOf(typeUrl).has(name)) return;
    this.state = this.state.clone();
    this.state.absentOf(typeUrl).set(name, TIMED_OUT);
    this.generation++;
    this.emit('does-not-exist', { typeUrl, name });
    this.syncSubscriptions();
    this.rebuild(true);
  }
}

/** True when every assignment in `changed` is the endpoints of a cluster of `snapshot`. */
function endpointsAllInForce(snapshot: MeshSnapshot, changed: ReadonlyMap<string, unknown>): boolean {
  const users = edsUsers(snapshot.clusters);
  for (const name of changed.keys()) if (!users.has(name)) return false;
  return true;
}

/** Per type URL, the names whose resource was added, replaced or removed between `before` and `after` (`type\0name` keys). */
function diffResources(before: ReadonlyMap<string, unknown>, after: ReadonlyMap<string, unknown>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const note = (key: string) => {
    const cut = key.indexOf('\0');
    const type = key.slice(0, cut);
    let names = out.get(type);
    if (!names) out.set(type, (names = []));
    names.push(key.slice(cut + 1));
  };
  for (const [key, json] of after) if (before.get(key) !== json) note(key);
  for (const key of before.keys()) if (!after.has(key)) note(key);
  return out;
}
