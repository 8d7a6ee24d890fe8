/**
 * The embedded-mode mesh: owns the current MeshState, the clusters and the endpoint connections,
 * and hands out the gRPC channel / client, the undici dispatcher and `fetch` that route through it.
 */
import type * as grpc from '@grpc/grpc-js';
import { EventEmitter } from 'eventemitter3';
import { BucketRotation, type ResilienceEvents, type StatsSnapshot } from '@xmesh/breaker';
import type { MetricsRegistry } from '@xmesh/stats';
import type { Dispatcher, Request as UndiciRequest, RequestInit as UndiciRequestInit } from 'undici';
import { GrpcStatus, MeshError, systemClock, type Clock, type FieldError } from '@xmesh/core';
import { grpcJs, undici } from './lazy-deps.js';
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
import { composePipeline, SHADOW_LAYERS, type Invoke } from './pipeline.js';
import { shadowTransport } from './mirror/shadow-call.js';
import type { PipelineCall } from './pipeline-call.js';
import { mayRunEmbedded, resolveModeSettings, withClusterModes, withModeSwitch, type MeshMode, type ModeOptions, type ModeSettings, type SidecarModeOptions } from './mode.js';
import { TransportPool, type TransportPoolOptions } from './transport-pool.js';
import { MeshServices } from './mesh-services.js';
import { MeshSideCalls } from './side-calls.js';
import { SharedRegistries, type XdsBootstrap } from '@xmesh/discovery';
import { openXdsSource, type PendingXdsSource } from './xds-source.js';
import { ListenerWaits, type ListenerAvailability } from './listener-wait.js';
import { isXdsTarget, parseTarget, parseXdsUrl, type Target } from './targets.js';
import { StartupEvents } from './startup-events.js';
import type { ClusterRateLimit } from './cluster-rate-limit-layer.js';
import { MeshObservability } from './observability/mesh-observability.js';
import { GRPC_TRANSPORT_ENV, resolveGrpcTransport } from './grpc-transport-kind.js';
import { fastUnaryTransport, type FastCallOptions, type FastUnaryAttempt } from './fast-unary-call.js';
import { overrideHeaders, type CallOverrides } from './retry/call-overrides.js';
import { MeshUnaryClient } from './unary-client.js';
import { FastStubs } from './grpc-client-fast.js';
import { TlsSecrets, UpstreamTlsContexts, type FileWatcherProvider } from '@xmesh/tls';
import type { StatStore } from '@xmesh/stats';

/**
 * The events emitted during start-up that the first listener registered afterwards still gets:
 * what went wrong or where the config came from. Not `config.applied` and the like, which a
 * listener registered afterwards waits for anew.
 */
const STARTUP_REPLAYED: ReadonlySet<string | symbol> = new Set<keyof MeshEvents>(['discovery.error', 'config.rejected', 'xds.warning', 'xds.connection', 'xds.ready']);

/** Per-listener undici dispatchers `fetch` keeps for `xds:///` URLs (a bound on memory for callers that vary them). */
const MAX_LISTENER_DISPATCHERS = 256;

/** Ends a mesh's start-up phase; module-private, called by createMesh once the mesh is returned. */
const END_STARTUP = Symbol('endStartup');

