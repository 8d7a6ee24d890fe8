/**
 * The mode switch: which calls go through the embedded pipeline and which are handed to a sidecar.
 *
 * Precedence for one call: a per-cluster override (`clusters: { reviews: 'sidecar' }` in the app's
 * options, else `metadata.filter_metadata.xmesh.mode` on the cluster in the config), else the
 * mesh mode (`sidecar` sends every call), else the ramp (`sidecar.percent` of calls, chosen per call
 * or, with `sidecar.sticky.header`, by a hash of that header so one key keeps one mode).
 *
 * A sidecar-mode call skips every policy layer (filters, retries, admission, balancing): the
 * sidecar applies them. When per-cluster overrides exist the call is routed here first to learn its
 * cluster, so routing happens twice for sidecar calls (here to choose the mode, and in the sidecar)
 * while policies apply once. Embedded calls reuse that decision (the route layer does not re-route).
 */
import { MeshError, type Endpoint, type FieldError } from '@xmesh/core';
import type { PipelineCall } from './pipeline-call.js';
import type { Invoke } from './pipeline.js';
import type { TransportPool } from './transport-pool.js';
import type { ClusterConfig, MeshSnapshot } from '@xmesh/xds';

export type MeshMode = 'embedded' | 'sidecar';

export interface SidecarModeOptions {
  /** `host:port` of the sidecar's outbound listener; default `127.0.0.1:15001`. */
  readonly address?: string;
  /** Share of calls (0–100) sent to the sidecar while the mode is `embedded`; default 0. */
  readonly percent?: number;
  /** Keep each key in one mode during a ramp: the key is this request header's value (calls without it are chosen per call). */
  readonly sticky?: { readonly header: string };
}

export interface ModeOptions {
  /** Default `embedded`; the environment variable `XMESH_MODE` overrides it at creation. */
  readonly mode?: MeshMode;
  readonly sidecar?: SidecarModeOptions;
  /** Per-cluster mode, winning over `mode` and the ramp. */
  readonly clusters?: Readonly<Record<string, MeshMode>>;
}

/** Validated, frozen mode settings; part of the state each call reads once. */
export interface ModeSettings {
  readonly mode: MeshMode;
  readonly percent: number;
  readonly address: string;
  /** The sidecar's listener as an endpoint (its transports live in the mesh's pool). */
  readonly endpoint: Endpoint;
  readonly clusters: ReadonlyMap<string, MeshMode>;
  /** Lower-case header name whose value keys the ramp, or undefined for per-call choice. */
  readonly stickyHeader: string | undefined;
  /** True when no call can go to the sidecar (the switch then costs one field read). */
  readonly allEmbedded: boolean;
}

export const DEFAULT_SIDECAR_ADDRESS = '127.0.0.1:15001';

/**
 * Validates `options` over `base` (fields not given keep the base's values) and freezes the result.
 * Throws XMESH_CONFIG_INVALID listing every bad field.
 */
