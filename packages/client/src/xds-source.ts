/**
 * Config from a control plane: an ADS client whose snapshots a mesh applies as they come. Shared by
 * embedded mode (`createMesh({ xds })`) and the sidecar. Without listener names it subscribes to
 * every listener and cluster (as a proxy does); with names, only to those listeners and what they
 * reference (as a gRPC xDS client does).
 */
import { XdsClient, type FileWatcherConfig, type NackInfo, type XdsBootstrap } from '@xmesh/discovery';
import { MeshError } from '@xmesh/core';
import type { MeshSnapshot } from '@xmesh/xds';

export interface XdsSourceOptions {
  /** Listener names to watch; default: every listener and every cluster (wildcard). */
  readonly listeners?: readonly string[];
  /** A response the control plane sent was rejected (NACKed); the last good snapshot stays in force. */
  readonly onNack?: (nack: NackInfo) => void;
  /** Something the mesh should know but that changes nothing served (cache use, excluded or absent resources). */
  readonly onWarning?: (message: string) => void;
}

export interface XdsSource {
  /** The first snapshot to start with. */
  readonly first: MeshSnapshot;
  /** The bootstrap's certificate provider instances (gRFC A29), for TLS contexts that name them. */
  readonly certificateProviders: Readonly<Record<string, FileWatcherConfig>>;
  /** Applies every later snapshot with `apply`; returns nothing, errors go to `onRejected`. */
  follow(apply: (snapshot: MeshSnapshot) => Promise<unknown>, onRejected: (error: Error) => void): void;
  close(): Promise<void>;
}

/** An ADS client opened but maybe not yet ready; `close()` before the first snapshot rejects `ready()`. */
export interface PendingXdsSource {
  /** The bootstrap's certificate provider instances (gRFC A29), known at once. */
  readonly certificateProviders: Readonly<Record<string, FileWatcherConfig>>;
  /** Resolves with the source once the first snapshot arrived (from the control plane or the bootstrap's cache). */
  ready(): Promise<XdsSource>;
  close(): Promise<void>;
}

/**
 * Opens an ADS client with `bootstrap` (a file path or object; default: from `XMESH_XDS_BOOTSTRAP` /
 * `GRPC_XDS_BOOTSTRAP*`). Throws XMESH_CONFIG_INVALID when the bootstrap is missing or invalid.
 */
export function openXdsSource(bootstrap: XdsBootstrap | string | undefined, options: XdsSourceOptions = {}): PendingXdsSource {
  const listeners = options.listeners ?? [];
  const wildcard = listeners.length === 0;
  const client = new XdsClient({
    ...(bootstrap === undefined ? {} : { bootstrap }),
    ...(wildcard ? { wildcardListeners: true, wildcardClusters: true } : { listeners }),
  });
  const { onNack, onWarning } = options;
  if (onNack) client.on('nack', onNack);
  if (onWarning) {
    client.on('warning', onWarning);
    client.on('does-not-exist', ({ typeUrl, name }) => onWarning(`xDS resource ${typeUrl.slice(typeUrl.lastIndexOf('.') + 1)} "${name}" does not exist on the control plane`));
  }
  let closed = false;
  let rejectReady: ((error: Error) => void) | undefined;
  const close = async () => {
    closed = true;
    rejectReady?.(new MeshError('XMESH_CLOSED', 'closed before the control plane sent a whole config'));
    await client.close();
  };
  const ready = new Promise<XdsSource>((resolve, reject) => {
    rejectReady = reject;
    client.ready().then((first) => {
      if (closed) return;
      resolve({
        first,
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
  return { certificateProviders: client.bootstrap.certificateProviders, ready: () => ready, close };
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
