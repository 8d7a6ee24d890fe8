/**
 * An RBAC filter's `matcher` / `shadow_matcher`: the Unified Matcher API (`xds.type.matcher.v3.Matcher`) with
 * `config.rbac.v3.Action` actions, as Envoy's RBAC filter accepts it: `matcher_list` (single, and, or and not
 * predicates), `matcher_tree` (`exact_match_map`, `prefix_match_map`, and the `xds.type.matcher.v3.IPMatcher`
 * custom match), `on_no_match`, nested matchers. The inputs are the ones an HTTP request offers when RBAC runs:
 * request headers, and the downstream connection's network and TLS inputs. Inputs with nothing to read in xmesh
 * (filter state, dynamic metadata, environment variables), `keep_matching` and other extensions are refused with
 * their path: ignoring one would change who is allowed.
 */
import type { MatchInput, RbacFieldMatcher, RbacMatcher, RbacMatcherTree, RbacOnMatch, RbacPredicate } from '../filter-model.js';
import type { CidrRange } from '../model.js';
import { readCidrRange } from './cidr.js';
import { describeType, oneOf, rejectUnsupported } from './fields.js';
import { HEADER_NAME, readStringMatcher } from './matchers.js';
import { Reader } from './reader.js';

const P = 'type.googleapis.com/';
const NETWORK = `${P}envoy.extensions.matching.common_inputs.network.v3.`;
const SSL = `${P}envoy.extensions.matching.common_inputs.ssl.v3.`;

/** Inputs read from the connection, by their `@type`. */
const CONNECTION_INPUTS: Readonly<Record<string, Exclude<MatchInput, { kind: 'request_header' }>['kind']>> = {
  [`${NETWORK}DestinationIPInput`]: 'destination_ip',
  [`${NETWORK}DestinationPortInput`]: 'destination_port',
  [`${NETWORK}SourceIPInput`]: 'source_ip',
  [`${NETWORK}SourcePortInput`]: 'source_port',
  [`${NETWORK}DirectSourceIPInput`]: 'direct_source_ip',
  [`${NETWORK}SourceTypeInput`]: 'source_type',
  [`${NETWORK}ServerNameInput`]: 'server_name',
  [`${SSL}UriSanInput`]: 'uri_san',
  [`${SSL}DnsSanInput`]: 'dns_san',
  [`${SSL}SubjectInput`]: 'subject',
};

const REQUEST_HEADER_INPUT = `${P}envoy.type.matcher.v3.HttpRequestHeaderMatchInput`;
const RBAC_ACTION = `${P}envoy.config.rbac.v3.Action`;
const IP_MATCHER = `${P}xds.type.matcher.v3.IPMatcher`;

/** Marks the members of a oneof read (the one set was decoded; a second one is already an error). */
function markRead(r: Reader, keys: readonly string[]): void {
  for (const key of keys) r.get(key);
}

/** Deeper nesting (matchers in matchers, predicates in predicates) is refused: decisions stay bounded. */
const MAX_DEPTH = 32;

export function readRbacMatcher(r: Reader): RbacMatcher {
  return readMatcher(r, 0);
}

function readMatcher(r: Reader, depth: number): RbacMatcher {
  const kind = oneOf(r, ['matcher_list', 'matcher_tree'], 'one of matcher_list, matcher_tree is required');
  if (depth > MAX_DEPTH) {
    r.issues.error(r.path, `nests more than ${MAX_DEPTH} levels`);
    return { list: undefined, tree: undefined, onNoMatch: undefined };
  }
  let list: RbacFieldMatcher[] | undefined;
  let tree: RbacMatcherTree | undefined;
  if (kind === 'matcher_list') {
    const l = r.obj('matcher_list');
    if (l) {
      list = l.objects('matchers').map((m) => readFieldMatcher(m, depth));
      if (list.length === 0) l.error('matchers', 'must have at least one matcher');
      l.finish();
    }
  } else if (kind === 'matcher_tree') {
    const t = r.obj('matcher_tree');
    if (t) tree = readTree(t, depth);
  }
  const noMatch = r.obj('on_no_match');
  const onNoMatch = noMatch ? readOnMatch(noMatch, depth) : undefined;
  markRead(r, ['matcher_list', 'matcher_tree']);
  r.finish();
  return { list, tree, onNoMatch };
}

