/**
 * An ADS management server on @grpc/grpc-js: `StreamAggregatedResources` (state of the world) and
 * `DeltaAggregatedResources` (incremental). Snapshots are set through `setSnapshot`, per node id or as
 * the default; every connected stream of the affected nodes gets the change pushed at once.
 */
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { guardConfigValue, invalidConfig, loadEnvoyProtos, type EnvoyProtos } from '@xmesh/xds';
import { adsWire, type AdsWire, type DeltaDiscoveryRequest, type DeltaDiscoveryResponse, type DiscoveryRequest, type DiscoveryResponse } from '@xmesh/discovery';
import { consoleLogger, type ControlPlaneEvents, type ControlPlaneLogger } from './events.js';
import { encodeSnapshot, resourceList, type ServedResource, type ServedSnapshot } from './resources.js';
import { StreamRefused, type SessionBase, type SessionHost } from './session.js';
import { SotwSession } from './sotw-session.js';
import { DeltaSession } from './delta-session.js';

export interface ControlPlaneOptions {
  /** Loaded Envoy protos to share; loaded on construction otherwise (~200 ms). */
  readonly protos?: EnvoyProtos;
  readonly logger?: ControlPlaneLogger;
  /** Sent as `control_plane.identifier` in SotW responses. Default `xmesh-control-plane`. */
  readonly identifier?: string;
  /**
   * Answer named requests only: a wildcard subscription (`*`, or an empty first LDS/CDS request) gets
   * nothing, as grpc-node's xDS test server and Istio's control plane for proxyless gRPC clients behave.
   * For testing clients against such control planes. Default false.
   */
  readonly namedOnly?: boolean;
}

/**
 * Server settings that bound what clients can cost: streams per connection (an ADS client needs one),
 * and keepalive pings that find a client that vanished without closing its connection (a pod gone, a
 * partition) within keepalive time + timeout.
 */
export const SERVER_OPTIONS: grpc.ServerOptions = Object.freeze({
  'grpc.max_concurrent_streams': 100,
  'grpc.keepalive_time_ms': 60_000,
  'grpc.keepalive_timeout_ms': 20_000,
});

/** A resource to take out of the served set (`putResources`, `updateSnapshot`). */
export interface ResourceRef {
  readonly typeUrl: string;
  readonly name: string;
}

export interface SetSnapshotOptions {
  /** Serve this snapshot only to streams whose node id is this; others get the default snapshot. */
  readonly nodeId?: string;
}

export class ControlPlane extends EventEmitter<ControlPlaneEvents> implements SessionHost {
  readonly protos: EnvoyProtos;
  readonly logger: ControlPlaneLogger;
  readonly identifier: string;
  readonly namedOnly: boolean;
  private readonly wire: AdsWire;
  private defaultSnapshot: ServedSnapshot | undefined;
  private readonly perNode = new Map<string, ServedSnapshot>();
  /**
   * Resources set one by one (`putResources`), served on top of every snapshot (a registry's
   * endpoints): they replace a snapshot's resource of the same type and name.
   */
  private readonly overlay = new Map<string, Map<string, ServedResource>>();
  private overlayRevision = 0;
  private readonly sessions = new Set<SessionBase>();
  private server: grpc.Server | undefined;
  private boundPort = 0;
  private streamIds = 0;

  constructor(options: ControlPlaneOptions = {}) {
    super();
    this.protos = options.protos ?? loadEnvoyProtos();
    this.logger = options.logger ?? consoleLogger;
    this.identifier = options.identifier ?? 'xmesh-control-plane';
    this.namedOnly = options.namedOnly ?? false;
    this.wire = adsWire(this.protos);
  }

  /**
   * Replaces the snapshot (the default one, or `nodeId`'s). `resources`: proto3 JSON resources with
   * `@type` (a list, `{resources}`, or a bootstrap's static_resources). Each is encoded once here.
   * @throws MeshError XMESH_CONFIG_INVALID listing every resource that cannot be encoded; nothing changes then.
   */
  setSnapshot(version: string, resources: unknown, options: SetSnapshotOptions = {}): void {
    // Plain data within the config limits first: a cycle, a throwing getter or a proxy is an error with its path.
    const guarded = guardConfigValue(resources);
    if (!guarded.ok) throw invalidConfig(guarded.errors);
    this.serve(version, this.withOverlay(encodeSnapshot(this.protos, version, resourceList(guarded.value))), options);
  }