export interface CreateMeshOptions {
  /** A config file path (YAML/JSON), a parsed Envoy bootstrap or resource list, or a MeshSnapshot. Exactly one of `config` and `xds`. */
  readonly config?: MeshConfigInput;
  /**
   * Config from a control plane over ADS: an xDS bootstrap (file path or object); `true` reads it from
   * `XMESH_XDS_BOOTSTRAP` / `GRPC_XDS_BOOTSTRAP` / `GRPC_XDS_BOOTSTRAP_CONFIG`. The mesh is a gRPC xDS
   * client: it watches `listener` (when given) and each listener an `xds:///name` target names, from the
   * target's first use, with what they reference — never every resource (control planes that answer
   * only named requests, as grpc-node's and Istio's for proxyless clients, work). Without `listener`,
   * start-up completes once the control plane is connected.
   */
  readonly xds?: XdsBootstrap | string | true;
  /**
   * With `xds`: how long start-up waits for the first whole config before `createMesh` rejects with
   * XMESH_TIMEOUT (Envoy's `initial_fetch_timeout`). Default: the bootstrap's `initial_fetch_timeout`,
   * else 15 000 ms; 0 waits forever. With a bootstrap `cache_path` whose file exists, start-up does
   * not wait: the mesh starts on the cached config (`xds.ready` says `origin: 'cache'`).
   */
  readonly initialFetchTimeoutMs?: number;
  /** Watch the config file (when `config` is a path) and apply good edits; bad ones are rejected. */
  readonly watch?: boolean;
  /**
   * Listener whose routes apply to targets that do not name one (`host:port`); default: the router's
   * default choice. With `xds`, it is watched from the start and start-up waits for it.
   */
  readonly listener?: string;
  readonly clock?: Clock;
  /** Connection settings for the per-endpoint transports. */
  readonly transport?: TransportPoolOptions;
  /** A cluster-wide rate limit shared with other meshes through Redis (`RedisRateLimiter`); off by default. */
  readonly clusterRateLimit?: ClusterRateLimit;
  /**
   * Metrics: `registry` is the app's prom-client `Registry` (or any object with `registerMetric` and
   * `getSingleMetric`); every xmesh metric family registers there as well as on the mesh's own, so
   * one scrape of the app's registry shows both. One mesh per registry: a family whose name the
   * registry already has stays the registry's.
   */
  readonly metrics?: { readonly registry?: MetricsRegistry };
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
  /**
   * Whether calls' `x-envoy-upstream-rq-timeout-ms`, `x-envoy-max-retries` and `x-envoy-retry-on` /
   * `x-envoy-retry-grpc-on` headers override the route (as Envoy does for internal callers). Default
   * true: the callers are the app. The per-call options `timeoutMs`, `maxRetries`, `retryOn` travel as
   * these headers. A proxy built on a mesh (the sidecar) sets false and decides per caller.
   */
  readonly trustCallerHeaders?: boolean;
  /**
   * Certificate provider instances that TLS contexts name (`tls_certificate_provider_instance`,
   * `ca_certificate_provider_instance`; gRFC A29). With `xds`, the bootstrap's `certificate_providers` are used.
   */
  readonly certificateProviders?: Readonly<Record<string, FileWatcherProvider>>;
  /**
   * Checks what a front end builds from each snapshot before it applies (the sidecar's downstream TLS): a refusal
   * rejects the update whole; `commit` runs as the snapshot becomes current.
   */
  readonly beforeApply?: (snapshot: MeshSnapshot, context: SnapshotCheckContext) => SnapshotCheck;
  /**
   * Which clusters' `health_checks` this mesh runs: 'auto' (default) every cluster some of whose calls
   * run embedded (a cluster whose calls all go to the sidecar is checked by the sidecar); 'always'
   * every cluster (a proxy built on a mesh, such as the sidecar).
   */
  readonly healthChecking?: 'auto' | 'always';
}

/** What `beforeApply` may use: the mesh's TLS secrets (snapshot secrets, SDS files, certificate providers) and stats. */
export interface SnapshotCheckContext {
  readonly secrets: TlsSecrets;
  readonly stats: StatStore;
}

/** The outcome of `CreateMeshOptions.beforeApply`. */
export type SnapshotCheck = { readonly ok: true; commit(): void } | { readonly ok: false; readonly errors: readonly FieldError[] };

/** `mesh.fetch` init: the global `RequestInit` plus this call's overrides of the route's timeout and retries. */
export interface MeshRequestInit extends RequestInit, CallOverrides {}

/** `mesh.unary` options: the fast call's metadata and deadline, plus overrides of the route's timeout and retries. */
export interface MeshUnaryOptions extends FastCallOptions, CallOverrides {}

/** `mesh.close` options. */
export interface CloseOptions {
  /**
   * Milliseconds to let calls in flight finish: new calls fail with XMESH_CLOSED at once, the mesh
   * waits until no request is active upstream or `drain` passed, then closes what is left (calls
   * still running end with an error). Default 0: close at once.
   */
  readonly drain?: number;
}

/** How often a draining mesh checks whether its calls in flight finished. */
const DRAIN_POLL_MS = 20;

export interface UpdateResult {
  readonly version: string;
  readonly source: string;
  /** Fields the config had that xmesh ignores, with their paths. */
  readonly ignored: readonly string[];
}

/** Client constructors as grpc-js generates them (`loadPackageDefinition`, `makeClientConstructor`). */
export type GrpcClientConstructor<T> = new (address: string, credentials: grpc.ChannelCredentials, options?: Partial<grpc.ClientOptions>) => T;

/**
 * Creates a mesh and resolves once the first snapshot applied and its clusters finished their first
 * resolution. Rejects with a MeshError: XMESH_CONFIG_INVALID (every error listed), or with `xds`,
 * XMESH_TIMEOUT when the control plane sent no whole config within `initialFetchTimeoutMs`.
 * Diagnostic events of start-up (`discovery.error`, `config.rejected`, `xds.*`) are handed to the
 * first listener registered for each on the returned mesh (see MeshEvents).
 */
