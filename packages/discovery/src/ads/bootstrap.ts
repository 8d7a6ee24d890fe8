/**
 * The xDS bootstrap, in gRPC's format (gRFC A27), read from `XMESH_XDS_BOOTSTRAP` (a file path),
 * `GRPC_XDS_BOOTSTRAP` (a file path) or `GRPC_XDS_BOOTSTRAP_CONFIG` (inline JSON), in that order, or given
 * as an object. `xds_servers` are used in their order (gRFC A71 fallback): the first one, and when its
 * stream fails the next one, and so on; each with `insecure` channel credentials.
 *
 * Protocol choice: `server_features` containing `"xmesh_delta"` selects the incremental protocol
 * (`DeltaAggregatedResources`); otherwise state of the world (`StreamAggregatedResources`). gRPC clients
 * ignore unknown server features, so one bootstrap can serve both. `"ignore_resource_deletion"` keeps a
 * listener or cluster the control plane deletes (gRFC A53), as gRPC clients do.
 *
 * `client_default_listener_resource_name_template` (gRFC A47; default `%s`) maps an `xds:///name`
 * target to the Listener it names.
 */
import { readFileSync } from 'node:fs';
import { MeshError, type FieldError } from '@xmesh/core';
import { parseDuration } from '@xmesh/xds';

export const DELTA_SERVER_FEATURE = 'xmesh_delta';
/** gRFC A53: a listener or cluster the control plane deletes is kept (and a warning emitted). */
export const IGNORE_RESOURCE_DELETION_FEATURE = 'ignore_resource_deletion';

export interface XdsNode {
  readonly id: string;
  readonly cluster?: string;
  readonly locality?: { readonly region?: string; readonly zone?: string; readonly sub_zone?: string };
  readonly metadata?: Readonly<Record<string, unknown>>;
}

export interface XdsServerConfig {
  readonly server_uri: string;
  readonly channel_creds: readonly { readonly type: string; readonly config?: unknown }[];
  readonly server_features?: readonly string[];
}

export interface XdsBootstrap {
  readonly xds_servers: readonly XdsServerConfig[];
  readonly node: XdsNode;
  /** xmesh extension: where to keep the last good resources (see XdsClientOptions.cachePath). */
  readonly cache_path?: string;
  /**
   * xmesh extension, as Envoy's `ConfigSource.initial_fetch_timeout` (a Duration, e.g. "15s"): how
   * long a mesh waits for its first whole config at start-up; "0s" waits forever.
   */
  readonly initial_fetch_timeout?: string;
  /** gRFC A47: the Listener an `xds:///name` target names, `%s` standing for `name`. Default `%s`. */
  readonly client_default_listener_resource_name_template?: string;
  /**
   * gRFC A29: certificate provider instances TLS contexts name (`tls_certificate_provider_instance`,
   * `ca_certificate_provider_instance`). Only the `file_watcher` plugin exists.
   */
  readonly certificate_providers?: Readonly<Record<string, { readonly plugin_name: string; readonly config?: unknown }>>;
}

/** A `file_watcher` certificate provider: files polled every `refreshIntervalMs` (gRPC's default 10 min). */
export interface FileWatcherConfig {
  readonly certificateFile: string | undefined;
  readonly privateKeyFile: string | undefined;
  readonly caCertificateFile: string | undefined;
  readonly refreshIntervalMs: number;
}

export interface ResolvedServer {
  readonly serverUri: string;
  readonly delta: boolean;
  /** Its `server_features` have `ignore_resource_deletion` (gRFC A53; per server, as gRFC A71 keeps them). */
  readonly ignoreResourceDeletion: boolean;
}

export interface ResolvedBootstrap {
  /** The first server's (`servers[0]`). */
  readonly serverUri: string;
  readonly delta: boolean;
  /** Every server, in fallback order. */
  readonly servers: readonly ResolvedServer[];
  readonly node: XdsNode;
  readonly cachePath: string | undefined;
  /** `initial_fetch_timeout` in ms; absent when the bootstrap does not set it. */
  readonly initialFetchTimeoutMs?: number;
  /** The first server's `ignore_resource_deletion` (gRFC A53); each server has its own in `servers`. */
  readonly ignoreResourceDeletion: boolean;
  /** `client_default_listener_resource_name_template`, default `%s`. */
  readonly listenerNameTemplate: string;
  readonly certificateProviders: Readonly<Record<string, FileWatcherConfig>>;
}