  /**
   * Changes the snapshot (the default one, or `nodeId`'s, which starts as a copy of the default) resource
   * by resource: each of `set` replaces the resource of its type and name or is added, each of `remove`
   * is deleted. Like `setSnapshot`, anything that encodes is served, valid or not, so a test can push
   * an invalid resource or delete one a client uses. Resources put with `putResources` stay on top.
   * @throws MeshError XMESH_CONFIG_INVALID listing every resource of `set` that cannot be encoded; nothing changes then.
   */
  updateSnapshot(version: string, change: { readonly set?: readonly unknown[]; readonly remove?: readonly ResourceRef[] }, options: SetSnapshotOptions = {}): void {
    const guarded = guardConfigValue(change.set ?? []);
    if (!guarded.ok) throw invalidConfig(guarded.errors);
    const added = encodeSnapshot(this.protos, version, resourceList(guarded.value));
    const base = (options.nodeId === undefined ? undefined : this.perNode.get(options.nodeId)) ?? this.defaultSnapshot;
    const byType = new Map<string, Map<string, ServedResource>>();
    for (const [typeUrl, resources] of base?.byType ?? []) byType.set(typeUrl, new Map(resources));
    for (const [typeUrl, resources] of added.byType) {
      let forType = byType.get(typeUrl);
      if (!forType) byType.set(typeUrl, (forType = new Map()));
      for (const [name, resource] of resources) forType.set(name, resource);
    }
    for (const { typeUrl, name } of change.remove ?? []) byType.get(typeUrl)?.delete(name);
    this.serve(version, this.withOverlay({ version, byType }), options);
  }

  private serve(version: string, snapshot: ServedSnapshot, options: SetSnapshotOptions): void {
    if (options.nodeId === undefined) this.defaultSnapshot = snapshot;
    else this.perNode.set(options.nodeId, snapshot);
    this.emit('snapshot', { version, nodeId: options.nodeId });
    this.logger.info(`snapshot "${version}"${options.nodeId === undefined ? '' : ` for node "${options.nodeId}"`} set`);
    for (const session of this.sessions) {
      if (options.nodeId === undefined ? !this.perNode.has(session.nodeId) : session.nodeId === options.nodeId) session.onSnapshot();
    }
  }

  /**
   * Adds or replaces resources (proto3 JSON with `@type`) and removes others, on top of every node's
   * snapshot, without re-encoding anything else. Only the streams subscribed to a changed resource
   * hear of it: state-of-the-world streams get the changed resources of that type (all their
   * listeners or clusters for LDS and CDS, as the protocol wants), delta streams just the changes.
   * Resources put here stay across `setSnapshot`.
   * @throws MeshError XMESH_CONFIG_INVALID when a resource cannot be encoded; nothing changes then.
   */
  putResources(resources: readonly unknown[], removed: readonly ResourceRef[] = []): void {
    const encoded = encodeSnapshot(this.protos, '', resources);
    const changed = new Map<string, string[]>();
    const note = (typeUrl: string, name: string) => {
      let names = changed.get(typeUrl);
      if (names === undefined) changed.set(typeUrl, (names = []));
      names.push(name);
    };
    for (const [typeUrl, byName] of encoded.byType) {
      let mine = this.overlay.get(typeUrl);
      if (mine === undefined) this.overlay.set(typeUrl, (mine = new Map()));
      for (const [name, resource] of byName) {
        if (mine.get(name)?.version === resource.version) continue;
        mine.set(name, resource);
        note(typeUrl, name);
      }
    }
    for (const { typeUrl, name } of removed) if (this.overlay.get(typeUrl)?.delete(name)) note(typeUrl, name);
    if (changed.size === 0) return;
    this.overlayRevision += 1;
    if (this.defaultSnapshot) this.defaultSnapshot = this.withOverlayChanges(this.defaultSnapshot, changed);
    for (const [nodeId, snapshot] of this.perNode) this.perNode.set(nodeId, this.withOverlayChanges(snapshot, changed));
    for (const session of this.sessions) for (const [typeUrl, names] of changed) session.onResourcesChanged(typeUrl, names);
  }

  /** Drops `nodeId`'s own snapshot; its streams fall back to the default one. */
  clearSnapshot(nodeId: string): void {
    if (!this.perNode.delete(nodeId)) return;
    for (const session of this.sessions) if (session.nodeId === nodeId) session.onSnapshot();
  }

  snapshotFor(nodeId: string): ServedSnapshot | undefined {
    return this.perNode.get(nodeId) ?? this.defaultSnapshot;
  }

  /** Version of the snapshot a node gets, if any. */
  versionFor(nodeId = ''): string | undefined {
    return this.snapshotFor(nodeId)?.version;
  }