export async function createMesh(options: CreateMeshOptions): Promise<Mesh> {
  if ((options.config === undefined) === (options.xds === undefined)) {
    throw new MeshError('XMESH_CONFIG_INVALID', 'give createMesh exactly one of `config` and `xds`', { errors: [{ path: 'config', message: 'exactly one of `config` and `xds`' }] });
  }
  const mesh = new Mesh(options);
  try {
    if (options.config === undefined) await mesh.followXds(options.xds!);
    else await mesh.start(options.config);
    if (options.watch && typeof options.config === 'string') mesh.watch(options.config);
    mesh[END_STARTUP]();
  } catch (error) {
    await mesh.close();
    throw error;
  }
  return mesh;
}

export class Mesh extends EventEmitter<MeshEvents> {
  private meshDispatcher: MeshDispatcher | undefined = undefined;
  private current: MeshState | undefined = undefined;
  private closedError: MeshError | undefined = undefined;
  private readonly clock: Clock;
  private readonly components: MeshComponents;
  private readonly listenerName: string | undefined;
  /** The `node.cluster` of the Envoy bootstrap whose control plane this mesh follows. */
  private nodeCluster: string | undefined = undefined;
  private readonly pool: TransportPool;
  /** One opossum bucket-rotation interval per bucket duration, shared by every cluster of this mesh. */
  private readonly rotation = new BucketRotation();
  private readonly clusters: ClusterManager;
  private readonly grpcInvoke: Invoke<GrpcAttempt>;
  private readonly httpInvoke: Invoke<HttpAttempt>;
  private readonly fastInvoke: Invoke<FastUnaryAttempt>;
  /** Fast unary clients by target, for `unary`. */
  private readonly unaryClients = new Map<string, MeshUnaryClient>();
  /** The fast path of `grpcClient` clients' unary methods. */
  private readonly fastStubs: FastStubs;
  /** Per-mesh stats, filter state and retry policies the pipeline layers read through MeshState. */
  private readonly services: MeshServices;
  /** Start-up events no listener heard, for the first listeners registered (see startup-events.ts). */
  private readonly startup = new StartupEvents();
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
  /** Clients of the registries this mesh's registry-backed clusters name, closed with the mesh. */
  private readonly registries: SharedRegistries;
  /** The ADS client this mesh follows (`followXds`), closed with the mesh. */
  private xds: PendingXdsSource | undefined = undefined;
  /** Set by the first `close()`. */
  private closing: Promise<void> | undefined = undefined;
  /** Calls held for the listener their `xds:///` target names. */
  private readonly listenerWaits: ListenerWaits;
  /** `fetch`'s dispatchers for `xds:///` URLs, by listener. */
  private readonly listenerDispatchers = new Map<string, MeshDispatcher>();

  private readonly initialFetchTimeoutMs: number | undefined;
  /** Certificates and CAs of TLS contexts: snapshot secrets, SDS files, certificate providers (shared with the sidecar's listener). */
  readonly tlsSecrets: TlsSecrets;
  private readonly beforeApply: CreateMeshOptions['beforeApply'];
  /** The clusters' upstream TLS contexts. */
  private readonly upstreamTls: UpstreamTlsContexts;

