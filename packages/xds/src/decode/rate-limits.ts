/**
 * `config.route.v3.RateLimit` entries of routes and virtual hosts: the actions that build one descriptor,
 * matched against local_ratelimit `descriptors`.
 */
import type { RateLimit, RateLimitAction } from '../model.js';
import { headerMatchersField } from './matchers.js';
import { oneOf, rejectUnsupported } from './fields.js';
import { Reader } from './reader.js';

/** RateLimit fields xmesh reads but does not act on, with the reason. */
export const RATE_LIMIT_IGNORED: Readonly<Record<string, string>> = {
  disable_key: 'no runtime: rate limits are always enabled',
};

const SUPPORTED = [
  'source_cluster', 'destination_cluster', 'request_headers', 'remote_address', 'generic_key', 'header_value_match',
] as const;
const UNSUPPORTED: Readonly<Record<string, string>> = {
  dynamic_metadata: 'dynamic metadata is not available',
  metadata: 'metadata descriptors are not implemented',
  extension: 'rate limit descriptor extensions are not implemented',
  masked_remote_address: 'masked remote addresses are not implemented',
  query_parameter_value_match: 'query parameter descriptors are not implemented',
};
const ALL = [...SUPPORTED, ...Object.keys(UNSUPPORTED)];

/** The list field `key` of RateLimit entries. */
export function rateLimitsField(r: Reader, key: string): RateLimit[] {
  return r.objects(key).map(readRateLimit);
}

function readRateLimit(r: Reader): RateLimit {
  const stage = r.int('stage', 0, 0, 10);
  const actions: RateLimitAction[] = [];
  const items = r.list('actions');
  if (items.length === 0) r.error('actions', 'must have at least one action');
  for (const { value, path } of items) {
    const a = Reader.of(value, path, r.issues);
    const action = a ? readAction(a) : undefined;
    if (action) actions.push(action);
  }
  r.ignore(...Object.keys(RATE_LIMIT_IGNORED));
  rejectUnsupported(r, { limit: 'dynamic limit overrides are not implemented' });
  r.finish();
  return { stage, actions };
}

function readAction(a: Reader): RateLimitAction | undefined {
  const kind = oneOf(a, ALL, `one of ${SUPPORTED.join(', ')} is required`);
  rejectUnsupported(a, UNSUPPORTED);
  let action: RateLimitAction | undefined;
  const sub = kind !== undefined && (SUPPORTED as readonly string[]).includes(kind) ? a.obj(kind) : undefined;
  if (sub) {
    switch (kind) {
      case 'request_headers':
        action = {
          kind,
          headerName: sub.requiredStr('header_name').toLowerCase(),
          descriptorKey: sub.requiredStr('descriptor_key'),
          skipIfAbsent: sub.bool('skip_if_absent', false),
        };
        break;
      case 'generic_key':
        action = {
          kind,
          descriptorValue: sub.requiredStr('descriptor_value'),
          descriptorKey: sub.str('descriptor_key') || 'generic_key',
        };
        break;
      case 'header_value_match': {
        const descriptorKey = sub.str('descriptor_key') || 'header_match';
        const descriptorValue = sub.requiredStr('descriptor_value');
        const expectMatch = sub.bool('expect_match', true);
        if (!sub.has('headers')) sub.error('headers', 'must have at least one header matcher');
        const headers = headerMatchersField(sub, 'headers');
        action = { kind, descriptorKey, descriptorValue, expectMatch, headers };
        break;
      }
      case 'remote_address':
      case 'destination_cluster':
      case 'source_cluster':
        action = { kind };
        break;
    }
    sub.finish();
  }
  for (const k of ALL) a.get(k);
  a.finish();
  return action;
}
