/**
 * The xmesh sidecar: a `Mesh` (config, clusters, endpoint connections) driven by the same pipeline
 * layers as embedded mode, with a byte-forwarding terminal instead of the embedded transports,
 * behind one HTTP/1.1 + h2c listener, plus an admin endpoint.
 */
import type { Settings } from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { composePipeline, createMesh, startXdsSource, type CreateMeshOptions, type Mesh, type MeshConfigInput, type MeshState, type TransportPoolOptions, type XdsSource } from '@xmesh/client';
import { MeshError, type Clock, type Endpoint } from '@xmesh/core';
import type { AdminServer } from '@xmesh/stats';
import type { XdsBootstrap } from '@xmesh/discovery';
import type { ClientTls } from '@xmesh/tls';
import { DEFAULT_DOWNSTREAM_PROTECTION, type DownstreamProtection, type LocalReplyConfig, type MeshSnapshot, type TcpProxyConfig } from '@xmesh/xds';
import { startSidecarAdmin } from './admin.js';
import { DualListener } from './listener.js';
import { DownstreamTls } from './downstream-tls.js';
import { withStreamWindow } from './flow-control.js';
import { defaultSidecarLimits, servedListenerOf, type SidecarLimits } from './protection.js';
import { ProxyFront } from './proxy-front.js';
import type { ProxyContext } from './proxy-attempt.js';
import { proxyTransport } from './proxy-transport.js';
import { SidecarStats } from './stats.js';
import { TcpProxyService } from './tcp-proxy.js';
import { UpstreamSession } from './upstream-session.js';
import { BoltListeners, type BoltBound, type SidecarBoltOptions } from './bolt/bolt-listeners.js';

export interface SidecarOptions {
  /** A config file path (YAML/JSON), a parsed Envoy bootstrap or resource list, or a MeshSnapshot. Exactly one of `config` and `xds`. */
  readonly config?: MeshConfigInput;
  /** Config from a control plane over ADS: an xDS bootstrap (file path or object); `true` reads it from `GRPC_XDS_BOOTSTRAP*`. */
  readonly xds?: XdsBootstrap | string | true;
  /** Watch the config file and apply good edits. */
  readonly watch?: boolean;
  /** `host:port` of the outbound listener; default `127.0.0.1:15001` (port 0 picks one). */
  readonly listen?: string;
  /** `host:port` of the admin endpoint; default `127.0.0.1:15000`; `false` for none. */
  readonly admin?: string | false;
  /**
   * Listener whose routes apply when the authority names none (as `createMesh`), and whose
   * HttpConnectionManager protections (timeouts, header limits, HTTP/2 settings) the sidecar's
   * port applies; without it, the only listener's, else Envoy's defaults.
   */
  readonly listener?: string;
  /** Process-wide limits (connection limit, gRPC message size, premature-reset check); see `SidecarLimits`. */
  readonly limits?: Partial<SidecarLimits>;
  readonly clock?: Clock;
  /** Upstream connection settings (HTTP/1.1 pools). */
  readonly transport?: TransportPoolOptions;
  /** HTTP/2 settings for client sessions and upstream sessions; `initialWindowSize` defaults to 1 MiB (see `flow-control.ts`). */
  readonly http2Settings?: Settings;
  /** Certificate provider instances TLS contexts name (gRFC A29); with `xds`, the bootstrap's are added. */
  readonly certificateProviders?: CreateMeshOptions['certificateProviders'];
  /** Bolt (SOFARPC) listeners: served for the config's listeners marked `xmesh.protocol: bolt` (see `SidecarBoltOptions`). */
  readonly bolt?: SidecarBoltOptions;
}

export interface BoundAddress {
  readonly host: string;
  readonly port: number;
}

