/**
 * `envoy.extensions.filters.http.rbac.v3.RBAC` and `RBACPerRoute`, with `config.rbac.v3.RBAC` policies.
 * Everything that can decide a request is decoded or refused: CEL conditions, metadata and filter-state
 * matchers and extension matchers have nothing to read in xmesh and are refused with their path (ignoring
 * one would change who is allowed). `matcher` / `shadow_matcher` (the Unified Matcher API) are decoded in
 * rbac-matcher.ts.
 */
import type { RbacConfig, RbacMatcher, RbacPermission, RbacPolicy, RbacPrincipal, RbacRules } from '../filter-model.js';
import { readRbacMatcher } from './rbac-matcher.js';
import type { StringMatch } from '../model.js';
import { readCidrRange } from './cidr.js';
import { ignoreAll, oneOf, rejectUnsupported } from './fields.js';
import { readHeaderMatcher, readStringMatcher } from './matchers.js';
import { Reader } from './reader.js';

/** RBAC fields xmesh reads but does not act on: they cannot change a decision. */
export const RBAC_IGNORED: Readonly<Record<string, string>> = {
  track_per_rule_stats: 'per-policy counters are not kept; allowed / denied and their shadow counterparts are',
};

/** `config.rbac.v3.RBAC` fields xmesh reads but does not act on. */
export const RBAC_RULES_IGNORED: Readonly<Record<string, string>> = {
  audit_logging_options: 'RBAC audit loggers are not implemented; they only log decisions',
};

const NOTHING_TO_MATCH = 'xmesh keeps no dynamic metadata or filter state for it to match';

const PERMISSION_RULES = [
  'and_rules', 'or_rules', 'any', 'header', 'url_path', 'destination_ip', 'destination_port', 'destination_port_range',
  'metadata', 'not_rule', 'requested_server_name', 'matcher', 'uri_template',
] as const;

const PRINCIPAL_IDS = [
  'and_ids', 'or_ids', 'any', 'authenticated', 'source_ip', 'direct_remote_ip', 'remote_ip', 'header', 'url_path',
  'metadata', 'filter_state', 'not_id', 'custom',
] as const;

/** Nesting deeper than this (and_rules in and_rules ...) is refused: decisions stay bounded. */
const MAX_DEPTH = 32;

/** The filter config (`perRoute`: an RBACPerRoute, whose absent `rbac` means nothing is enforced on the route). */
export function decodeRbac(r: Reader, options: { perRoute: boolean }): RbacConfig {
  if (options.perRoute) {
    const inner = r.obj('rbac');
    r.finish();
    return inner ? decodeRbac(inner, { perRoute: false }) : { rules: undefined, shadowRules: undefined, rulesStatPrefix: '', shadowRulesStatPrefix: '' };
  }
  const rules = rulesOrMatcher(r, 'rules', 'matcher');
  const shadowRules = rulesOrMatcher(r, 'shadow_rules', 'shadow_matcher');
  const rulesStatPrefix = r.str('rules_stat_prefix') ?? '';
  const shadowRulesStatPrefix = r.str('shadow_rules_stat_prefix') ?? '';
  ignoreAll(r, RBAC_IGNORED);
  r.finish();
  return { rules, shadowRules, rulesStatPrefix, shadowRulesStatPrefix };
}

/** `rules` or `matcher` (Envoy refuses both at once); undefined when neither is set. */
function rulesOrMatcher(r: Reader, rulesKey: string, matcherKey: string): RbacRules | RbacMatcher | undefined {
  if (r.has(rulesKey) && r.has(matcherKey)) {
    r.get(matcherKey);
    r.error(matcherKey, `cannot be set together with ${rulesKey}`);
  }
  const rules = r.obj(rulesKey);
  if (rules) return readRules(rules);
  const matcher = r.obj(matcherKey);
  return matcher ? readRbacMatcher(matcher) : undefined;
}

function readRules(r: Reader): RbacRules {
  const action = r.enumOf('action', ['ALLOW', 'DENY', 'LOG'] as const, 'ALLOW', { 0: 'ALLOW', 1: 'DENY', 2: 'LOG' });
  const policies: RbacPolicy[] = [];
  for (const { key, value, path } of r.entries('policies')) {
    const policy = Reader.of(value, path, r.issues);
    if (policy) policies.push(readPolicy(key, policy));
  }
  ignoreAll(r, RBAC_RULES_IGNORED);
  r.finish();
  // Envoy keeps policies in a sorted map: the first match (for its effective policy id) is by name.
  policies.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { action, policies };
}

function readPolicy(name: string, r: Reader): RbacPolicy {
  const permissions = r.objects('permissions').map((p) => readPermission(p, 0));
  const principals = r.objects('principals').map((p) => readPrincipal(p, 0));
  if (permissions.length === 0) r.error('permissions', 'must have at least one permission');
  if (principals.length === 0) r.error('principals', 'must have at least one principal');
  rejectUnsupported(r, {
    condition: 'CEL conditions are not implemented',
    checked_condition: 'CEL conditions are not implemented',
  });
  r.finish();
  return { name, permissions, principals };
}

