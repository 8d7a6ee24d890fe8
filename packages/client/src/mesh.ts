/**
 * The embedded-mode mesh: owns the current MeshState, the clusters and the endpoint connections,
 * and hands out the gRPC channel / client, the undici dispatcher and `fetch` that route through it.
 */
import * as grpc from '@grpc/grpc-js';
import { EventEmitter } from 'eventemitter3';
import { BucketRotation, type ResilienceEvents, type StatsSnapshot } from '@xmesh/breaker';
import { fetch as undiciFetch, type Dispatcher, type RequestInfo, type RequestInit, type Response } from 'undici';
import { MeshError, systemClock, type Clock, type FieldError } from '@xmesh/core';
import { invalidConfig, type MeshSnapshot } from '@xmesh/xds';
import { ClusterManager } from './cluster-manager.js';
import { defaultComponents, type MeshComponents } from './components.js';
import { loadConfig, type LoadResult, type MeshConfigInput } from './config-input.js';
import { watchFile, type FileWatch } from './config-watch.js';
import type { MeshEvents } from './events.js';
import { MeshChannel, unaryResponsePathsOf } from './grpc-channel.js';
import { grpcTransport, type GrpcAttempt } from './grpc-call.js';
import { MeshDispatcher, httpTransport, type HttpAttempt } from './http-dispatcher.js';
import type { MeshState } from './mesh-state.js';
import { composePipeline, type Invoke } from './pipeline.js';
import type { PipelineCall } from './pipeline-call.js';
import { resolveModeSettings, withClusterModes, withModeSwitch, type MeshMode, type ModeOptions, type ModeSettings, type SidecarModeOptions } from './mode.js';
import { TransportPool, type TransportPoolOptions } from './transport-pool.js';
import { MeshServices } from './mesh-services.js';
import type { XdsBootstrap } from '@xmesh/discovery';
import { openXdsSource, type PendingXdsSource } from './xds-source.js';
import type { ClusterRateLimit } from './cluster-rate-limit-layer.js';
import { MeshObservability } from './observability/mesh-observability.js';
import { GRPC_TRANSPORT_ENV, resolveGrpcTransport } from './grpc-transport-kind.js';
import { fastUnaryTransport, type FastCallOptions, type FastUnaryAttempt } from './fast-unary-call.js';
import { MeshUnaryClient } from './unary-client.js';

export interface CreateMeshOptions {
  /** A config file path (YAML/JSON), a parsed Envoy bootstrap or resource list, or a MeshSnapshot. Exactly one of `config` and `xds`. */
  readonly config?: MeshConfigInput;
  /**
   * Config from a control plane over ADS: an xDS bootstrap (file path or object); `true` reads it from
   * `XMESH_XDS_BOOTSTRAP` / `GRPC_XDS_BOOTSTRAP` / `GRPC_XDS_BOOTSTRAP_CONFIG`. With `listener`, only that
   * listener (and what it references) is watched; without, every listener and cluster.
   */
  readonly xds?: XdsBootstrap | string | true;
  /** Watch the config file (when `config` is a path) and apply good edits; bad ones are rejected. */
  readonly watch?: boolean;
  /** Listener whose routes apply; default: the router's default choice. */
  readonly listener?: string;
  readonly clock?: Clock;
  /** Connection settings for the per-endpoint transports. */
  readonly transport?: TransportPoolOptions;
  /** A cluster-wide rate limit shared with other meshes through Redis (`RedisRateLimiter`); off by default. */
  readonly clusterRateLimit?: ClusterRateLimit;
  /** Replaces embedded-mode building blocks (router, balancer, discovery). */
  readonly components?: Partial<MeshComponents>;
  /**
   * Resilience options without an Envoy field: which fail-fast breaker backs `xmesh.fail_fast`
   * ('window', the default, or 'opossum'), and queued admission (calls over `max_requests` wait up
   * to `maxWaitMs` in a queue of `max_pending_requests` instead of failing; off by default).
   */
  readonly resilience?: { readonly failFast?: 'opossum' | 'window'; readonly queue?: { readonly maxWaitMs: number } };
  /** `embedded` (default) or `sidecar`; `XMESH_MODE` in `env` overrides it at creation. */
  readonly mode?: MeshMode;
  /** The sidecar's listener and the ramp (`percent` of calls to the sidecar, optionally sticky per header value). */
  readonly sidecar?: SidecarModeOptions;
  /** Per-cluster mode, winning over `mode` and the ramp. */
  readonly clusters?: Readonly<Record<string, MeshMode>>;
  /** Environment read for `XMESH_MODE` and `XMESH_GRPC_TRANSPORT`; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface UpdateResult {
  readonly version: string;
  readonly source: string;
  /** Fields the config had that xmesh ignores, with their paths. */
  readonly ignored: readonly string[];
}