  /** Use `createMesh`; a Mesh built directly serves nothing until `update` applied a config. */
  constructor(options: Omit<CreateMeshOptions, 'config' | 'watch'>) {
    super();
    this.initialFetchTimeoutMs = options.initialFetchTimeoutMs;
    this.clock = options.clock ?? systemClock;
    this.services = new MeshServices({
      clock: this.clock,
      sideCalls: new MeshSideCalls(() => this.state()),
      ...(options.clusterRateLimit ? { clusterRateLimit: options.clusterRateLimit } : {}),
      ...(options.trustCallerHeaders === undefined ? {} : { trustsCallerHeaders: options.trustCallerHeaders }),
    });
    this.observability = new MeshObservability(this.services, {
      events: this,
      currentClusters: () => this.current?.clusters,
      currentSnapshot: () => this.current?.snapshot,
      appRegistry: options.metrics?.registry,
    });
    this.services.filters.clusterMembership = (cluster) => this.observability.clusterMembership(cluster);
    this.components = { ...defaultComponents, ...options.components };
    this.listenerName = options.listener;
    const env = options.env ?? process.env;
    const defaultGrpc = resolveGrpcTransport(options.transport?.grpc, env[GRPC_TRANSPORT_ENV], options.transport?.grpcCredentials !== undefined);
    this.pool = new TransportPool({ ...options.transport, grpc: defaultGrpc });
    this.fastStubs = new FastStubs(defaultGrpc);
    this.tlsSecrets = new TlsSecrets({
      ...(options.certificateProviders === undefined ? {} : { providers: options.certificateProviders }),
      onError: (error) => this.emit('config.rejected', { errors: [error], source: 'tls secrets' }),
    });
    this.beforeApply = options.beforeApply;
    this.upstreamTls = new UpstreamTlsContexts(this.tlsSecrets, (cluster) => this.services.stats.cluster(cluster), (errors) => {
      this.emit('config.rejected', { errors, source: 'tls secrets' });
    });
    const onSourceError = (error: MeshError) => this.emit('discovery.error', { error });
    this.registries = new SharedRegistries((config) => this.components.connectRegistry(config, { onError: onSourceError }));
    this.clusters = new ClusterManager({
      resilience: { ...options.resilience, events: this as unknown as EventEmitter<ResilienceEvents>, rotation: this.rotation },
      pool: this.pool,
      clock: this.clock,
      components: this.components,
      onSourceError,
      registries: this.registries,
      ...(options.healthChecking === 'always' ? {} : { runsHealthChecks: (cluster) => mayRunEmbedded(this.modeSettings, cluster) }),
    });
    this.modeSettings = resolveModeSettings(options, undefined, (options.env ?? process.env).XMESH_MODE);
    this.pool.join(this.modeSettings.endpoint);
    this.services.shadowInvoke = composePipeline(shadowTransport, SHADOW_LAYERS);
    this.listenerWaits = new ListenerWaits({ state: () => this.state(), availability: (listener) => this.availability(listener), clock: this.clock });
    this.grpcInvoke = this.listenerWaits.wrap(withModeSwitch(composePipeline(grpcTransport), grpcTransport, this.pool));
    this.httpInvoke = this.listenerWaits.wrap(withModeSwitch(composePipeline(httpTransport), httpTransport, this.pool));
    this.fastInvoke = this.listenerWaits.wrap(withModeSwitch(composePipeline(fastUnaryTransport), fastUnaryTransport, this.pool));
  }

