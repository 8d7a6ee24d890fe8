import type { Fraction, RouteMatch } from '@xmesh/xds';
import type { RouteRequest } from './types.js';
import { compilePathMatch, type PathPredicate } from './path-matcher.js';
import { compileHeaderMatchers } from './header-matcher.js';
import { compileStringMatch, type StringPredicate } from './string-matcher.js';
import { queryParameter } from './query.js';

/**
 * A compiled RouteMatch. `path` is `:path` without query string or fragment; `query` is the raw
 * query string without `?` (empty when none). `random` returns a number in [0, 1).
 */
export type RouteMatcher = (request: RouteRequest, path: string, query: string, random: () => number) => boolean;

/**
 * All conditions must hold, cheapest first: gRPC-only, path, headers, query parameters, and
 * finally the runtime fraction (a random draw against numerator/denominator, as Envoy).
 * `connect_matcher` matches CONNECT requests only; a CONNECT request has no path (''), so a path
 * specifier other than the empty prefix never matches it, as in Envoy.
 */
export function compileRouteMatch(match: RouteMatch, where: string): RouteMatcher {
  const grpcOnly = match.grpcOnly;
  if (match.path.kind === 'connect') {
    const rest = compileRouteMatch({ ...match, path: { kind: 'prefix', value: '' } }, where);
    return (request, path, query, random) => request.method === 'CONNECT' && rest(request, path, query, random);
  }
  const pathMatches: PathPredicate = compilePathMatch(match.path, match.caseSensitive, `${where}.match`);
  const headersMatch = compileHeaderMatchers(match.headers, `${where}.match.headers`);
  const queryMatches = compileQueryMatchers(match, where);
  const fraction = match.runtimeFraction;
  return (request, path, query, random) =>
    (!grpcOnly || request.grpc) &&
    pathMatches(path) &&
    headersMatch(request) &&
    queryMatches(query) &&
    (fraction === undefined || fractionHit(fraction, random));
}

function compileQueryMatchers(match: RouteMatch, where: string): (query: string) => boolean {
  const matchers: { name: string; test: StringPredicate | undefined }[] = match.queryParameters.map((q, i) => ({
    name: q.name,
    test: q.match === undefined ? undefined : compileStringMatch(q.match, `${where}.match.query_parameters[${i}]`),
  }));
  if (matchers.length === 0) return () => true;
  return (query) => {
    for (const { name, test } of matchers) {
      const value = queryParameter(query, name);
      if (value === undefined) return false;
      if (test !== undefined && !test(value)) return false;
    }
    return true;
  };
}

function fractionHit(fraction: Fraction, random: () => number): boolean {
  return random() * fraction.denominator < fraction.numerator;
}