/** Client constructors as grpc-js generates them (`loadPackageDefinition`, `makeClientConstructor`). */
export type GrpcClientConstructor<T> = new (address: string, credentials: grpc.ChannelCredentials, options?: Partial<grpc.ClientOptions>) => T;

/** Creates a mesh and resolves once the first snapshot applied and its clusters finished their first resolution. */
export async function createMesh(options: CreateMeshOptions): Promise<Mesh> {
  if ((options.config === undefined) === (options.xds === undefined)) {
    throw new MeshError('XMESH_CONFIG_INVALID', 'give createMesh exactly one of `config` and `xds`', { errors: [{ path: 'config', message: 'exactly one of `config` and `xds`' }] });
  }
  const mesh = new Mesh(options);
  try {
    if (options.config === undefined) await mesh.followXds(options.xds!);
    else await mesh.start(options.config);
    if (options.watch && typeof options.config === 'string') mesh.watch(options.config);
  } catch (error) {
    await mesh.close();
    throw error;
  }
  return mesh;
}

export class Mesh extends EventEmitter<MeshEvents> {
  /** An undici dispatcher routing through the mesh; use it with undici's `request`, `fetch`, `stream`. */
  readonly dispatcher: Dispatcher;
  private current: MeshState | undefined = undefined;
  private closedError: MeshError | undefined = undefined;
  private readonly clock: Clock;
  private readonly components: MeshComponents;
  private readonly listenerName: string | undefined;
  private readonly pool: TransportPool;
  /** One opossum bucket-rotation interval per bucket duration, shared by every cluster of this mesh. */
  private readonly rotation = new BucketRotation();
  private readonly clusters: ClusterManager;
  private readonly grpcInvoke: Invoke<GrpcAttempt>;
  private readonly httpInvoke: Invoke<HttpAttempt>;
  private readonly fastInvoke: Invoke<FastUnaryAttempt>;
  /** Fast unary clients by target, for `unary`. */
  private readonly unaryClients = new Map<string, MeshUnaryClient>();
  /** Per-mesh stats, filter state and retry policies the pipeline layers read through MeshState. */
  private readonly services: MeshServices;
  /** Stats with Envoy's names, Prometheus and `/stats` text, `/config_dump`, and the opt-in admin server. */
  readonly observability: MeshObservability;
  /** What a watched file's change reloads: the config last applied from a path or a bootstrap naming files. */
  private reloadInput: MeshConfigInput | undefined = undefined;
  /** The config file `watch` was asked to follow. */
  private watchedConfig: string | undefined = undefined;
  /** Files the applied bootstrap's dynamic_resources name: always watched, as Envoy watches them. */
  private dynamicFiles: readonly string[] = [];
  private readonly fileWatches = new Map<string, FileWatch>();
  private modeSettings: ModeSettings;
  /** Updates apply one at a time, in call order. */
  private updates: Promise<unknown> = Promise.resolve();
  /** The ADS client this mesh follows (`followXds`), closed with the mesh. */
  private xds: PendingXdsSource | undefined = undefined;