  /**
   * An undici dispatcher routing through the mesh; use it with undici's `request`, `fetch`, `stream`.
   * Made on first use, so a mesh that never sends HTTP through undici (the sidecar's) never loads it.
   */
  get dispatcher(): Dispatcher {
    return (this.meshDispatcher ??= new MeshDispatcher({ state: () => this.state(), invoke: this.httpInvoke }));
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
   * A grpc-js ChannelInterface for `target` (`host:port`, `dns:///host:port`, or `xds:///name`, see
   * `resolveTarget`); its calls go through the mesh and end by their deadline (or the route timeout)
   * whatever the upstream sends. A channel built here does not know which methods are unary:
   * `grpcClient` also fails a unary call answered with more than one message at once.
   * @throws MeshError XMESH_CONFIG_INVALID for an `xds:` target with an authority or without a name
   */
  grpcChannel(target: string): grpc.ChannelInterface {
    return new MeshChannel({ state: () => this.state(), invoke: this.grpcInvoke }, target, undefined, this.resolveTarget(target));
  }

  /**
   * What `target` names. `xds:///name` names the Listener `name` maps to by the bootstrap's
   * `client_default_listener_resource_name_template` (default `name` itself), as gRPC's xDS resolver
   * does: calls use that listener only, carry `name` as `:authority`, and wait while it is on its way
   * (with `xds`, it is watched from here on); a listener that does not exist fails them UNAVAILABLE
   * after its does-not-exist timer. Other targets (`host:port`, `dns:///host:port`) are authorities
   * routed by the router's rules, whatever the config source.
   * @throws MeshError XMESH_CONFIG_INVALID for an `xds:` target with an authority or without a name
   */
  resolveTarget(target: string): Target {
    const resolved = parseTarget(target, (name) => this.xds?.listenerName(name) ?? name);
    if (resolved.listener !== undefined && this.closedError === undefined) this.xds?.watchListener(resolved.listener);
    return resolved;
  }

  /**
   * Builds a stock grpc-js generated client whose calls go through the mesh to `target`. The
   * client's service definition tells the channel which methods answer with one message, so a
   * unary call answered with two fails at once (UNIMPLEMENTED, as grpc-js fails it). Its call
   * options also take `timeoutMs`, `maxRetries` and `retryOn` (overrides of the route's timeout and
   * retries for that call: `client.echo(req, { timeoutMs: 200 }, cb)`).
   *
   * Calls without interceptors skip grpc-js's `Client` layer, with grpc-js's API as is: unary calls
   * run as the fast unary API's calls, streaming calls as the mesh channel's calls; the other calls
   * go through grpc-js over the mesh channel.
   */
  grpcClient<T>(ClientCtor: GrpcClientConstructor<T>, target: string, options: Partial<grpc.ClientOptions> = {}): T {
    const resolved = this.resolveTarget(target);
    const channel = new MeshChannel({ state: () => this.state(), invoke: this.grpcInvoke }, target, unaryResponsePathsOf(ClientCtor), resolved);
    const own = options.callInvocationTransformer;
    const callInvocationTransformer: grpc.CallInvocationTransformer = own === undefined ? applyCallOverrides : (call) => own(applyCallOverrides(call));
    const client = new ClientCtor(target, grpcJs().credentials.createInsecure(), { ...options, callInvocationTransformer, channelOverride: channel });
    const unary = new MeshUnaryClient({ state: () => channel.state(), invoke: this.fastInvoke }, target, resolved);
    this.fastStubs.install(client as grpc.Client, { state: () => channel.state(), unary, channel }, options);
    return client;
  }

  /**
   * The fast unary API for `target`: serialized messages on the lean transport, without grpc-js's
   * Client layer, every mesh policy applied. The fastest way to make unary gRPC calls through the mesh.
   */
  unaryClient(target: string): MeshUnaryClient {
    let client = this.unaryClients.get(target);
    if (client === undefined) {
      client = new MeshUnaryClient({ state: () => this.state(), invoke: this.fastInvoke }, target, this.resolveTarget(target));
      if (this.unaryClients.size < 256) this.unaryClients.set(target, client);
    }
    return client;
  }

  /**
   * One unary call on the fast path (`unaryClient(target).unary(...)`): resolves with the serialized
   * reply, rejects with a MeshError. `timeoutMs`, `maxRetries`, `retryOn` override the route for this call.
   */
  unary(target: string, path: string, request: Uint8Array, options?: MeshUnaryOptions): Promise<Buffer> {
    let client: MeshUnaryClient;
    try {
      client = this.unaryClient(target);
    } catch (error) {
      return Promise.reject(error);
    }
    return client.unary(path, request, options === undefined ? undefined : withOverrideMetadata(options));
  }

  /**
   * The mesh's pipeline and mode switch around another protocol's terminal (the Bolt transport of
   * `@xmesh/bolt`, ...): embedded calls run every layer then `transport`; sidecar calls are bound to
   * the sidecar endpoint and go to `transport` directly.
   */
  pipelineFor<C extends PipelineCall>(transport: Invoke<C>): Invoke<C> {
    return withModeSwitch(composePipeline(transport), transport, this.pool);
  }

  /**
   * `fetch` through the mesh, typed as the global one: `input` is a URL (string or `URL`) or a global
   * `Request` (its method, headers, body and signal are used); `init` may add `timeoutMs`,
   * `maxRetries`, `retryOn` for this call. Resolves with a `Response` (undici's class, so
   * `instanceof Response` is false; its shape is the global Response). Mesh failures reject with a
   * TypeError whose `cause` is the MeshError, as fetch does; calls the mesh ends before a response
   * get Envoy's local reply (status and `x-xmesh-error-code`).
   *
   * `xds:///name/path` URLs name a listener as `xds:///name` targets do (see `resolveTarget`): the
   * request goes to `/path` with `Host: name`, through listener `name` only.
   */
  fetch(input: string | URL | Request, init: MeshRequestInit = {}): Promise<Response> {
    const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (isXdsTarget(href)) return this.fetchXds(href, input, init);
    const plain = typeof input === 'string' || input instanceof URL || input instanceof undici().Request;
    if (plain && !hasOverrides(init)) return undici().fetch(input, { ...(init as UndiciRequestInit), dispatcher: this.dispatcher }) as unknown as Promise<Response>;
    return this.fetchVia(this.dispatcher, plain ? input : input.url, plain ? undefined : input, init);
  }

  /** `fetch` of an `xds:///name/path` URL: `http://name/path` through listener `name`'s dispatcher. */
  private fetchXds(href: string, input: string | URL | Request, init: MeshRequestInit): Promise<Response> {
    let parsed: ReturnType<typeof parseXdsUrl>;
    try {
      parsed = parseXdsUrl(href, (name) => this.xds?.listenerName(name) ?? name);
    } catch (error) {
      return Promise.reject(new TypeError('fetch failed', { cause: error }));
    }
    const { url, target } = parsed!;
    const listener = target.listener!;
    if (this.closedError === undefined) this.xds?.watchListener(listener);
    let dispatcher = this.listenerDispatchers.get(listener);
    if (dispatcher === undefined) {
      dispatcher = new MeshDispatcher({ state: () => this.state(), invoke: this.httpInvoke, listener });
      if (this.listenerDispatchers.size < MAX_LISTENER_DISPATCHERS) this.listenerDispatchers.set(listener, dispatcher);
    }
    const request = typeof input === 'string' || input instanceof URL ? undefined : input;
    return this.fetchVia(dispatcher, url, request, init);
  }

  /** `fetch` of `url` through `dispatcher`, with a global `Request`'s parts and `init`'s overrides as headers. */
  private fetchVia(dispatcher: Dispatcher, url: string | URL | UndiciRequest, request: Request | undefined, init: MeshRequestInit): Promise<Response> {
    const { timeoutMs, maxRetries, retryOn, ...rest } = init;
    const overrides = overrideHeaders({ timeoutMs, maxRetries, retryOn });
    const fromRequest: UndiciRequestInit = request === undefined ? {} : requestInitOf(request);
    const merged: UndiciRequestInit = { ...fromRequest, ...(rest as UndiciRequestInit), dispatcher };
    if (overrides.length > 0) {
      const headers = new Headers((merged.headers ?? (url instanceof undici().Request ? url.headers : undefined)) as ConstructorParameters<typeof Headers>[0]);
      for (const [name, value] of overrides) headers.set(name, value);
      merged.headers = headers as unknown as UndiciRequestInit['headers'];
    }
    return undici().fetch(url, merged) as unknown as Promise<Response>;
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
    // Envoy subscribes to every listener and cluster of an `ads: {}` lds_config / cds_config (wildcard).
    if (loaded.ok && loaded.ads !== undefined) {
      // The resources it serves carry no node: health checks name the bootstrap's node.cluster.
      this.nodeCluster = loaded.ads.node.cluster;
      return this.followXds(loaded.ads, { wildcard: true });
    }
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
    this.clusters.refreshHealthChecking();
    this.emit('mode.changed', { mode: next.mode, percent: next.percent, address: next.address, clusters: Object.fromEntries(next.clusters) });
    return next;
  }

  /**
   * Takes config from a control plane over ADS (see `CreateMeshOptions.xds`) as a gRPC xDS client:
   * watches `listener` (if given) and the listeners `xds:///` targets name; resolves once the first
   * snapshot applied (with `listener`, once that listener is in it or known not to exist; without, once
   * the control plane is connected), then applies each later one. NACKed responses emit
   * `config.rejected` naming the response (the last good version of each rejected resource keeps
   * serving); warnings and absent resources emit `xds.warning`; each new snapshot emits `xds.update`
   * naming what changed. Closed with the mesh.
   *
   * `wildcard`: also watch every listener and cluster and read resources by Envoy's rules, as Envoy
   * follows a bootstrap whose `lds_config` / `cds_config` are `ads: {}` (what `start` uses for one);
   * start-up then waits for the first LDS response.
   */
  async followXds(bootstrap: XdsBootstrap | string | true, options: { readonly wildcard?: boolean } = {}): Promise<UpdateResult> {
    if (this.closedError) throw this.closedError;
    if (this.xds) throw new MeshError('XMESH_CONFIG_INVALID', 'this mesh already follows a control plane');
    const startedAt = this.clock.now();
    const pending = openXdsSource(bootstrap === true ? undefined : bootstrap, {
      listeners: this.listenerName === undefined ? [] : [this.listenerName],
      wildcard: options.wildcard === true,
      ...(this.initialFetchTimeoutMs === undefined ? {} : { initialFetchTimeoutMs: this.initialFetchTimeoutMs }),
      clock: this.clock,
      onNack: (nack) => this.emit('config.rejected', { errors: nack.errors, source: `xds ${nack.typeUrl} version ${JSON.stringify(nack.version)} nonce ${nack.nonce}` }),
      onWarning: (message) => this.emit('xds.warning', { message }),
      onConnection: (event) => this.emit('xds.connection', event),
      onListener: () => this.listenerWaits.settle(),
      onUpdate: (update) => this.emit('xds.update', update),
    });
    this.xds = pending;
    this.tlsSecrets.addProviders(pending.certificateProviders);
    const source = await pending.ready();
    const result = await this.update(source.first);
    this.emit('xds.ready', { origin: source.origin, version: result.version, elapsedMs: this.clock.now() - startedAt });
    source.follow((snapshot) => this.update(snapshot), () => undefined);
    return result;
  }

  /**
   * Applies good edits of `path` (and of the files its dynamic_resources name) as they happen; bad edits
   * emit `config.rejected` and change nothing. A file that cannot be watched (its directory missing or
   * removed) emits `config.rejected` too.
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
      this.fileWatches.set(path, watchFile(
        path,
        () => {
          const input = this.reloadInput;
          if (input !== undefined && !this.closedError) this.update(input).catch(() => undefined);
        },
        (message) => this.emit('config.rejected', { errors: [{ path, message: `cannot watch: ${message}` }], source: path }),
      ));
    }
  }

  /**
   * Whether this mesh fails the health checks its `envoy.filters.http.health_check` filters answer (503, and
   * `x-envoy-immediate-health-check-fail` on other responses), as Envoy's admin `/healthcheck/fail` and
   * `/healthcheck/ok` set it; the sidecar's admin endpoint sets it. False at start.
   */
  get healthCheckFailed(): boolean {
    return this.services.filters.healthCheckFailed;
  }

  set healthCheckFailed(failed: boolean) {
    this.services.filters.healthCheckFailed = failed;
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

  /**
   * Closes the mesh: new calls fail with XMESH_CLOSED at once; with `drain` (ms), calls in flight may
   * finish until none is active or the drain time passed; then watchers, sources, timers and every
   * connection close (calls still running end with an error). Idempotent: later calls return the
   * same promise.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closedError = new MeshError('XMESH_CLOSED', 'the mesh is closed');
    this.closing = this.shutdown(Math.max(0, options.drain ?? 0));
    return this.closing;
  }

  /** Resolves once no request is active upstream, or after `maxMs`; checks every DRAIN_POLL_MS on the mesh clock. */
  private drain(maxMs: number): Promise<void> {
    const until = this.clock.now() + maxMs;
    return new Promise((resolve) => {
      const check = (): void => {
        const now = this.clock.now();
        if (this.services.activeRequests() === 0 || now >= until) resolve();
        else this.clock.setTimeout(check, Math.min(DRAIN_POLL_MS, until - now));
      };
      check();
    });
  }

  private async shutdown(drainMs: number): Promise<void> {
    this.listenerWaits.closeAll(this.closedError!);
    for (const watch of this.fileWatches.values()) watch.close();
    this.fileWatches.clear();
    if (drainMs > 0) await this.drain(drainMs);
    this.clusters.closeAll();
    this.upstreamTls.close();
    this.tlsSecrets.close();
    await this.registries.close();
    this.rotation.close();
    await this.observability.close();
    await this.xds?.close();
    await this.pool.closeAll();
    this.services.deadlines.close();
    this.startup.clear();
    this.removeAllListeners();
  }

  /** Emits to the listeners of `event`; during start-up, a diagnostic event (STARTUP_REPLAYED) is also recorded for replay. */
  override emit<T extends EventEmitter.EventNames<MeshEvents>>(event: T, ...args: EventEmitter.EventArgs<MeshEvents, T>): boolean {
    if (this.startup.starting && STARTUP_REPLAYED.has(event)) this.startup.hold(event, args);
    return super.emit(event, ...args);
  }

  /** Adds a listener; the first one registered for an event after start-up also gets that event's start-up emissions (on a microtask). */
  override on<T extends EventEmitter.EventNames<MeshEvents>>(event: T, fn: EventEmitter.EventListener<MeshEvents, T>, context?: unknown): this {
    super.on(event, fn, context);
    if (!this.startup.starting && this.startup.has(event)) {
      queueMicrotask(() => {
        for (const args of this.startup.takeAll(event)) Reflect.apply(fn, context, args);
      });
    }
    return this;
  }

  override addListener<T extends EventEmitter.EventNames<MeshEvents>>(event: T, fn: EventEmitter.EventListener<MeshEvents, T>, context?: unknown): this {
    return this.on(event, fn, context);
  }

  /** Adds a one-time listener; after start-up it may be the oldest start-up emission of `event` that it gets. */
  override once<T extends EventEmitter.EventNames<MeshEvents>>(event: T, fn: EventEmitter.EventListener<MeshEvents, T>, context?: unknown): this {
    super.once(event, fn, context);
    if (!this.startup.starting && this.startup.has(event)) {
      queueMicrotask(() => {
        if (!this.listeners(event).includes(fn)) return;
        const args = this.startup.takeOldest(event);
        if (args === undefined) return;
        super.removeListener(event, fn, context, true);
        Reflect.apply(fn, context, args);
      });
    }
    return this;
  }

  /** Start-up is over (createMesh resolved): later events are not recorded. */
  [END_STARTUP](): void {
    this.startup.end();
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
    // Certificates are read now: a missing file or a key that does not match its certificate refuses the update.
    const tls = this.upstreamTls.prepare(next.state.snapshot);
    if (!tls.ok) this.refuse(tls.errors, next.source);
    const check = this.beforeApply?.(next.state.snapshot, { secrets: this.tlsSecrets, stats: this.services.stats });
    if (check?.ok === false) {
      tls.abort();
      this.refuse(check.errors, next.source);
    }
    const clusters = this.clusters.apply(next.state.snapshot, tls.commit());
    if (check?.ok) check.commit();
    this.current = Object.freeze({ ...next.state, clusters, mode: withClusterModes(this.modeSettings, next.state.snapshot) });
    this.services.filters.localCluster = next.state.snapshot.localCluster ?? this.nodeCluster ?? '';
    this.listenerWaits.settle();
    const dynamicFiles = loaded.ok ? loaded.dynamicFiles ?? [] : [];
    if (dynamicFiles.length > 0) this.reloadInput = config;
    this.dynamicFiles = dynamicFiles;
    this.syncFileWatches();
    const { snapshot } = next.state;
    this.emit('config.applied', { version: snapshot.version, source: next.source });
    await this.clusters.ready();
    return { version: snapshot.version, source: next.source, ignored: snapshot.ignored };
  }

  /**
   * Whether a listener the current state lacks is coming, for a call held for it: with a control plane,
   * while it is watched and neither received nor known not to exist; from a file, never.
   */
  private availability(listener: string): ListenerAvailability {
    if (this.closedError) return this.closedError;
    const xds = this.xds;
    const unavailable = (why: string) => new MeshError('XMESH_NO_ROUTE', `listener "${listener}" ${why}`, { grpcStatus: GrpcStatus.UNAVAILABLE, httpStatus: 503 });
    if (xds === undefined) return unavailable('is not in the config');
    const status = xds.listenerStatus(listener) ?? xds.watchListener(listener);
    return status.state === 'absent' ? unavailable(`is not available: ${status.reason}`) : 'pending';
  }

  /** Rejects an update whole: the previous snapshot keeps serving. */
  private refuse(errors: readonly FieldError[], source: string): never {
    this.emit('config.rejected', { errors, source });
    throw invalidConfig(errors);
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

/**
 * grpc-js call transformer of `grpcClient` clients: a call's `timeoutMs` / `maxRetries` / `retryOn`
 * options become the x-envoy-* metadata the mesh reads. (A transformer, not an interceptor: grpc-js's
 * interceptor chain costs about 100 µs of CPU per call; this is one function call.)
 */
const applyCallOverrides: grpc.CallInvocationTransformer = (call) => {
  const options = call.callOptions as grpc.CallOptions & CallOverrides;
  if (hasOverrides(options)) for (const [name, value] of overrideHeaders(options)) call.metadata.set(name, value);
  return call;
};

function hasOverrides(options: CallOverrides): boolean {
  return options.timeoutMs !== undefined || options.maxRetries !== undefined || options.retryOn !== undefined;
}

/** Fast-call options with the overrides moved into the metadata. */
function withOverrideMetadata(options: MeshUnaryOptions): FastCallOptions {
  if (!hasOverrides(options)) return options;
  const { timeoutMs, maxRetries, retryOn, ...fast } = options;
  const pairs = overrideHeaders({ timeoutMs, maxRetries, retryOn });
  if (pairs.length === 0) return fast;
  return { ...fast, metadata: { ...fast.metadata, ...Object.fromEntries(pairs) } };
}

/** The parts of a global `Request` that undici's fetch takes as init (its own Request class refuses the global one). */
function requestInitOf(request: Request): UndiciRequestInit {
  const hasBody = request.body !== null;
  return {
    method: request.method,
    headers: [...request.headers] as [string, string][],
    ...(hasBody ? { body: request.body as unknown as UndiciRequestInit['body'], duplex: 'half' as const } : {}),
    signal: request.signal as unknown as UndiciRequestInit['signal'],
    redirect: request.redirect,
    keepalive: request.keepalive,
    integrity: request.integrity,
  };
}
