import type { HeaderMatcher } from '@xmesh/xds';
import type { HeaderSource } from './types.js';
import { compileStringMatch } from './string-matcher.js';

export type HeaderPredicate = (request: HeaderSource) => boolean;

/**
 * Reads a header; the pseudo-headers `:authority`, `:path` and `:method` fall back to the
 * request's own fields when the map does not carry them.
 */
export function headerValue(request: HeaderSource, name: string): string | undefined {
  const value = request.headers.get(name);
  if (value !== undefined) return value;
  switch (name) {
    case ':authority':
      return request.authority;
    case ':path':
      return request.path;
    case ':method':
      return request.method;
    default:
      return undefined;
  }
}

/**
 * Envoy's HeaderMatcher. A missing header matches only `present_match: false` (its inversion
 * only when inverted) unless `treat_missing_header_as_empty` makes it the empty string; for every
 * other kind a missing header never matches, inverted or not (as Envoy documents).
 * `range` needs the whole value to be a base-10 integer (optional sign) in [start, end).
 */
export function compileHeaderMatcher(matcher: HeaderMatcher, where: string): HeaderPredicate {
  const { name, invertMatch, treatMissingHeaderAsEmpty } = matcher;
  const match = matcher.match;
  if (match.kind === 'present') {
    const wanted = match.present;
    return (request) => {
      const value = headerValue(request, name);
      const present = value !== undefined || treatMissingHeaderAsEmpty;
      return (present === wanted) !== invertMatch;
    };
  }
  const test = match.kind === 'string' ? compileStringMatch(match.match, where) : rangeTest(match.start, match.end);
  return (request) => {
    let value = headerValue(request, name);
    if (value === undefined) {
      if (!treatMissingHeaderAsEmpty) return false;
      value = '';
    }
    return test(value) !== invertMatch;
  };
}

/** All of the matchers must match (an empty list matches). */
export function compileHeaderMatchers(matchers: readonly HeaderMatcher[], where: string): HeaderPredicate {
  const tests = matchers.map((m, i) => compileHeaderMatcher(m, `${where}[${i}]`));
  if (tests.length === 0) return () => true;
  return (request) => {
    for (const test of tests) if (!test(request)) return false;
    return true;
  };
}

function rangeTest(start: number, end: number): (value: string) => boolean {
  return (value) => {
    const n = parseStrictInteger(value);
    return n !== undefined && n >= start && n < end;
  };
}

function parseStrictInteger(value: string): number | undefined {
  let i = 0;
  const first = value.charCodeAt(0);
  if (first === 43 /* + */ || first === 45 /* - */) i = 1;
  if (i >= value.length) return undefined;
  for (let j = i; j < value.length; j++) {
    const c = value.charCodeAt(j);
    if (c < 48 || c > 57) return undefined;
  }
  return Number(value);
}