  /** Use `createMesh`; a Mesh built directly serves nothing until `update` applied a config. */
  constructor(options: Omit<CreateMeshOptions, 'config' | 'watch'>) {
    super();
    this.clock = options.clock ?? systemClock;
    this.services = new MeshServices({ clock: this.clock, ...(options.clusterRateLimit ? { clusterRateLimit: options.clusterRateLimit } : {}) });
    this.observability = new MeshObservability(this.services, {
      events: this,
      currentClusters: () => this.current?.clusters,
      currentSnapshot: () => this.current?.snapshot,
    });
    this.components = { ...defaultComponents, ...options.components };
    this.listenerName = options.listener;
    const env = options.env ?? process.env;
    const defaultGrpc = resolveGrpcTransport(options.transport?.grpc, env[GRPC_TRANSPORT_ENV], options.transport?.grpcCredentials !== undefined);
    this.pool = new TransportPool({ ...options.transport, grpc: defaultGrpc });
    this.clusters = new ClusterManager({
      resilience: { ...options.resilience, events: this as unknown as EventEmitter<ResilienceEvents>, rotation: this.rotation },
      pool: this.pool,
      clock: this.clock,
      components: this.components,
      onSourceError: (error) => this.emit('discovery.error', { error }),
    });
    this.modeSettings = resolveModeSettings(options, undefined, (options.env ?? process.env).XMESH_MODE);
    this.pool.join(this.modeSettings.endpoint);
    this.grpcInvoke = withModeSwitch(composePipeline(grpcTransport), grpcTransport, this.pool);
    this.httpInvoke = withModeSwitch(composePipeline(httpTransport), httpTransport, this.pool);
    this.fastInvoke = withModeSwitch(composePipeline(fastUnaryTransport), fastUnaryTransport, this.pool);
    const host = { state: () => this.state(), invoke: this.httpInvoke };
    this.dispatcher = new MeshDispatcher(host);
  }

  /** The snapshot serving new calls. */
  get snapshot(): MeshSnapshot {
    if (!this.current) throw new MeshError('XMESH_CONFIG_INVALID', 'no config applied yet');
    return this.current.snapshot;
  }

  /** The state new calls read (one field read), or the error they fail with. */
  state(): MeshState | MeshError {
    return this.closedError ?? this.current ?? new MeshError('XMESH_CONFIG_INVALID', 'no config applied yet');
  }

  /**
   * A grpc-js ChannelInterface for `target` (`host:port`, `dns:///host:port`); its calls go through the
   * mesh and end by their deadline (or the route timeout) whatever the upstream sends. A channel built
   * here does not know which methods are unary: `grpcClient` also fails a unary call answered with
   * more than one message at once.
   */
  grpcChannel(target: string): grpc.ChannelInterface {
    return new MeshChannel({ state: () => this.state(), invoke: this.grpcInvoke }, target);
  }

  /**
   * Builds a stock grpc-js generated client whose calls go through the mesh to `target`. The
   * client's service definition tells the channel which methods answer with one message, so a
   * unary call answered with two fails at once (UNIMPLEMENTED, as grpc-js fails it).
   */
  grpcClient<T>(ClientCtor: GrpcClientConstructor<T>, target: string, options: Partial<grpc.ClientOptions> = {}): T {
    const channel = new MeshChannel({ state: () => this.state(), invoke: this.grpcInvoke }, target, unaryResponsePathsOf(ClientCtor));
    return new ClientCtor(target, grpc.credentials.createInsecure(), { ...options, channelOverride: channel });
  }

  /**
   * The fast unary API for `target`: serialized messages on the lean transport, without grpc-js's
   * Client layer, every mesh policy applied. The fastest way to make unary gRPC calls through the mesh.
   */
  unaryClient(target: string): MeshUnaryClient {
    let client = this.unaryClients.get(target);
    if (client === undefined) {
      client = new MeshUnaryClient({ state: () => this.state(), invoke: this.fastInvoke }, target);
      if (this.unaryClients.size < 256) this.unaryClients.set(target, client);
    }
    return client;
  }

  /** One unary call on the fast path (`unaryClient(target).unary(...)`): resolves with the serialized reply, rejects with a MeshError. */
  unary(target: string, path: string, request: Uint8Array, options?: FastCallOptions): Promise<Buffer> {
    return this.unaryClient(target).unary(path, request, options);
  }