export function resolveModeSettings(options: ModeOptions, base: ModeSettings | undefined, envMode: string | undefined = undefined): ModeSettings {
  const errors: FieldError[] = [];
  let mode: MeshMode = options.mode ?? base?.mode ?? 'embedded';
  if (options.mode !== undefined && !isMode(options.mode)) errors.push({ path: 'mode', message: `must be "embedded" or "sidecar", got ${JSON.stringify(options.mode)}` });
  if (envMode !== undefined && envMode !== '') {
    if (isMode(envMode)) mode = envMode;
    else errors.push({ path: 'XMESH_MODE', message: `must be "embedded" or "sidecar", got ${JSON.stringify(envMode)}` });
  }
  const percent = options.sidecar?.percent ?? base?.percent ?? 0;
  if (typeof percent !== 'number' || !(percent >= 0 && percent <= 100)) errors.push({ path: 'sidecar.percent', message: `must be a number in 0..100, got ${JSON.stringify(percent)}` });
  const address = options.sidecar?.address ?? base?.address ?? DEFAULT_SIDECAR_ADDRESS;
  const endpoint = endpointOfAddress(address);
  if (endpoint === undefined) errors.push({ path: 'sidecar.address', message: `must be host:port, got ${JSON.stringify(address)}` });
  const clusters = options.clusters === undefined ? base?.clusters ?? new Map<string, MeshMode>() : new Map<string, MeshMode>();
  if (options.clusters !== undefined) {
    for (const [name, value] of Object.entries(options.clusters)) {
      if (isMode(value)) (clusters as Map<string, MeshMode>).set(name, value);
      else errors.push({ path: `clusters.${name}`, message: `must be "embedded" or "sidecar", got ${JSON.stringify(value)}` });
    }
  }
  const sticky = options.sidecar?.sticky;
  const stickyHeader = sticky === undefined ? base?.stickyHeader : typeof sticky.header === 'string' && sticky.header !== '' ? sticky.header.toLowerCase() : undefined;
  if (sticky !== undefined && stickyHeader === undefined) errors.push({ path: 'sidecar.sticky.header', message: 'must be a header name' });
  if (errors.length > 0) throw new MeshError('XMESH_CONFIG_INVALID', errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
  let anySidecarCluster = false;
  for (const value of clusters.values()) if (value === 'sidecar') anySidecarCluster = true;
  return Object.freeze({
    mode,
    percent,
    address,
    endpoint: endpoint!,
    clusters,
    stickyHeader,
    allEmbedded: mode === 'embedded' && percent === 0 && !anySidecarCluster,
  });
}

/**
 * The settings new calls of `snapshot` use: the app's per-cluster modes, plus the modes clusters
 * carry in the config (`metadata.filter_metadata.xmesh.mode`, from a file or a control plane) for
 * clusters the app did not set. Returns `settings` itself when the config sets none.
 */
export function withClusterModes(settings: ModeSettings, snapshot: MeshSnapshot): ModeSettings {
  let merged: Map<string, MeshMode> | undefined = undefined;
  for (const [name, cluster] of Object.entries(snapshot.clusters)) {
    const mode = cluster.xmesh.mode;
    if (mode === undefined || settings.clusters.has(name)) continue;
    merged ??= new Map(settings.clusters);
    merged.set(name, mode);
  }
  if (merged === undefined) return settings;
  let anySidecarCluster = false;
  for (const value of merged.values()) if (value === 'sidecar') anySidecarCluster = true;
  return Object.freeze({ ...settings, clusters: merged, allEmbedded: settings.mode === 'embedded' && settings.percent === 0 && !anySidecarCluster });
}

/**
 * Wraps a protocol's embedded pipeline: each call either runs it, or is bound to the sidecar
 * endpoint and goes straight to `sidecarTransport` (the protocol's terminal), skipping every layer.
 */
export function withModeSwitch<C extends PipelineCall>(embedded: Invoke<C>, sidecarTransport: Invoke<C>, pool: TransportPool, random: () => number = Math.random): Invoke<C> {
  return (call) => {
    const settings = call.state.mode;
    if (settings === undefined || settings.allEmbedded) {
      embedded(call);
      return;
    }
    if (chooseMode(settings, call, random) === 'embedded') {
      embedded(call);
      return;
    }
    call.bindSidecar(settings.endpoint, pool);
    sidecarTransport(call);
  };
}

/** The mode for one call; routes the call (recording `call.decision`) only when per-cluster overrides exist. */
export function chooseMode(settings: ModeSettings, call: PipelineCall, random: () => number): MeshMode {
  if (settings.clusters.size > 0) {
    const decision = call.decision ?? call.state.router.route(call.request);
    if (!(decision instanceof MeshError)) {
      call.decision = decision;
      const override = settings.clusters.get(decision.cluster);
      if (override !== undefined) return override;
    }
  }
  if (settings.mode === 'sidecar') return 'sidecar';
  if (settings.percent <= 0) return 'embedded';
  if (settings.percent >= 100) return 'sidecar';
  const key = settings.stickyHeader === undefined ? undefined : call.request.headers.get(settings.stickyHeader);
  const draw = key === undefined ? random() * 100 : (fnv1a(key) % 10_000) / 100;
  return draw < settings.percent ? 'sidecar' : 'embedded';
}

/**
 * True when some calls of `cluster` may run in embedded mode under `settings` (its per-cluster mode,
 * else the one its config carries, else the mesh mode and ramp): only then does this mesh run the
 * cluster's active health checks; a cluster whose calls all go to the sidecar is checked there.
 */
export function mayRunEmbedded(settings: ModeSettings, cluster: Pick<ClusterConfig, 'name' | 'xmesh'>): boolean {
  const override = settings.clusters.get(cluster.name) ?? cluster.xmesh.mode;
  if (override !== undefined) return override === 'embedded';
  return settings.mode === 'embedded' && settings.percent < 100;
}

function isMode(value: unknown): value is MeshMode {
  return value === 'embedded' || value === 'sidecar';
}

/** `host:port` (or `[v6]:port`) as an Endpoint of weight 1 (the sidecar's listeners); undefined when it is not one. */
export function endpointOfAddress(address: unknown): Endpoint | undefined {
  if (typeof address !== 'string') return undefined;
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(address);
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  const host = match[1]!;
  return Object.freeze({
    id: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    host,
    port,
    weight: 1,
    healthStatus: 'HEALTHY',
    priority: 0,
    locality: Object.freeze({ region: '', zone: '', subZone: '' }),
    localityWeight: undefined,
    metadata: Object.freeze({}),
  });
}

/** 32-bit FNV-1a of a string's UTF-16 code units: a stable key → bucket map for sticky ramps. */
function fnv1a(value: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    hash ^= value.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
