/**
 * The request hash for consistent-hash balancers, from a route's `hash_policy` list, as Envoy's
 * `HashPolicyImpl::generateHash`: each policy that yields a value is hashed with xxHash64 and
 * folded in as `rotl(hash, 1) ^ value`; a policy with `terminal` that yielded a value ends the
 * walk. Returns undefined when no policy applies (the balancer then picks at random).
 */
import type { HashPolicy } from '@xmesh/xds';
import type { HeaderMap } from '@xmesh/core';
import { xxHash64 } from './xxhash64.js';

/** The request fields hash policies read; `CallContext` and the router's request both fit. */
export interface HashableRequest {
  readonly headers: HeaderMap;
  /** `:path`, possibly with a query string. */
  readonly path: string;
  /** Peer address of the caller (for `source_ip`). */
  readonly remoteAddress?: string | undefined;
}

const MASK_64 = (1n << 64n) - 1n;

/** `channelId`: what a `channel_id` policy (gRPC's `io.grpc.channel_id`) hashes — one value per mesh. */
export function computeHash(policies: readonly HashPolicy[], request: HashableRequest, channelId?: string): bigint | undefined {
  let hash: bigint | undefined;
  for (const policy of policies) {
    const value = policy.kind === 'channel_id' ? channelId : keyOf(policy, request);
    if (value === undefined) continue;
    const next = xxHash64(value);
    hash = hash === undefined ? next : (((hash << 1n) | (hash >> 63n)) & MASK_64) ^ next;
    if (policy.terminal) break;
  }
  return hash;
}

function keyOf(policy: Exclude<HashPolicy, { kind: 'channel_id' }>, request: HashableRequest): string | undefined {
  switch (policy.kind) {
    case 'header':
      return request.headers.get(policy.headerName);
    case 'cookie':
      return cookieValue(request.headers.get('cookie'), policy.name);
    case 'source_ip':
      return request.remoteAddress === undefined || request.remoteAddress === '' ? undefined : request.remoteAddress;
    case 'query_parameter':
      return queryValue(request.path, policy.name);
  }
}

/** The first value of cookie `name` in a `cookie` header (`a=1; b=2`). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The first value of query parameter `name` in `path` (raw, not percent-decoded, as Envoy). */
export function queryValue(path: string, name: string): string | undefined {
  const q = path.indexOf('?');
  if (q < 0) return undefined;
  for (const pair of path.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (key === name) return eq < 0 ? '' : pair.slice(eq + 1);
  }
  return undefined;
}