function readFieldMatcher(m: Reader, depth: number): RbacFieldMatcher {
  const p = m.obj('predicate');
  const o = m.obj('on_match');
  if (!p) m.error('predicate', 'is required');
  if (!o) m.error('on_match', 'is required');
  const predicate = p ? readPredicate(p, depth + 1) : NEVER;
  const onMatch = o ? readOnMatch(o, depth) : DENY_PLACEHOLDER;
  m.finish();
  return { predicate, onMatch };
}

/** Stand-ins for parts that failed to decode (an error is always recorded, so they never reach a snapshot). */
const NEVER: RbacPredicate = { kind: 'or', predicates: [] };
const DENY_PLACEHOLDER: RbacOnMatch = { kind: 'action', name: '', action: 'DENY' };

function readPredicate(r: Reader, depth: number): RbacPredicate {
  const kind = oneOf(r, ['single_predicate', 'or_matcher', 'and_matcher', 'not_matcher'], 'one of single_predicate, or_matcher, and_matcher, not_matcher is required');
  if (depth > MAX_DEPTH) {
    r.issues.error(r.path, `nests more than ${MAX_DEPTH} levels`);
    return NEVER;
  }
  let out: RbacPredicate = NEVER;
  switch (kind) {
    case 'single_predicate': {
      const s = r.obj('single_predicate');
      if (s) out = readSinglePredicate(s);
      break;
    }
    case 'or_matcher':
    case 'and_matcher': {
      const set = r.obj(kind);
      if (set) {
        const predicates = set.objects('predicate').map((p) => readPredicate(p, depth + 1));
        if (predicates.length < 2) set.error('predicate', `must have at least two predicates, got ${predicates.length}`);
        set.finish();
        out = { kind: kind === 'and_matcher' ? 'and' : 'or', predicates };
      }
      break;
    }
    case 'not_matcher': {
      const inner = r.obj('not_matcher');
      if (inner) out = { kind: 'not', predicate: readPredicate(inner, depth + 1) };
      break;
    }
  }
  markRead(r, ['single_predicate', 'or_matcher', 'and_matcher', 'not_matcher']);
  r.finish();
  return out;
}

function readSinglePredicate(s: Reader): RbacPredicate {
  const i = s.obj('input');
  if (!i) s.error('input', 'is required');
  const input = i ? readInput(i) : undefined;
  const which = oneOf(s, ['value_match', 'custom_match'], 'one of value_match, custom_match is required');
  rejectUnsupported(s, { custom_match: 'custom predicate matchers are not implemented; use value_match (IP ranges: a matcher_tree with the IPMatcher)' });
  const v = which === 'value_match' ? s.obj('value_match') : undefined;
  const match = v ? readStringMatcher(v) : undefined;
  markRead(s, ['value_match']);
  s.finish();
  return input === undefined || match === undefined ? NEVER : { kind: 'single', input, match };
}

/** The `typed_config` of a `TypedExtensionConfig` (its `name` is only a label); undefined when absent (reported). */
function typedConfig(r: Reader): Reader | undefined {
  r.str('name');
  const any = r.obj('typed_config');
  r.finish();
  if (!any) r.error('typed_config', 'is required');
  return any;
}

/** A `TypedExtensionConfig` naming a data input. */
function readInput(i: Reader): MatchInput | undefined {
  const any = typedConfig(i);
  if (!any) return undefined;
  const type = any.raw['@type'];
  if (type === REQUEST_HEADER_INPUT) {
    const name = any.requiredStr('header_name').toLowerCase();
    if (name !== '' && !HEADER_NAME.test(name)) any.error('header_name', `"${name}" is not a header name`);
    any.finish();
    return { kind: 'request_header', name };
  }
  const kind = typeof type === 'string' ? CONNECTION_INPUTS[type] : undefined;
  if (kind !== undefined) {
    any.finish();
    return { kind };
  }
  any.issues.error(any.at('@type'), type === undefined
    ? 'is required'
    : `unsupported matcher input ${describeType(type)} (request headers and the connection's network and TLS inputs are implemented)`);
  return undefined;
}