  /** Number of open ADS streams. */
  get streamCount(): number {
    return this.sessions.size;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Starts serving (plaintext) on `host:port`; port 0 picks a free one. Resolves to the bound port. */
  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    if (this.server) throw new Error('control plane already listening');
    const server = new grpc.Server(SERVER_OPTIONS);
    server.addService(this.wire as unknown as grpc.ServiceDefinition, {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) => this.serveSotw(call),
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>) => this.serveDelta(call),
    });
    const hostPort = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
    this.boundPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(hostPort, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
    );
    this.server = server;
    this.logger.info(`ADS listening on ${host}:${this.boundPort}`);
    return this.boundPort;
  }

  /** Stops serving: open streams are cancelled (clients see UNAVAILABLE/CANCELLED and reconnect). */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.forceShutdown();
    this.sessions.clear();
  }

  /** A freshly encoded snapshot with the overlay on top (copying only the maps of the overlay's types). */
  private withOverlay(snapshot: ServedSnapshot): ServedSnapshot {
    if (this.overlay.size === 0) return snapshot;
    const byType = new Map(snapshot.byType);
    for (const [typeUrl, mine] of this.overlay) byType.set(typeUrl, new Map([...(snapshot.byType.get(typeUrl) ?? []), ...mine]));
    return { version: overlaidVersion(snapshot.version, this.overlayRevision), baseVersion: snapshot.version, byType };
  }

  /**
   * The served snapshot with the overlay's `changed` names brought in: its maps are updated in place
   * (they are this server's own, and the old snapshot object is dropped), so a change costs what it
   * changed. A removed overlay resource leaves the snapshot without one of that name (the snapshot's
   * own, if any, comes back on its next set).
   */
  private withOverlayChanges(snapshot: ServedSnapshot, changed: ReadonlyMap<string, readonly string[]>): ServedSnapshot {
    const byType = snapshot.byType as Map<string, Map<string, ServedResource>>;
    for (const [typeUrl, names] of changed) {
      let map = byType.get(typeUrl);
      if (map === undefined) byType.set(typeUrl, (map = new Map()));
      const mine = this.overlay.get(typeUrl);
      for (const name of names) {
        const resource = mine?.get(name);
        if (resource === undefined) map.delete(name);
        else map.set(name, resource);
      }
    }
    const baseVersion = snapshot.baseVersion ?? snapshot.version;
    return { version: overlaidVersion(baseVersion, this.overlayRevision), baseVersion, byType };
  }

  private serveSotw(call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>): void {
    const session = new SotwSession(++this.streamIds, peerOf(call), this, (res, written) => call.write(res, written));
    this.attach(session, call, (req: DiscoveryRequest) => session.onRequest(req));
  }

  private serveDelta(call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>): void {
    const session = new DeltaSession(++this.streamIds, peerOf(call), this, (res, written) => call.write(res, written));
    this.attach(session, call, (req: DeltaDiscoveryRequest) => session.onRequest(req));
  }

  /**
   * Wires a stream to its session. Every way a stream can end (the client half-closes, resets, vanishes,
   * sends what does not decode) ends the session once; nothing a client sends escapes a handler; a
   * client that asks for more than a stream may hold gets RESOURCE_EXHAUSTED.
   */
  private attach<Req>(session: SessionBase, call: grpc.ServerDuplexStream<Req, unknown>, onRequest: (req: Req) => void): void {
    this.sessions.add(session);
    const done = () => {
      if (session.closed) return;
      session.closed = true;
      this.sessions.delete(session);
      this.emit('stream-close', session.info());
    };
    call.on('data', (req: Req) => {
      if (session.closed) return;
      try {
        onRequest(req);
      } catch (err) {
        if (!(err instanceof StreamRefused)) {
          this.logger.error(`stream ${session.streamId}: ${(err as Error).message}`);
          return;
        }
        this.logger.warn(`stream ${session.streamId} from node "${session.nodeId}" ended: ${err.message}`);
        done();
        call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: err.message });
      }
    });
    call.on('end', () => {
      done();
      call.end();
    });
    call.on('error', done);
    call.on('cancelled', done);
    call.on('close', done);
  }
}

function peerOf(call: grpc.ServerDuplexStream<unknown, unknown>): string {
  try {
    return call.getPeer();
  } catch {
    return 'unknown';
  }
}

/** The version label of a snapshot with overlay revision `revision` on top. */
function overlaidVersion(base: string, revision: number): string {
  return revision === 0 ? base : `${base}+r${revision}`;
}
