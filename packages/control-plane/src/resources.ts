/**
 * Resources in proto3 JSON → what the server sends: each resource encoded once as an Any, with a
 * per-resource version (a hash of its bytes, so unchanged resources keep their version across snapshots).
 */
import { createHash } from 'node:crypto';
import { MeshError, isMeshError, type FieldError } from '@xmesh/core';
import { encodeResource, TypeUrl, type EnvoyProtos } from '@xmesh/xds';
import { nameOf, type WireAny } from '@xmesh/discovery';

export interface ServedResource {
  readonly name: string;
  /** Hash of the encoded bytes. */
  readonly version: string;
  readonly any: WireAny;
}

/** One encoded snapshot: resources by type URL, then by name. */
export interface ServedSnapshot {
  readonly version: string;
  /** The version of the snapshot set, when resources put on top of it made `version` differ. */
  readonly baseVersion?: string;
  readonly byType: ReadonlyMap<string, ReadonlyMap<string, ServedResource>>;
}

/**
 * Accepts a list of resources with `@type`, `{resources: [...]}`, or an Envoy bootstrap
 * (`static_resources.listeners/clusters/secrets`, given `@type` here); returns the flat list.
 */
export function resourceList(input: unknown): unknown[] {
  if (Array.isArray(input)) return input;
  if (input !== null && typeof input === 'object') {
    const obj = input as Record<string, unknown>;
    if (Array.isArray(obj['resources'])) return obj['resources'];
    const sr = obj['static_resources'] as Record<string, unknown> | undefined;
    if (sr && typeof sr === 'object') {
      const listeners = (Array.isArray(sr['listeners']) ? sr['listeners'] : []).map((l) => withType(l, TypeUrl.Listener));
      const clusters = (Array.isArray(sr['clusters']) ? sr['clusters'] : []).map((c) => withType(c, TypeUrl.Cluster));
      const secrets = (Array.isArray(sr['secrets']) ? sr['secrets'] : []).map((c) => withType(c, TypeUrl.Secret));
      return [...listeners, ...clusters, ...secrets];
    }
    if ('@type' in obj) return [obj];
  }
  throw new MeshError('XMESH_CONFIG_INVALID', 'expected a list of resources with "@type", {resources: [...]}, or a bootstrap with static_resources', {
    errors: [{ path: '(root)', message: 'unrecognised resource container' }],
  });
}

function withType(value: unknown, typeUrl: string): unknown {
  return value !== null && typeof value === 'object' && !('@type' in value) ? { '@type': typeUrl, ...value } : value;
}

/** The xDS resource name of a decoded resource (ClusterLoadAssignment: `cluster_name`). */
export function resourceName(json: Record<string, unknown>): string | undefined {
  return nameOf(String(json['@type']), json);
}

/**
 * Encodes every resource.
 * @throws MeshError XMESH_CONFIG_INVALID listing every problem (`[i].path: message`) and duplicate names.
 */
export function encodeSnapshot(protos: EnvoyProtos, version: string, resources: readonly unknown[]): ServedSnapshot {
  const errors: FieldError[] = [];
  const byType = new Map<string, Map<string, ServedResource>>();
  resources.forEach((json, i) => {
    const at = `[${i}]`;
    let any: WireAny;
    try {
      any = encodeResource(protos, json);
    } catch (err) {
      const inner = isMeshError(err) ? err.errors : [];
      if (inner.length > 0) for (const e of inner) errors.push({ ...e, path: e.path === '(root)' ? at : `${at}.${e.path}` });
      else errors.push({ path: at, message: (err as Error).message });
      return;
    }
    const name = resourceName(json as Record<string, unknown>);
    if (!name) {
      errors.push({ path: `${at}.name`, message: 'a served resource needs a name' });
      return;
    }
    let forType = byType.get(any.type_url);
    if (!forType) byType.set(any.type_url, (forType = new Map()));
    if (forType.has(name)) {
      errors.push({ path: `${at}.name`, message: `duplicate resource "${name}" of type ${any.type_url}` });
      return;
    }
    const hash = createHash('sha256').update(any.value).digest('hex').slice(0, 16);
    forType.set(name, { name, version: hash, any });
  });
  if (errors.length > 0) {
    const head = errors.slice(0, 3).map((e) => `${e.path}: ${e.message}`).join('; ');
    throw new MeshError('XMESH_CONFIG_INVALID', `cannot serve snapshot ${version}: ${head}${errors.length > 3 ? ` (and ${errors.length - 3} more)` : ''}`, { errors });
  }
  return { version, byType };
}