/** Starts a sidecar; resolves once the config applied, clusters resolved and both ports listen. */
export async function startSidecar(options: SidecarOptions): Promise<Sidecar> {
  if ((options.config === undefined) === (options.xds === undefined)) throw new Error('give the sidecar exactly one of `config` and `xds`');
  const xds = options.xds === undefined ? undefined : await startXdsSource(options.xds === true ? undefined : options.xds);
  // The listener's filter chain TLS is checked with each snapshot, before it applies; secured connections are
  // served once the sidecar exists.
  let secured: (socket: TLSSocket) => void = (socket) => socket.destroy();
  let relay: (config: TcpProxyConfig, socket: Socket) => void = (_config, socket) => socket.destroy();
  let meshRef: Mesh | undefined;
  const downstream = new DownstreamTls(options.listener, (socket) => secured(socket), (errors) => {
    meshRef?.emit('config.rejected', { errors, source: 'tls secrets' });
  }, (config, socket) => relay(config, socket));
  // The sidecar's own mesh is always embedded: XMESH_MODE is meant for apps, not for the proxy.
  let mesh: Mesh;
  try {
    mesh = await createMesh({
      beforeApply: (snapshot, context) => downstream.check(snapshot, context),
      certificateProviders: { ...options.certificateProviders, ...xds?.certificateProviders },
      config: xds?.first ?? options.config!,
      mode: 'embedded',
      env: {},
      // Downstream callers' x-envoy-* timeout and retry headers are not trusted wholesale.
      trustCallerHeaders: false,
      // The proxy checks every cluster's hosts, whatever mode the config gives the apps.
      healthChecking: 'always',
      ...(options.watch === undefined ? {} : { watch: options.watch }),
      ...(options.listener === undefined ? {} : { listener: options.listener }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.transport === undefined ? {} : { transport: options.transport }),
    });
  } catch (error) {
    await xds?.close();
    throw error;
  }
  meshRef = mesh;
  const sidecar = new Sidecar(mesh, options, xds, downstream);
  secured = (socket) => sidecar.acceptSecure(socket);
  const tcpProxy = new TcpProxyService(() => mesh.state(), mesh.observability.store);
  relay = (config, socket) => tcpProxy.serve(config, socket);
  xds?.follow((snapshot) => mesh.update(snapshot), () => undefined);
  try {
    await sidecar.listen(options.listen ?? '127.0.0.1:15001', options.admin ?? '127.0.0.1:15000');
    await sidecar.listenBolt(options.bolt ?? {});
  } catch (error) {
    await sidecar.close();
    throw error;
  }
  return sidecar;
}

export class Sidecar {
  readonly stats: SidecarStats;
  private readonly listener: DualListener;
  private adminServer: AdminServer | undefined = undefined;
  private bolt: BoltListeners | undefined = undefined;
  private bound: BoundAddress | undefined = undefined;
  private adminBound: BoundAddress | undefined = undefined;
  private drainingFlag = false;
  private closed = false;

  /** The limits this sidecar runs with (defaults filled in; `maxConnections` follows the config's overload manager unless given). */
  limits: SidecarLimits;
  /** The last snapshot's served HttpConnectionManager settings (one lookup per config, not per request). */
  private servedOf: { snapshot: MeshSnapshot; protection: DownstreamProtection; localReplies: LocalReplyConfig | undefined } | undefined = undefined;

  /** Use `startSidecar`. */
  constructor(
    readonly mesh: Mesh,
    options: Pick<SidecarOptions, 'http2Settings' | 'listener' | 'limits'> = {},
    private readonly xds: XdsSource | undefined = undefined,
    private readonly downstream: DownstreamTls | undefined = undefined,
  ) {
    const sessionSettings = withStreamWindow(options.http2Settings);
    const stats = new SidecarStats(mesh.observability.store);
    this.stats = stats;
    const defaultLimits = defaultSidecarLimits();
    let limits: SidecarLimits = { ...defaultLimits, ...options.limits };
    const context: ProxyContext = {
      sessionKey: this,
      newSession: (endpoint: Endpoint, tls: ClientTls | undefined) => new UpstreamSession(endpoint, { settings: sessionSettings, tls }),
      maxGrpcMessageBytes: limits.maxGrpcMessageBytes,
    };
    const invoke = composePipeline(proxyTransport);
    const protection = (state: MeshState | MeshError): DownstreamProtection => (state instanceof MeshError ? DEFAULT_DOWNSTREAM_PROTECTION : this.served(state, options.listener).protection);
    const front = new ProxyFront({
      state: () => mesh.state(),
      protection,
      localReplies: (state) => (state instanceof MeshError ? undefined : this.served(state, options.listener).localReplies),
      invoke,
      context,
      onOpen: () => stats.begin(),
      onClose: () => stats.end(),
    });
    // The connection limit: an explicit `limits.maxConnections` wins; else the config's overload manager
    // (global_downstream_max_connections), followed as the config changes; else the default.
    if (options.limits?.maxConnections === undefined) {
      const configured = () => {
        const snapshot = mesh.snapshot;
        // A listener with ignore_global_conn_limit is not held to the overload manager's limit (only the sidecar's own default).
        if (servedListenerOf(snapshot, options.listener)?.ignoreGlobalConnLimit === true) return defaultLimits.maxConnections;
        return snapshot.overload?.maxDownstreamConnections ?? defaultLimits.maxConnections;
      };
      limits = { ...limits, maxConnections: configured() };
      mesh.on('config.applied', () => {
        this.limits = { ...this.limits, maxConnections: configured() };
        this.listener.setMaxConnections(this.limits.maxConnections);
      });
    }
    this.limits = limits;
    this.listener = new DualListener(front, {
      settings: sessionSettings,
      protection: () => protection(mesh.state()),
      limits,
      events: stats,
      ...(downstream === undefined ? {} : { gate: () => downstream.current() }),
    });
  }

