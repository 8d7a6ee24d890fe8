import type { PathMatch } from '@xmesh/xds';
import { equalsIgnoreCase, startsWithIgnoreCase } from './ascii.js';
import { compileFullMatch } from './regex.js';

/** Tests a path with the query string and fragment already removed. */
export type PathPredicate = (path: string) => boolean;

/**
 * Envoy's route path specifiers. `caseSensitive: false` applies to `prefix`, `path` and
 * `path_separated_prefix` (ASCII folding); `safe_regex` must match the whole path and ignores it.
 * `path_separated_prefix` matches the prefix itself or the prefix followed by `/`.
 */
export function compilePathMatch(match: PathMatch, caseSensitive: boolean, where: string): PathPredicate {
  switch (match.kind) {
    case 'prefix': {
      const prefix = match.value;
      if (prefix === '') return () => true;
      return caseSensitive ? (p) => p.startsWith(prefix) : (p) => startsWithIgnoreCase(p, prefix);
    }
    case 'path': {
      const expected = match.value;
      return caseSensitive ? (p) => p === expected : (p) => equalsIgnoreCase(p, expected);
    }
    case 'safe_regex':
      return compileFullMatch(match.regex, `${where}.safe_regex`);
    case 'path_separated_prefix': {
      const prefix = match.value;
      const startsWith = caseSensitive ? (p: string) => p.startsWith(prefix) : (p: string) => startsWithIgnoreCase(p, prefix);
      return (p) => startsWith(p) && (p.length === prefix.length || p.charCodeAt(prefix.length) === 47 /* / */);
    }
    case 'connect':
      // A CONNECT request has no path; the route matcher checks its method.
      return () => true;
  }
}
