/**
 * `config.route.v3.RouteMatch`: one path specifier (or `connect_matcher`, for CONNECT requests), plus headers,
 * query parameters, runtime fraction, gRPC.
 */
import type { PathMatch, RouteMatch } from '../model.js';
import { headerMatchersField, readQueryParameterMatcher, readRegexMatcher } from './matchers.js';
import { oneOf, rejectUnsupported } from './fields.js';
import { runtimeFractionField } from './runtime-fraction.js';
import type { Reader } from './reader.js';

const PATH_SPECIFIERS = ['prefix', 'path', 'safe_regex', 'path_separated_prefix', 'connect_matcher'] as const;
const UNSUPPORTED_PATH_SPECIFIERS: Readonly<Record<string, string>> = {
  path_match_policy: 'path match extensions (URI templates) are not implemented',
};
const UNSUPPORTED: Readonly<Record<string, string>> = {
  tls_context: 'there is no downstream TLS connection to match',
  dynamic_metadata: 'dynamic metadata is not available',
};

export function decodeRouteMatch(m: Reader): RouteMatch {
  const kind = oneOf(
    m,
    [...PATH_SPECIFIERS, ...Object.keys(UNSUPPORTED_PATH_SPECIFIERS)],
    `one of ${PATH_SPECIFIERS.join(', ')} is required`,
  );
  rejectUnsupported(m, UNSUPPORTED_PATH_SPECIFIERS);
  let path: PathMatch = { kind: 'prefix', value: '' };
  switch (kind) {
    case 'prefix':
    case 'path':
      path = { kind, value: m.str(kind) ?? '' };
      break;
    case 'path_separated_prefix': {
      const value = m.str(kind) ?? '';
      // Envoy's rule: at least two characters, no "?" or "#", not ending in "/".
      if (!/^[^?#]+[^?#/]$/.test(value)) m.error(kind, `must have no "?" or "#" and not end with "/", got ${JSON.stringify(value)}`);
      path = { kind, value };
      break;
    }
    case 'safe_regex': {
      const sub = m.obj('safe_regex');
      path = { kind: 'safe_regex', regex: sub ? readRegexMatcher(sub) : '' };
      break;
    }
    case 'connect_matcher':
      // `ConnectMatcher` has no fields.
      m.obj('connect_matcher')?.finish();
      path = { kind: 'connect' };
      break;
  }
  for (const k of PATH_SPECIFIERS) m.get(k);
  const caseSensitive = m.bool('case_sensitive', true);
  const headers = headerMatchersField(m, 'headers');
  const queryParameters = m.objects('query_parameters').map(readQueryParameterMatcher);
  const runtimeFraction = runtimeFractionField(m, 'runtime_fraction');
  const grpc = m.obj('grpc');
  grpc?.finish();
  rejectUnsupported(m, UNSUPPORTED);
  m.finish();
  return { path, caseSensitive, headers, queryParameters, runtimeFraction, grpcOnly: grpc !== undefined };
}
