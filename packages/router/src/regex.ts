import { RE2JS } from 're2js';
import { ErrorCode, MeshError } from '@xmesh/core';

/** A compiled RE2 regex that must match the whole input (Envoy's `safe_regex` semantics). */
export type FullMatch = (input: string) => boolean;

/** Compiles once; throws XMESH_CONFIG_INVALID naming `where` when the pattern is not valid RE2. */
export function compileFullMatch(regex: string, where: string): FullMatch {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(regex);
  } catch (cause) {
    throw new MeshError(ErrorCode.CONFIG_INVALID, `${where}: invalid RE2 regex ${JSON.stringify(regex)}`, {
      cause,
      errors: [{ path: where, message: `invalid RE2 regex ${JSON.stringify(regex)}` }],
    });
  }
  return (input) => compiled.testExact(input);
}