/**
 * The Listener an `xds:///name` target names under `template` (gRFC A47): `%s` replaced by `name`,
 * percent-encoded (slashes kept) when the template is an `xdstp:` name, as gRPC clients do.
 */
export function listenerResourceName(template: string, name: string): string {
  const value = template.startsWith('xdstp:') ? name.split('/').map(encodeURIComponent).join('/') : name;
  return template.replaceAll('%s', value);
}

const DEFAULT_REFRESH_INTERVAL_MS = 600_000;

/**
 * Finds and validates the bootstrap. `given` wins over the environment.
 * @throws MeshError XMESH_CONFIG_INVALID listing every problem, or when no bootstrap is configured.
 */
export function resolveBootstrap(given?: XdsBootstrap | string, env: NodeJS.ProcessEnv = process.env): ResolvedBootstrap {
  let raw: unknown;
  let source: string;
  if (typeof given === 'string') {
    source = given;
    raw = parseJson(readBootstrapFile(given), given);
  } else if (given) {
    source = '(bootstrap object)';
    raw = given;
  } else {
    const file = env['XMESH_XDS_BOOTSTRAP'] || env['GRPC_XDS_BOOTSTRAP'];
    const inline = env['GRPC_XDS_BOOTSTRAP_CONFIG'];
    if (file) {
      source = file;
      raw = parseJson(readBootstrapFile(file), file);
    } else if (inline) {
      source = 'GRPC_XDS_BOOTSTRAP_CONFIG';
      raw = parseJson(inline, source);
    } else {
      throw new MeshError('XMESH_CONFIG_INVALID', 'no xDS bootstrap: set XMESH_XDS_BOOTSTRAP, GRPC_XDS_BOOTSTRAP or GRPC_XDS_BOOTSTRAP_CONFIG, or pass one', {
        errors: [{ path: '(bootstrap)', message: 'not configured' }],
      });
    }
  }
  return validate(raw, source);
}

function readBootstrapFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const message = `cannot read: ${(err as Error).message}`;
    throw new MeshError('XMESH_CONFIG_INVALID', `${file}: ${message}`, { errors: [{ path: file, message }] });
  }
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new MeshError('XMESH_CONFIG_INVALID', `${source}: not JSON: ${(err as Error).message}`, {
      errors: [{ path: source, message: 'not JSON' }],
    });
  }
}

