/** `RouteAction.HashPolicy` entries: the keys that ring_hash / maglev balancing hash on. */
import type { HashPolicy } from '../model.js';
import { oneOf, rejectUnsupported } from './fields.js';
import type { Reader } from './reader.js';

const SUPPORTED = ['header', 'cookie', 'connection_properties', 'query_parameter'] as const;

/**
 * The filter-state key gRPC clients hash on to keep a channel's calls on one host (gRFC A42): the
 * only filter state a mesh has, read under a gRPC client's rules as the mesh's channel id.
 */
export const GRPC_CHANNEL_ID_KEY = 'io.grpc.channel_id';

export function hashPoliciesField(r: Reader, key: string): HashPolicy[] {
  const out: HashPolicy[] = [];
  for (const p of r.objects(key)) {
    const policy = readHashPolicy(p);
    if (policy) out.push(policy);
  }
  return out;
}

function readHashPolicy(p: Reader): HashPolicy | undefined {
  const kind = oneOf(p, [...SUPPORTED, 'filter_state'], `one of ${SUPPORTED.join(', ')} is required`);
  const terminal = p.bool('terminal', false);
  if (kind === 'filter_state') {
    const policy = readFilterState(p, terminal);
    p.finish();
    return policy;
  }
  const sub = kind === undefined ? undefined : p.obj(kind);
  let policy: HashPolicy | undefined;
  if (sub) {
    switch (kind) {
      case 'header':
        policy = { kind: 'header', headerName: sub.requiredStr('header_name').toLowerCase(), terminal };
        rejectUnsupported(sub, { regex_rewrite: 'rewriting the header value before hashing is not implemented' });
        break;
      case 'cookie':
        policy = {
          kind: 'cookie',
          name: sub.requiredStr('name'),
          ttlMs: sub.duration('ttl'),
          path: sub.str('path') || undefined,
          terminal,
        };
        rejectUnsupported(sub, { attributes: 'generated cookie attributes are not implemented' });
        break;
      case 'connection_properties':
        // source_ip: false hashes nothing, as in Envoy.
        if (sub.bool('source_ip', false)) policy = { kind: 'source_ip', terminal };
        break;
      case 'query_parameter':
        policy = { kind: 'query_parameter', name: sub.requiredStr('name'), terminal };
        break;
    }
    sub.finish();
  }
  for (const k of SUPPORTED) p.get(k);
  p.finish();
  return policy;
}

/** `filter_state`: only `io.grpc.channel_id`, under a gRPC client's rules (Envoy has no such filter state). */
function readFilterState(p: Reader, terminal: boolean): HashPolicy | undefined {
  if (p.issues.rules !== 'grpc') {
    p.get('filter_state');
    p.error('filter_state', `is not supported: filter state is not available (only a gRPC client's "${GRPC_CHANNEL_ID_KEY}"); hash on a header, cookie, source IP or query parameter`);
    return undefined;
  }
  const sub = p.obj('filter_state');
  if (!sub) return undefined;
  const key = sub.requiredStr('key');
  sub.finish();
  if (key !== GRPC_CHANNEL_ID_KEY) {
    sub.error('key', `only "${GRPC_CHANNEL_ID_KEY}" is supported (a gRPC client's channel), got ${JSON.stringify(key)}`);
    return undefined;
  }
  return { kind: 'channel_id', terminal };
}
