/**
 * Config from a control plane: an ADS client whose snapshots a mesh applies as they come. Shared by
 * embedded mode (`createMesh({ xds })`) and the sidecar. As a proxy (`wildcard`, the default without
 * listener names) it subscribes to every listener and cluster; as a gRPC xDS client it subscribes only
 * to the listeners it is given and those its targets name later (`watchListener`), and what they
 * reference.
 */
import { listenerResourceName, XdsClient, type FileWatcherConfig, type ListenerStatus, type NackInfo, type XdsBootstrap, type XdsUpdate } from '@xmesh/discovery';
import { MeshError, systemClock, type Clock, type TimerHandle } from '@xmesh/core';
import type { MeshSnapshot } from '@xmesh/xds';

/** Envoy's default `ConfigSource.initial_fetch_timeout`. */
export const DEFAULT_INITIAL_FETCH_TIMEOUT_MS = 15_000;

/**
 * The ADS stream came up (its channel connected, or its first response; `server` it went to) or went down
 * (with why, when it retries, and the bootstrap server it retries with, gRFC A71).
 */
export interface XdsConnectionEvent {
  readonly connected: boolean;
  readonly error?: string;
  readonly retryInMs?: number;
  readonly server?: string;
  readonly nextServer?: string;
}

export interface XdsSourceOptions {
  /** Listener names to watch from the start. */
  readonly listeners?: readonly string[];
  /**
   * Subscribe to every listener and every cluster, as a proxy does (and validate as Envoy does).
   * Default: true when `listeners` is not given. Without it, nothing is watched until named, and the
   * source starts once the stream is connected.
   */
  readonly wildcard?: boolean;
  /** A watched listener changed status (it arrived, or turned out not to exist). */
  readonly onListener?: (name: string, status: ListenerStatus) => void;
  /** A new snapshot from the control plane, with what it changed (before it is applied). */
  readonly onUpdate?: (update: XdsUpdate) => void;
  /** A response the control plane sent was rejected (NACKed); the last good snapshot stays in force. */
  readonly onNack?: (nack: NackInfo) => void;
  /** Something the mesh should know but that changes nothing served (cache use, excluded or absent resources). */
  readonly onWarning?: (message: string) => void;
  /** The ADS stream came up or went down. */
  readonly onConnection?: (event: XdsConnectionEvent) => void;
  /**
   * `ready()` rejects with XMESH_TIMEOUT when no whole config came within this many ms of opening
   * (Envoy's `initial_fetch_timeout`). Default: the bootstrap's `initial_fetch_timeout`, else 15 s;
   * 0 waits forever. A config from the on-disk cache counts: it is there at once.
   */
  readonly initialFetchTimeoutMs?: number;
  /** Timer for the initial fetch timeout; default the system clock. */
  readonly clock?: Clock;
}

/** The listeners of a source: the ones its targets name are watched as they are first used. */
export interface XdsListeners {
  /** The Listener an `xds:///name` target names (the bootstrap's listener name template applied). */
  listenerName(name: string): string;
  /** Watches listener `name` (subscribes it and what it references); returns its status. Idempotent. */
  watchListener(name: string): ListenerStatus;
  /** The status of a watched listener; undefined when it is not watched. */
  listenerStatus(name: string): ListenerStatus | undefined;
}

export interface XdsSource extends XdsListeners {
  /** The first snapshot to start with. */
  readonly first: MeshSnapshot;
  /** Where `first` came from: the bootstrap's on-disk cache (the control plane had not answered yet) or the control plane. */
  readonly origin: 'cache' | 'control-plane';
  /** The bootstrap's certificate provider instances (gRFC A29), for TLS contexts that name them. */
  readonly certificateProviders: Readonly<Record<string, FileWatcherConfig>>;
  /** Applies every later snapshot with `apply`; returns nothing, errors go to `onRejected`. */
  follow(apply: (snapshot: MeshSnapshot) => Promise<unknown>, onRejected: (error: Error) => void): void;
  close(): Promise<void>;
}

/** An ADS client opened but maybe not yet ready; `close()` before the first snapshot rejects `ready()`. */
export interface PendingXdsSource extends XdsListeners {
  /** The bootstrap's certificate provider instances (gRFC A29), known at once. */
  readonly certificateProviders: Readonly<Record<string, FileWatcherConfig>>;
  /**
   * Resolves with the source once the first snapshot arrived (from the control plane or the bootstrap's
   * cache); rejects with XMESH_TIMEOUT after the initial fetch timeout, XMESH_CLOSED after `close()`.
   */
  ready(): Promise<XdsSource>;
  close(): Promise<void>;
}