  /**
   * The mesh's pipeline and mode switch around another protocol's terminal (the Bolt transport of
   * `@xmesh/bolt`, ...): embedded calls run every layer then `transport`; sidecar calls are bound to
   * the sidecar endpoint and go to `transport` directly.
   */
  pipelineFor<C extends PipelineCall>(transport: Invoke<C>): Invoke<C> {
    return withModeSwitch(composePipeline(transport), transport, this.pool);
  }

  /** undici `fetch` through the mesh. Mesh failures reject with a TypeError whose `cause` is the MeshError. */
  fetch(input: RequestInfo, init: RequestInit = {}): Promise<Response> {
    return undiciFetch(input, { ...init, dispatcher: this.dispatcher });
  }

  /**
   * Validates `config` and swaps it in atomically, or rejects with XMESH_CONFIG_INVALID (listing every
   * error) while the previous snapshot keeps serving. Resolves once new clusters finished their first resolution.
   */
  update(config: MeshConfigInput): Promise<UpdateResult> {
    const run = this.updates.then(async () => this.applyLoaded(config, await loadConfig(config)));
    this.updates = run.catch(() => undefined);
    return run;
  }

  /**
   * The first config (`createMesh`): as `update`, except that a bootstrap whose `dynamic_resources` take
   * listeners and clusters from its `ads_config` server makes the mesh follow that server, exactly as
   * `createMesh({ xds })` with the same server and node.
   */
  async start(config: MeshConfigInput): Promise<UpdateResult> {
    const loaded = await loadConfig(config);
    if (loaded.ok && loaded.ads !== undefined) return this.followXds(loaded.ads);
    const run = this.updates.then(() => this.applyLoaded(config, loaded));
    this.updates = run.catch(() => undefined);
    return run;
  }

  /** The mode settings new calls use. */
  get mode(): ModeSettings {
    return this.modeSettings;
  }

  /**
   * Changes the mode live: fields given replace the current ones (`clusters` as a whole), the rest
   * stay. New calls use the new settings at once; in-flight calls finish where they started.
   * Throws XMESH_CONFIG_INVALID (and changes nothing) on a bad field.
   */
  setMode(options: ModeOptions): ModeSettings {
    const previous = this.modeSettings;
    const next = resolveModeSettings(options, previous);
    if (next.endpoint.id !== previous.endpoint.id) {
      this.pool.join(next.endpoint);
      this.pool.leave(previous.endpoint.id);
    }
    this.modeSettings = next;
    if (this.current) this.current = Object.freeze({ ...this.current, mode: withClusterModes(next, this.current.snapshot) });
    this.emit('mode.changed', { mode: next.mode, percent: next.percent, address: next.address, clusters: Object.fromEntries(next.clusters) });
    return next;
  }

  /**
   * Takes config from a control plane over ADS (see `CreateMeshOptions.xds`): resolves once its first
   * whole snapshot applied, then applies each later one. NACKed responses emit `config.rejected` (the last
   * good snapshot keeps serving); warnings and absent resources emit `xds.warning`. Closed with the mesh.
   */
  async followXds(bootstrap: XdsBootstrap | string | true): Promise<UpdateResult> {
    if (this.closedError) throw this.closedError;
    if (this.xds) throw new MeshError('XMESH_CONFIG_INVALID', 'this mesh already follows a control plane');
    const pending = openXdsSource(bootstrap === true ? undefined : bootstrap, {
      ...(this.listenerName === undefined ? {} : { listeners: [this.listenerName] }),
      onNack: (nack) => this.emit('config.rejected', { errors: nack.errors, source: `xds ${nack.typeUrl} nonce ${nack.nonce}` }),
      onWarning: (message) => this.emit('xds.warning', { message }),
    });
    this.xds = pending;
    const source = await pending.ready();
    const result = await this.update(source.first);
    source.follow((snapshot) => this.update(snapshot), () => undefined);
    return result;
  }