function validate(raw: unknown, source: string): ResolvedBootstrap {
  const errors: FieldError[] = [];
  const obj = (raw ?? {}) as Partial<XdsBootstrap>;
  const listed: readonly Partial<XdsServerConfig>[] = Array.isArray(obj.xds_servers) ? obj.xds_servers : [];
  if (listed.length === 0) errors.push({ path: 'xds_servers', message: 'needs at least one server' });
  const servers = listed.map((server, i) => validateServer(server, `xds_servers[${i}]`, errors));
  const node = obj.node;
  if (!node || typeof node !== 'object' || typeof node.id !== 'string') errors.push({ path: 'node.id', message: 'is required' });
  if (obj.cache_path !== undefined && typeof obj.cache_path !== 'string') errors.push({ path: 'cache_path', message: 'must be a string' });
  const template = obj.client_default_listener_resource_name_template;
  if (template !== undefined && typeof template !== 'string') errors.push({ path: 'client_default_listener_resource_name_template', message: 'must be a string' });
  const initialFetch = obj.initial_fetch_timeout === undefined ? undefined : typeof obj.initial_fetch_timeout === 'string' ? parseDuration(obj.initial_fetch_timeout) : 'must be a duration string like "15s"';
  if (typeof initialFetch === 'string' || (initialFetch !== undefined && Number(initialFetch.seconds) < 0)) {
    errors.push({ path: 'initial_fetch_timeout', message: typeof initialFetch === 'string' ? initialFetch : 'must not be negative' });
  }
  const certificateProviders = certificateProvidersOf(obj.certificate_providers, errors);
  if (errors.length > 0) {
    throw new MeshError('XMESH_CONFIG_INVALID', `${source}: invalid xDS bootstrap: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, { errors });
  }
  return {
    serverUri: servers[0]!.serverUri,
    delta: servers[0]!.delta,
    ignoreResourceDeletion: servers[0]!.ignoreResourceDeletion,
    servers,
    listenerNameTemplate: typeof template === 'string' ? template : '%s',
    node: node!,
    cachePath: obj.cache_path,
    ...(typeof initialFetch === 'object' ? { initialFetchTimeoutMs: Number(initialFetch.seconds) * 1000 + initialFetch.nanos / 1e6 } : {}),
    certificateProviders,
  };
}

function validateServer(server: Partial<XdsServerConfig> | undefined, at: string, errors: FieldError[]): ResolvedServer {
  if (typeof server !== 'object' || server === null) {
    errors.push({ path: at, message: 'must be an object' });
    return { serverUri: '', delta: false, ignoreResourceDeletion: false };
  }
  if (typeof server.server_uri !== 'string' || server.server_uri === '') errors.push({ path: `${at}.server_uri`, message: 'is required' });
  const creds: readonly { type?: unknown }[] = Array.isArray(server.channel_creds) ? server.channel_creds : [];
  if (!creds.some((c) => c?.type === 'insecure')) {
    errors.push({ path: `${at}.channel_creds`, message: `only "insecure" is supported, got ${JSON.stringify(creds.map((c) => c?.type))}` });
  }
  const features = server.server_features ?? [];
  if (!Array.isArray(features) || features.some((f) => typeof f !== 'string')) {
    errors.push({ path: `${at}.server_features`, message: 'must be a list of strings' });
  }
  const has = (feature: string) => Array.isArray(features) && features.includes(feature);
  return { serverUri: String(server.server_uri ?? ''), delta: has(DELTA_SERVER_FEATURE), ignoreResourceDeletion: has(IGNORE_RESOURCE_DELETION_FEATURE) };
}

/** `certificate_providers` (gRFC A29): `{name: {plugin_name: "file_watcher", config: {certificate_file, ...}}}`. */
function certificateProvidersOf(raw: unknown, errors: FieldError[]): Record<string, FileWatcherConfig> {
  const out: Record<string, FileWatcherConfig> = Object.create(null) as Record<string, FileWatcherConfig>;
  if (raw === undefined) return out;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    errors.push({ path: 'certificate_providers', message: 'must be an object' });
    return out;
  }
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    const at = `certificate_providers.${name}`;
    const entry = (value ?? {}) as { plugin_name?: unknown; config?: unknown };
    if (entry.plugin_name !== 'file_watcher') {
      errors.push({ path: `${at}.plugin_name`, message: `only "file_watcher" is supported, got ${JSON.stringify(entry.plugin_name)}` });
      continue;
    }
    const config = (entry.config ?? {}) as Record<string, unknown>;
    const file = (key: string): string | undefined => {
      const v = config[key];
      if (v === undefined) return undefined;
      if (typeof v !== 'string' || v === '') errors.push({ path: `${at}.config.${key}`, message: 'must be a file path' });
      return typeof v === 'string' && v !== '' ? v : undefined;
    };
    const certificateFile = file('certificate_file');
    const privateKeyFile = file('private_key_file');
    if ((certificateFile === undefined) !== (privateKeyFile === undefined)) {
      errors.push({ path: `${at}.config`, message: 'certificate_file and private_key_file go together' });
    }
    const refresh = config['refresh_interval'];
    const match = typeof refresh === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(refresh) : null;
    if (refresh !== undefined && match === null) errors.push({ path: `${at}.config.refresh_interval`, message: 'must be a duration like "600s"' });
    out[name] = {
      certificateFile,
      privateKeyFile,
      caCertificateFile: file('ca_certificate_file'),
      refreshIntervalMs: match ? Number(match[1]) * 1000 : DEFAULT_REFRESH_INTERVAL_MS,
    };
  }
  return out;
}
