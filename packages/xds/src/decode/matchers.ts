/**
 * Envoy's matchers: `type.matcher.v3.RegexMatcher` / `StringMatcher`, `config.route.v3.HeaderMatcher` and
 * `QueryParameterMatcher`. Regexes are RE2 (Envoy's `safe_regex`), validated here by compiling them.
 */
import { RE2JS } from 're2js';
import type { HeaderMatcher, QueryParameterMatcher, StringMatch } from '../model.js';
import { oneOf, rejectUnsupported } from './fields.js';
import { Reader } from './reader.js';

/**
 * Compiles an RE2 regex; throws (RE2JSSyntaxException) when `source` is not valid RE2, e.g. a backreference
 * or a lookaround. Envoy's `safe_regex` must match the whole input: use `.matches(input)`, not `.test()`.
 */
export function compileRegex(source: string): RE2JS {
  return RE2JS.compile(source);
}

/** The reason `source` is not a valid RE2 regex, or undefined when it is. */
export function regexError(source: string): string | undefined {
  try {
    compileRegex(source);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** `RegexMatcher`: `{regex, google_re2?}`; the regex text, validated. */
export function readRegexMatcher(r: Reader): string {
  r.ignore('google_re2');
  const regex = r.requiredStr('regex');
  if (regex !== '') {
    const problem = regexError(regex);
    if (problem !== undefined) r.error('regex', `invalid RE2 regex: ${problem}`);
  }
  r.finish();
  return regex;
}

/** A `safe_regex`-like field holding a RegexMatcher; '' when absent or not an object. */
function regexField(r: Reader, key: string): string {
  const sub = r.obj(key);
  return sub ? readRegexMatcher(sub) : '';
}

function nonEmptyStr(r: Reader, key: string): string {
  const v = r.str(key) ?? '';
  if (v === '') r.error(key, 'must not be empty');
  return v;
}

/** A header name as Envoy's HTTP_HEADER_NAME rule has it: an RFC 9110 token, or a pseudo-header (`:` first). */
export const HEADER_NAME = /^:?[0-9A-Za-z!#$%&'*+\-.^_`|~]+$/;

const STRING_MATCH_KINDS = ['exact', 'prefix', 'suffix', 'contains', 'safe_regex', 'custom'] as const;

/** `StringMatcher`: exactly one of exact / prefix / suffix / contains / safe_regex, plus `ignore_case`. */
export function readStringMatcher(r: Reader): StringMatch {
  const kind = oneOf(r, STRING_MATCH_KINDS, 'one of exact, prefix, suffix, contains, safe_regex is required');
  rejectUnsupported(r, { custom: 'custom string matcher extensions' });
  const ignoreCase = r.bool('ignore_case', false);
  let match: StringMatch;
  switch (kind) {
    case 'prefix':
    case 'suffix':
    case 'contains':
      match = { kind, value: nonEmptyStr(r, kind), ignoreCase };
      break;
    case 'safe_regex':
      // Envoy: ignore_case has no effect on safe_regex.
      match = { kind: 'safe_regex', regex: regexField(r, 'safe_regex') };
      break;
    default:
      match = { kind: 'exact', value: r.str('exact') ?? '', ignoreCase };
  }
  // Read the losing members of a conflicting oneof so they are not also reported as unknown.
  for (const k of STRING_MATCH_KINDS) r.get(k);
  r.finish();
  return match;
}

/** A field holding a StringMatcher, or undefined when absent. */
export function stringMatcherField(r: Reader, key: string): StringMatch | undefined {
  const sub = r.obj(key);
  return sub ? readStringMatcher(sub) : undefined;
}

const HEADER_MATCH_KINDS = [
  'exact_match', 'safe_regex_match', 'range_match', 'present_match',
  'prefix_match', 'suffix_match', 'contains_match', 'string_match',
] as const;

/**
 * int64 bounds as doubles: range ends such as 9223372036854775807 (INT64_MAX, a common "no upper bound") are valid
 * in Envoy and must be accepted; beyond 2^53 the comparison is made between doubles.
 */
const INT64_MIN = -(2 ** 63);
const INT64_MAX = 2 ** 63;

/** `HeaderMatcher`. The name is lower-cased; no specifier means "header present", as in Envoy. */
export function readHeaderMatcher(r: Reader): HeaderMatcher {
  const name = r.requiredStr('name').toLowerCase();
  const kind = oneOf(r, HEADER_MATCH_KINDS);
  let match: HeaderMatcher['match'];
  switch (kind) {
    case 'exact_match': {
      // Envoy: an empty exact_match matches any value of a present header (HeaderDataExactMatch), unlike
      // string_match.exact "", which matches only the empty value. The empty prefix says "any value".
      const value = r.str('exact_match') ?? '';
      match = { kind: 'string', match: value === '' ? { kind: 'prefix', value: '', ignoreCase: false } : { kind: 'exact', value, ignoreCase: false } };
      break;
    }
    case 'prefix_match':
    case 'suffix_match':
    case 'contains_match': {
      const k = kind === 'prefix_match' ? 'prefix' : kind === 'suffix_match' ? 'suffix' : 'contains';
      match = { kind: 'string', match: { kind: k, value: nonEmptyStr(r, kind), ignoreCase: false } };
      break;
    }
    case 'safe_regex_match':
      match = { kind: 'string', match: { kind: 'safe_regex', regex: regexField(r, 'safe_regex_match') } };
      break;
    case 'string_match':
      match = { kind: 'string', match: stringMatcherField(r, 'string_match') ?? { kind: 'exact', value: '', ignoreCase: false } };
      break;
    case 'range_match': {
      const range = r.obj('range_match');
      const start = range ? range.int('start', 0, INT64_MIN, INT64_MAX, 'an int64') : 0;
      const end = range ? range.int('end', 0, INT64_MIN, INT64_MAX, 'an int64') : 0;
      range?.finish();
      match = { kind: 'range', start, end };
      break;
    }
    case 'present_match':
      match = { kind: 'present', present: r.bool('present_match', true) };
      break;
    default:
      match = { kind: 'present', present: true };
  }
  for (const k of HEADER_MATCH_KINDS) r.get(k);
  const invertMatch = r.bool('invert_match', false);
  const treatMissingHeaderAsEmpty = r.bool('treat_missing_header_as_empty', false);
  r.finish();
  return { name, match, invertMatch, treatMissingHeaderAsEmpty };
}

/** A list field of HeaderMatchers. */
export function headerMatchersField(r: Reader, key: string): HeaderMatcher[] {
  return r.objects(key).map(readHeaderMatcher);
}

/** `QueryParameterMatcher`: `string_match`, or presence (also when neither is set, as in Envoy). */
export function readQueryParameterMatcher(r: Reader): QueryParameterMatcher {
  const name = r.requiredStr('name');
  oneOf(r, ['string_match', 'present_match'] as const);
  const match = stringMatcherField(r, 'string_match');
  r.bool('present_match', false);
  r.finish();
  return { name, match };
}
