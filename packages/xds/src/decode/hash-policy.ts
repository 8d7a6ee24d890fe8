/** `RouteAction.HashPolicy` entries: the keys that ring_hash / maglev balancing hash on. */
import type { HashPolicy } from '../model.js';
import { oneOf, rejectUnsupported } from './fields.js';
import type { Reader } from './reader.js';

const SUPPORTED = ['header', 'cookie', 'connection_properties', 'query_parameter'] as const;
const UNSUPPORTED: Readonly<Record<string, string>> = {
  filter_state: 'filter state is not available; hash on a header, cookie, source IP or query parameter',
};

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
  rejectUnsupported(p, UNSUPPORTED);
  const terminal = p.bool('terminal', false);
  const sub = kind === undefined || kind === 'filter_state' ? undefined : p.obj(kind);
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
