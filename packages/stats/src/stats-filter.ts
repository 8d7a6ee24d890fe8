/**
 * `/stats?filter=<regex>`, as Envoy: RE2 syntax, matched anywhere in the stat name. The pattern comes from whoever
 * can reach the admin port, so it is compiled with re2js (linear-time matching: no pattern can stall the event loop,
 * as a backtracking `RegExp` can) and its length is bounded.
 */
import { RE2JS } from 're2js';

/** Longer filters are refused; stat names are far shorter, and RE2's program grows with the pattern. */
export const MAX_STATS_FILTER_LENGTH = 1024;

/** The filter's predicate; undefined for no (or an empty) filter; a message for a pattern refused. */
export function compileStatsFilter(filter: string | null): ((name: string) => boolean) | undefined | string {
  if (filter === null || filter === '') return undefined;
  if (filter.length > MAX_STATS_FILTER_LENGTH) return `filter is longer than ${MAX_STATS_FILTER_LENGTH} characters`;
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(filter);
  } catch (error) {
    return `invalid filter regex (RE2 syntax): ${(error as Error).message}`;
  }
  return (name) => compiled.test(name);
}
