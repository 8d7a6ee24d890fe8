/**
 * The xDS bootstrap, in gRPC's format (gRFC A27), read from `XMESH_XDS_BOOTSTRAP` (a file path),
 * `GRPC_XDS_BOOTSTRAP` (a file path) or `GRPC_XDS_BOOTSTRAP_CONFIG` (inline JSON), in that order, or given
 * as an object. `xds_servers` are used in their order (gRFC A71 fallback): the first one, and when its
 * stream fails the next one, and so on; each with `insecure` channel credentials.
 *
 * Protocol choice: `server_features` containing `"xmesh_delta"` selects the incremental protocol
 * (`DeltaAggregatedResources`); otherwise state of the world (`StreamAggregatedResources`). gRPC clients
 * ignore unknown server features, so one bootstrap can serve both.
 */
import { readFileSync } from 'node:fs';
import { MeshError, type FieldError } from '@xmesh/core';

export const DELTA_SERVER_FEATURE = 'xmesh_delta';

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
}

export interface ResolvedServer {
  readonly serverUri: string;
  readonly delta: boolean;
}

export interface ResolvedBootstrap {
  /** The first server's (`servers[0]`). */
  readonly serverUri: string;
  readonly delta: boolean;
  /** Every server, in fallback order. */
  readonly servers: readonly ResolvedServer[];
  readonly node: XdsNode;
  readonly cachePath: string | undefined;
}

/**
 * Finds and validates the bootstrap. `given` wins over the environment.
 * @throws MeshError XMESH_CONFIG_INVALID listing every problem, or when no bootstrap is configured.
 */
export function resolveBootstrap(given?: XdsBootstrap | string, env: NodeJS.ProcessEnv = process.env): ResolvedBootstrap {
  let raw: unknown;
  let source: string;
  if (typeof given === 'string') {
    source = given;
    raw = parseJson(readFileSync(given, 'utf8'), given);
  } else if (given) {
    source = '(bootstrap object)';
    raw = given;
  } else {
    const file = env['XMESH_XDS_BOOTSTRAP'] || env['GRPC_XDS_BOOTSTRAP'];
    const inline = env['GRPC_XDS_BOOTSTRAP_CONFIG'];
    if (file) {
      source = file;
      raw = parseJson(readFileSync(file, 'utf8'), file);
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
  if (errors.length > 0) {
    throw new MeshError('XMESH_CONFIG_INVALID', `${source}: invalid xDS bootstrap: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, { errors });
  }
  return { serverUri: servers[0]!.serverUri, delta: servers[0]!.delta, servers, node: node!, cachePath: obj.cache_path };
}

function validateServer(server: Partial<XdsServerConfig> | undefined, at: string, errors: FieldError[]): ResolvedServer {
  if (typeof server !== 'object' || server === null) {
    errors.push({ path: at, message: 'must be an object' });
    return { serverUri: '', delta: false };
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
  return { serverUri: String(server.server_uri ?? ''), delta: Array.isArray(features) && features.includes(DELTA_SERVER_FEATURE) };
}