function readPermission(r: Reader, depth: number): RbacPermission {
  const kind = oneOf(r, PERMISSION_RULES, `one of ${PERMISSION_RULES.join(', ')} is required`);
  rejectUnsupported(r, {
    metadata: NOTHING_TO_MATCH,
    matcher: 'permission matcher extensions are not implemented',
    uri_template: 'URI template matching is not implemented; use url_path',
  });
  let out: RbacPermission = { kind: 'any' };
  if (depth > MAX_DEPTH) {
    r.issues.error(r.path, `nests more than ${MAX_DEPTH} levels`);
    for (const k of PERMISSION_RULES) r.get(k);
    r.finish();
    return out;
  }
  switch (kind) {
    case 'and_rules':
    case 'or_rules': {
      const set = r.obj(kind);
      const rules = set ? set.objects('rules').map((p) => readPermission(p, depth + 1)) : [];
      if (set && rules.length === 0) set.error('rules', 'must have at least one rule');
      set?.finish();
      out = { kind: kind === 'and_rules' ? 'and' : 'or', rules };
      break;
    }
    case 'any':
      requireTrue(r, 'any');
      break;
    case 'header': {
      const h = r.obj('header');
      if (h) out = { kind: 'header', header: readHeaderMatcher(h) };
      break;
    }
    case 'url_path':
      out = { kind: 'url_path', path: readPathMatcher(r.obj('url_path')) };
      break;
    case 'destination_ip': {
      const c = r.obj('destination_ip');
      const range = c ? readCidrRange(c) : undefined;
      if (range) out = { kind: 'destination_ip', range };
      break;
    }
    case 'destination_port':
      out = { kind: 'destination_port', port: r.int('destination_port', 0, 0, 65_535) };
      break;
    case 'destination_port_range': {
      const range = r.obj('destination_port_range');
      const start = range ? range.int('start', 0, 0, 65_536) : 0;
      const end = range ? range.int('end', 0, 0, 65_536) : 0;
      if (range && start >= end) range.error('start', `must be less than end (${start} >= ${end})`);
      range?.finish();
      out = { kind: 'destination_port_range', start, end };
      break;
    }
    case 'not_rule': {
      const inner = r.obj('not_rule');
      if (inner) out = { kind: 'not', rule: readPermission(inner, depth + 1) };
      break;
    }
    case 'requested_server_name': {
      const m = r.obj('requested_server_name');
      if (m) out = { kind: 'requested_server_name', match: readStringMatcher(m) };
      break;
    }
    default:
      break;
  }
  for (const k of PERMISSION_RULES) r.get(k);
  r.finish();
  return out;
}

function readPrincipal(r: Reader, depth: number): RbacPrincipal {
  const kind = oneOf(r, PRINCIPAL_IDS, `one of ${PRINCIPAL_IDS.filter((k) => k !== 'custom').join(', ')} is required`);
  rejectUnsupported(r, {
    metadata: NOTHING_TO_MATCH,
    filter_state: NOTHING_TO_MATCH,
    custom: 'principal extensions are not implemented',
  });
  let out: RbacPrincipal = { kind: 'any' };
  if (depth > MAX_DEPTH) {
    r.issues.error(r.path, `nests more than ${MAX_DEPTH} levels`);
    for (const k of PRINCIPAL_IDS) r.get(k);
    r.finish();
    return out;
  }
  switch (kind) {
    case 'and_ids':
    case 'or_ids': {
      const set = r.obj(kind);
      const ids = set ? set.objects('ids').map((p) => readPrincipal(p, depth + 1)) : [];
      if (set && ids.length === 0) set.error('ids', 'must have at least one principal');
      set?.finish();
      out = { kind: kind === 'and_ids' ? 'and' : 'or', ids };
      break;
    }
    case 'any':
      requireTrue(r, 'any');
      break;
    case 'authenticated': {
      const a = r.obj('authenticated');
      const name = a?.obj('principal_name');
      const principalName = name ? readStringMatcher(name) : undefined;
      a?.finish();
      out = { kind: 'authenticated', principalName };
      break;
    }
    case 'source_ip':
    case 'direct_remote_ip':
    case 'remote_ip': {
      const c = r.obj(kind);
      const range = c ? readCidrRange(c) : undefined;
      if (range) out = { kind: kind === 'remote_ip' ? 'remote_ip' : 'direct_remote_ip', range };
      break;
    }
    case 'header': {
      const h = r.obj('header');
      if (h) out = { kind: 'header', header: readHeaderMatcher(h) };
      break;
    }
    case 'url_path':
      out = { kind: 'url_path', path: readPathMatcher(r.obj('url_path')) };
      break;
    case 'not_id': {
      const inner = r.obj('not_id');
      if (inner) out = { kind: 'not', id: readPrincipal(inner, depth + 1) };
      break;
    }
    default:
      break;
  }
  for (const k of PRINCIPAL_IDS) r.get(k);
  r.finish();
  return out;
}

/** `type.matcher.v3.PathMatcher`: `{path: StringMatcher}`. */
function readPathMatcher(r: Reader | undefined): StringMatch {
  const fallback: StringMatch = { kind: 'exact', value: '', ignoreCase: false };
  if (!r) return fallback;
  const path = r.obj('path');
  if (!path) r.error('path', 'is required');
  const match = path ? readStringMatcher(path) : fallback;
  r.finish();
  return match;
}

/** `any: true` (Envoy's validation: the only value allowed). */
function requireTrue(r: Reader, key: string): void {
  if (!r.bool(key, false)) r.error(key, 'must be true');
}
