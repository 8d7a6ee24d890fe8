import type { StringMatch } from '@xmesh/xds';
import { endsWithIgnoreCase, equalsIgnoreCase, includesIgnoreCase, startsWithIgnoreCase } from './ascii.js';
import { compileFullMatch } from './regex.js';

export type StringPredicate = (value: string) => boolean;

/** Envoy's StringMatcher as a predicate; `ignoreCase` folds ASCII; regex must match the whole value. */
export function compileStringMatch(match: StringMatch, where: string): StringPredicate {
  switch (match.kind) {
    case 'exact': {
      const expected = match.value;
      return match.ignoreCase ? (v) => equalsIgnoreCase(v, expected) : (v) => v === expected;
    }
    case 'prefix': {
      const prefix = match.value;
      return match.ignoreCase ? (v) => startsWithIgnoreCase(v, prefix) : (v) => v.startsWith(prefix);
    }
    case 'suffix': {
      const suffix = match.value;
      return match.ignoreCase ? (v) => endsWithIgnoreCase(v, suffix) : (v) => v.endsWith(suffix);
    }
    case 'contains': {
      const part = match.value;
      return match.ignoreCase ? (v) => includesIgnoreCase(v, part) : (v) => v.includes(part);
    }
    case 'safe_regex':
      return compileFullMatch(match.regex, where);
  }
}