/**
 * Opens an ADS client with `bootstrap` (a file path or object; default: from `XMESH_XDS_BOOTSTRAP` /
 * `GRPC_XDS_BOOTSTRAP*`). Throws XMESH_CONFIG_INVALID when the bootstrap is missing or invalid.
 */
export function openXdsSource(bootstrap: XdsBootstrap | string | undefined, options: XdsSourceOptions = {}): PendingXdsSource {
  const listeners = options.listeners ?? [];
  const wildcard = options.wildcard ?? options.listeners === undefined;
  const client = new XdsClient({
    ...(bootstrap === undefined ? {} : { bootstrap }),
    listeners,
    ...(wildcard ? { wildcardListeners: true, wildcardClusters: true } : {}),
  });
  const { onNack, onWarning, onConnection, onListener, onUpdate } = options;
  if (onNack) client.on('nack', onNack);
  if (onListener) client.on('listener', ({ name, status }) => onListener(name, status));
  if (onUpdate) client.on('update', onUpdate);
  const targets: XdsListeners = {
    listenerName: (name) => listenerResourceName(client.bootstrap.listenerNameTemplate, name),
    watchListener: (name) => client.watchListener(name),
    listenerStatus: (name) => client.listenerStatus(name),
  };
  if (onWarning) {
    client.on('warning', onWarning);
    client.on('does-not-exist', ({ typeUrl, name }) => onWarning(`xDS resource ${typeUrl.slice(typeUrl.lastIndexOf('.') + 1)} "${name}" does not exist on the control plane`));
  }
  let connected = false;
  let lastError: string | undefined;
  client.on('connection', (event) => {
    if (event.connected) connected = true;
    else lastError = event.error;
    onConnection?.(event);
  });
  const clock = options.clock ?? systemClock;
  const timeoutMs = options.initialFetchTimeoutMs ?? client.bootstrap.initialFetchTimeoutMs ?? DEFAULT_INITIAL_FETCH_TIMEOUT_MS;
  let timer: TimerHandle | undefined;
  let closed = false;
  let rejectReady: ((error: Error) => void) | undefined;
  const close = async () => {
    closed = true;
    if (timer !== undefined) clock.clearTimeout(timer);
    rejectReady?.(new MeshError('XMESH_CLOSED', 'closed before the control plane sent a whole config'));
    await client.close();
  };
  const ready = new Promise<XdsSource>((resolve, reject) => {
    rejectReady = reject;
    // Not unref'd: while start-up waits, this timer is what guarantees the wait ends.
    if (timeoutMs > 0) {
      timer = clock.setTimeout(() => {
        const why = lastError === undefined ? (connected ? 'the config it sent is not whole or not valid yet' : 'no answer') : `last error: ${lastError}`;
        reject(new MeshError('XMESH_TIMEOUT', `no whole xDS config from ${client.bootstrap.serverUri} within the initial fetch timeout (${timeoutMs} ms); ${why}`));
      }, timeoutMs);
    }
    client.ready().then((first) => {
      if (timer !== undefined) clock.clearTimeout(timer);
      if (closed) return;
      resolve({
        ...targets,
        first,
        origin: connected ? 'control-plane' : 'cache',
        certificateProviders: client.bootstrap.certificateProviders,
        follow(apply, onRejected) {
          client.onSnapshot((snapshot) => {
            if (snapshot !== first) apply(snapshot).catch(onRejected);
          });
        },
        close,
      });
    }, reject);
  });
  ready.catch(() => undefined);
  client.start();
  return { ...targets, certificateProviders: client.bootstrap.certificateProviders, ready: () => ready, close };
}

/** Connects with `bootstrap` (see openXdsSource) and waits for the first snapshot. */
export async function startXdsSource(bootstrap: XdsBootstrap | string | undefined, options: XdsSourceOptions = {}): Promise<XdsSource> {
  const pending = openXdsSource(bootstrap, options);
  try {
    return await pending.ready();
  } catch (error) {
    await pending.close();
    throw error;
  }
}