  /**
   * Applies good edits of `path` (and of the files its dynamic_resources name) as they happen; bad edits
   * emit `config.rejected` and change nothing.
   */
  watch(path: string): void {
    if (this.closedError) return;
    this.reloadInput = path;
    this.watchedConfig = path;
    this.syncFileWatches();
  }

  /** Watches the config file `watch` named and the dynamic resource files; each change reloads the whole config. */
  private syncFileWatches(): void {
    const wanted = new Set(this.dynamicFiles);
    if (this.watchedConfig !== undefined) wanted.add(this.watchedConfig);
    for (const [path, watch] of this.fileWatches) {
      if (wanted.has(path)) continue;
      watch.close();
      this.fileWatches.delete(path);
    }
    for (const path of wanted) {
      if (this.fileWatches.has(path)) continue;
      this.fileWatches.set(path, watchFile(path, () => {
        const input = this.reloadInput;
        if (input !== undefined && !this.closedError) this.update(input).catch(() => undefined);
      }));
    }
  }

  /**
   * Counters and gauges per cluster with Envoy's stat names (`upstream_rq_pending_overflow`,
   * `outlier_detection.ejections_active`, `circuit_breakers.default.rq_open`, ...) and per endpoint.
   */
  stats(): Record<string, StatsSnapshot> {
    const out: Record<string, StatsSnapshot> = {};
    for (const [name, runtime] of this.current?.clusters ?? []) out[name] = runtime.guard.snapshot();
    return out;
  }

  /** Stops watchers, sources and timers, closes every connection; new calls then fail with XMESH_CLOSED. Idempotent. */
  async close(): Promise<void> {
    if (this.closedError) return;
    this.closedError = new MeshError('XMESH_CLOSED', 'the mesh is closed');
    for (const watch of this.fileWatches.values()) watch.close();
    this.fileWatches.clear();
    this.clusters.closeAll();
    this.rotation.close();
    await this.observability.close();
    await this.xds?.close();
    await this.pool.closeAll();
    this.services.deadlines.close();
    this.removeAllListeners();
  }

  private async applyLoaded(config: MeshConfigInput, loaded: LoadResult): Promise<UpdateResult> {
    if (this.closedError) throw this.closedError;
    if (loaded.ok && loaded.ads !== undefined) {
      const errors = [{ path: loaded.source, message: 'this config takes listeners and clusters from an ADS server: give it to createMesh (or xmesh sidecar) to follow that server; a running mesh does not switch to it' }];
      this.emit('config.rejected', { errors, source: loaded.source });
      throw invalidConfig(errors);
    }
    const next = loaded.ok ? this.buildState(loaded) : loaded;
    if (!('state' in next)) {
      this.emit('config.rejected', { errors: next.errors, source: next.source });
      throw invalidConfig(next.errors);
    }
    const clusters = this.clusters.apply(next.state.snapshot);
    this.current = Object.freeze({ ...next.state, clusters, mode: withClusterModes(this.modeSettings, next.state.snapshot) });
    const dynamicFiles = loaded.ok ? loaded.dynamicFiles ?? [] : [];
    if (dynamicFiles.length > 0) this.reloadInput = config;
    this.dynamicFiles = dynamicFiles;
    this.syncFileWatches();
    const { snapshot } = next.state;
    this.emit('config.applied', { version: snapshot.version, source: next.source });
    await this.clusters.ready();
    return { version: snapshot.version, source: next.source, ignored: snapshot.ignored };
  }

  /** Compiles the router for a validated snapshot; a router that refuses it rejects the update. */
  private buildState(loaded: Extract<LoadResult, { ok: true }>):
    | { state: Omit<MeshState, 'clusters'>; source: string }
    | { errors: readonly FieldError[]; source: string } {
    try {
      const options = this.listenerName === undefined ? {} : { listener: this.listenerName };
      const router = this.components.createRouter(loaded.snapshot, options);
      return { state: { snapshot: loaded.snapshot, router, clock: this.clock, services: this.services }, source: loaded.source };
    } catch (error) {
      return { errors: [{ path: loaded.source, message: (error as Error).message }], source: loaded.source };
    }
  }
}
