/**
 * The resources of one response, each decoded to proto3 JSON and validated on its own (per-resource
 * ACK/NACK, gRFC A46): a valid resource is usable whatever its neighbours hold; an invalid one carries
 * every error with its path, labelled with the resource (`Cluster "b".load_assignment: ...`).
 */
import { createHash } from 'node:crypto';
import { isMeshError, type FieldError } from '@xmesh/core';
import { decodeLoadAssignmentWire, decodeResource, TypeUrl, validateLoadAssignment, validateResource, type ClientRules, type EnvoyProtos, type LoadAssignment } from '@xmesh/xds';
import type { ResponseUpdate } from './ads-stream.js';
import { nameOf } from './references.js';
import { short } from './watch-state.js';

/** One resource of a response. */
export interface DecodedResource {
  /** Its xDS name, when it could be read (an invalid resource with a name keeps its last good version). */
  readonly name: string | undefined;
  /** The proto3 JSON, when the resource is valid. */
  readonly json: Record<string, unknown> | undefined;
  /** Delta: the per-resource version; SotW: the response's. */
  readonly version: string;
  /** Every problem, paths starting with the resource's label; empty when valid. */
  readonly errors: readonly FieldError[];
  /** A valid ClusterLoadAssignment as decoded while validating it (endpoint updates are not decoded twice). */
  readonly assignment?: LoadAssignment;
}

/** What decoding the bytes of one resource gave: kept by hash of the bytes, so unchanged resources are not decoded again. */
interface CachedDecoding {
  readonly name: string | undefined;
  readonly json: Record<string, unknown> | undefined;
  readonly errors: readonly FieldError[];
  readonly assignment?: LoadAssignment;
}

export type DecodeCache = Map<string, CachedDecoding>;

/**
 * Decodes and validates every resource of `update` under `rules`, reusing `previous` (the cache of the
 * type's last response) for identical bytes; the returned `cache` covers this response. A second
 * resource of the same name is an error of its own (the first stands).
 */
export function decodeUpdate(protos: EnvoyProtos, update: ResponseUpdate, previous: DecodeCache | undefined, rules: ClientRules):
  { resources: DecodedResource[]; cache: DecodeCache } {
  const { typeUrl, version } = update;
  const resources: DecodedResource[] = [];
  const cache: DecodeCache = new Map();
  const names = new Set<string>();
  update.resources.forEach((r, i) => {
    const index = `${short(typeUrl)}[${i}]`;
    const resourceVersion = r.version ?? version;
    if (r.any.type_url !== typeUrl) {
      resources.push({ name: undefined, json: undefined, version: resourceVersion, errors: [{ path: `${index}.@type`, message: `is ${r.any.type_url}, the response is for ${typeUrl}` }] });
      return;
    }
    const hash = createHash('sha1').update(r.any.value).digest('base64');
    const decoding = previous?.get(hash) ?? cache.get(hash) ?? decodeOne(protos, typeUrl, r.any, index, rules);
    cache.set(hash, decoding);
    const { name } = decoding;
    if (name !== undefined && names.has(name)) {
      resources.push({ name: undefined, json: undefined, version: resourceVersion, errors: [{ path: `${index}.name`, message: `duplicate resource "${name}"` }] });
      return;
    }
    if (name !== undefined) names.add(name);
    resources.push({ ...decoding, version: resourceVersion });
  });
  return { resources, cache };
}

function decodeOne(protos: EnvoyProtos, typeUrl: string, any: { type_url: string; value: Uint8Array }, index: string, rules: ClientRules): CachedDecoding {
  if (typeUrl === TypeUrl.ClusterLoadAssignment) {
    // The common shapes straight from the wire; anything else (and every invalid resource) the generic way.
    const fast = decodeLoadAssignmentWire(any.value, rules);
    if (fast !== undefined) return { name: fast.assignment.clusterName, json: fast.json as Record<string, unknown>, errors: [], assignment: fast.assignment };
  }
  let json: Record<string, unknown>;
  try {
    json = decodeResource(protos, any) as Record<string, unknown>;
  } catch (err) {
    const errors = (isMeshError(err) && err.errors.length > 0 ? err.errors : [{ path: '(root)', message: (err as Error).message }])
      .map((e) => ({ path: e.path === '(root)' ? index : `${index}.${e.path}`, message: e.message }));
    return { name: undefined, json: undefined, errors };
  }
  const name = nameOf(typeUrl, json);
  const label = name === undefined ? index : `${short(typeUrl)} "${name}"`;
  const problems = name === undefined ? [{ path: `${index}.${typeUrl === TypeUrl.ClusterLoadAssignment ? 'cluster_name' : 'name'}`, message: 'is required' }] : [];
  const validated = typeUrl === TypeUrl.ClusterLoadAssignment ? validateLoadAssignment(json, { rules }) : { errors: validateResource(json, { rules }), assignment: undefined };
  for (const e of validated.errors) {
    // A missing name is reported once, above.
    if (name === undefined && (e.path === 'name' || e.path === 'cluster_name')) continue;
    problems.push({ path: e.path === '(root)' || e.path === '' ? label : `${label}.${e.path}`, message: e.message });
  }
  if (problems.length > 0) return { name, json: undefined, errors: problems };
  return validated.assignment === undefined ? { name, json, errors: [] } : { name, json, errors: [], assignment: validated.assignment };
}