function readOnMatch(o: Reader, depth: number): RbacOnMatch {
  const kind = oneOf(o, ['matcher', 'action'], 'one of matcher, action is required');
  if (o.bool('keep_matching', false)) o.error('keep_matching', 'is not supported: RBAC decides on the first action reached');
  let out: RbacOnMatch = DENY_PLACEHOLDER;
  if (kind === 'matcher') {
    const m = o.obj('matcher');
    if (m) out = { kind: 'matcher', matcher: readMatcher(m, depth + 1) };
  } else if (kind === 'action') {
    const a = o.obj('action');
    if (a) out = readAction(a);
  }
  markRead(o, ['matcher', 'action']);
  o.finish();
  return out;
}

/** A `TypedExtensionConfig` holding a `config.rbac.v3.Action` (the only action Envoy's RBAC filter accepts). */
function readAction(a: Reader): RbacOnMatch {
  const any = typedConfig(a);
  if (!any) return DENY_PLACEHOLDER;
  const type = any.raw['@type'];
  if (type !== RBAC_ACTION) {
    any.issues.error(any.at('@type'), type === undefined ? 'is required' : `an RBAC matcher's action must be ${RBAC_ACTION}, got ${describeType(type)}`);
    return DENY_PLACEHOLDER;
  }
  const name = any.str('name') ?? '';
  const action = any.enumOf('action', ['ALLOW', 'DENY', 'LOG'] as const, 'ALLOW', { 0: 'ALLOW', 1: 'DENY', 2: 'LOG' });
  any.finish();
  return { kind: 'action', name, action };
}

function readTree(t: Reader, depth: number): RbacMatcherTree | undefined {
  const i = t.obj('input');
  if (!i) t.error('input', 'is required');
  const input = i ? readInput(i) : undefined;
  const kind = oneOf(t, ['exact_match_map', 'prefix_match_map', 'custom_match'], 'one of exact_match_map, prefix_match_map, custom_match is required');
  let tree: RbacMatcherTree | undefined;
  if (kind === 'exact_match_map' || kind === 'prefix_match_map') {
    const m = t.obj(kind);
    const map = new Map<string, RbacOnMatch>();
    for (const { key, value, path } of m?.entries('map') ?? []) {
      const entry = Reader.of(value, path, t.issues);
      if (entry) map.set(key, readOnMatch(entry, depth));
    }
    if (m && map.size === 0) m.error('map', 'must have at least one entry');
    m?.finish();
    if (input !== undefined) tree = { kind: kind === 'exact_match_map' ? 'exact' : 'prefix', input, map };
  } else if (kind === 'custom_match') {
    const c = t.obj('custom_match');
    const ranges = c ? readIpMatcher(c, depth) : undefined;
    if (input !== undefined && ranges !== undefined) tree = { kind: 'ip', input, ranges };
  }
  markRead(t, ['exact_match_map', 'prefix_match_map', 'custom_match']);
  t.finish();
  return tree;
}

/** `custom_match` naming `xds.type.matcher.v3.IPMatcher`: its range matchers, most specific range first. */
function readIpMatcher(c: Reader, depth: number): Extract<RbacMatcherTree, { kind: 'ip' }>['ranges'] | undefined {
  const any = typedConfig(c);
  if (!any) return undefined;
  const type = any.raw['@type'];
  if (type !== IP_MATCHER) {
    any.issues.error(any.at('@type'), type === undefined ? 'is required' : `unsupported custom matcher ${describeType(type)} (${IP_MATCHER} is implemented)`);
    return undefined;
  }
  const out = any.objects('range_matchers').map((rm) => {
    const ranges = rm.objects('ranges').map(readCidrRange).filter((x): x is CidrRange => x !== undefined);
    if (ranges.length === 0) rm.error('ranges', 'must have at least one range');
    const o = rm.obj('on_match');
    if (!o) rm.error('on_match', 'is required');
    const onMatch = o ? readOnMatch(o, depth) : DENY_PLACEHOLDER;
    const exclusive = rm.bool('exclusive', false);
    rm.finish();
    return { ranges, onMatch, exclusive };
  });
  any.finish();
  return out;
}