  /** Serves a connection the listener's TLS chain secured. */
  acceptSecure(socket: TLSSocket): void {
    this.listener.acceptSecure(socket);
  }

  /** Open client connections. */
  get connections(): number {
    return this.listener.connections;
  }

  /** The outbound listener's address. */
  get address(): BoundAddress {
    if (!this.bound) throw new Error('the sidecar is not listening');
    return this.bound;
  }

  /** `host:port` of the outbound listener, as `sidecar.address` in the client's options. */
  get target(): string {
    return `${this.address.host}:${this.address.port}`;
  }

  /** The admin endpoint's address, when one was started. */
  get adminAddress(): BoundAddress | undefined {
    return this.adminBound;
  }

  get draining(): boolean {
    return this.drainingFlag;
  }

  async listen(listen: string, admin: string | false): Promise<void> {
    const at = splitHostPort(listen);
    this.bound = await this.listener.listen(at.host, at.port);
    if (admin === false) return;
    const server = await startSidecarAdmin(this.mesh, () => this.drainingFlag, splitHostPort(admin));
    this.adminServer = server;
    this.adminBound = { host: server.host, port: server.port };
  }

  /** Starts the Bolt listeners the config marks (none when it marks none). */
  async listenBolt(options: SidecarBoltOptions): Promise<void> {
    this.bolt = await BoltListeners.start(this.mesh, options, this.stats, splitHostPort);
  }

  /** Where the Bolt listeners listen (empty without Bolt listeners). */
  get boltAddresses(): readonly BoltBound[] {
    return this.bolt?.bound ?? [];
  }

  /**
   * Graceful drain: `/ready` turns 503, the listener stops accepting, in-flight requests finish
   * (up to `graceMs`), then the mesh and the admin endpoint close. Idempotent.
   */
  async drain(graceMs = 10_000): Promise<void> {
    if (this.drainingFlag) return this.close();
    this.drainingFlag = true;
    await Promise.all([this.listener.drain(graceMs), this.bolt?.drain(graceMs)]);
    await this.close();
  }

  private served(state: MeshState, listener: string | undefined): { protection: DownstreamProtection; localReplies: LocalReplyConfig | undefined } {
    const cached = this.servedOf;
    if (cached !== undefined && cached.snapshot === state.snapshot) return cached;
    const served = servedListenerOf(state.snapshot, listener);
    this.servedOf = { snapshot: state.snapshot, protection: served?.protection ?? DEFAULT_DOWNSTREAM_PROTECTION, localReplies: served?.localReply };
    return this.servedOf;
  }

  /** Closes everything at once. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.drainingFlag = true;
    this.closed = true;
    await this.listener.close();
    this.downstream?.close();
    await this.bolt?.close();
    await this.xds?.close();
    await this.mesh.close();
    await this.adminServer?.close();
  }
}

/** `host:port` or `[v6]:port`. */
export function splitHostPort(value: string): { host: string; port: number } {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(value);
  if (!match) throw new Error(`expected host:port, got "${value}"`);
  return { host: match[1]!, port: Number(match[2]) };
}
