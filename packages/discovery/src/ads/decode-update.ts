/** The resources of one response, decoded to proto3 JSON by name, or every decoding error with its path. */
import { createHash } from 'node:crypto';
import { isMeshError, type FieldError } from '@xmesh/core';
import { decodeResource, type EnvoyProtos } from '@xmesh/xds';
import type { ResponseUpdate } from './ads-stream.js';
import { nameOf } from './references.js';
import { short } from './watch-state.js';

export interface DecodedResource {
  readonly json: Record<string, unknown>;
  readonly version: string;
}

/** Decoded resources by a hash of their bytes: an unchanged resource is not decoded again. */
export type DecodeCache = Map<string, { readonly name: string; readonly json: Record<string, unknown> }>;

/**
 * Decodes every resource of `update`, reusing `previous` (the cache of the type's last accepted
 * response) for identical bytes; the returned `cache` covers this response.
 */
export function decodeUpdate(protos: EnvoyProtos, update: ResponseUpdate, previous: DecodeCache | undefined):
  { received: Map<string, DecodedResource>; errors: FieldError[]; cache: DecodeCache } {
  const { typeUrl, version } = update;
  const errors: FieldError[] = [];
  const received = new Map<string, DecodedResource>();
  const cache: DecodeCache = new Map();
  update.resources.forEach((r, i) => {
    const at = `${short(typeUrl)}[${i}]`;
    if (r.any.type_url !== typeUrl) {
      errors.push({ path: `${at}.@type`, message: `is ${r.any.type_url}, the response is for ${typeUrl}` });
      return;
    }
    const hash = createHash('sha1').update(r.any.value).digest('base64');
    const known = previous?.get(hash);
    if (known) {
      cache.set(hash, known);
      if (received.has(known.name)) errors.push({ path: `${at}.name`, message: `duplicate resource "${known.name}"` });
      else received.set(known.name, { json: known.json, version: r.version ?? version });
      return;
    }
    let json: Record<string, unknown>;
    try {
      json = decodeResource(protos, r.any) as Record<string, unknown>;
    } catch (err) {
      for (const e of isMeshError(err) ? err.errors : [{ path: '(root)', message: (err as Error).message }]) {
        errors.push({ path: e.path === '(root)' ? at : `${at}.${e.path}`, message: e.message });
      }
      return;
    }
    const name = nameOf(typeUrl, json);
    if (!name) errors.push({ path: `${at}.name`, message: 'is required' });
    else if (received.has(name)) errors.push({ path: `${at}.name`, message: `duplicate resource "${name}"` });
    else {
      received.set(name, { json, version: r.version ?? version });
      cache.set(hash, { name, json });
    }
  });
  return { received, errors, cache };
}
