/** Any resources (as from a DiscoveryResponse) → MeshSnapshot, through the same `buildSnapshot`. */
import { buildSnapshot, type BuildOptions, type BuildResult } from '../snapshot.js';
import type { EnvoyProtos } from './load.js';
import { ProtoIssues } from './issues.js';
import { decodeResourceInto, type AnyResource } from './resource.js';

/**
 * Decodes every Any and builds one snapshot from them. Decode problems are reported as FieldErrors
 * with the resource index first (`[3].@type`); any problem rejects the whole set.
 */
export function snapshotFromAnys(protos: EnvoyProtos, anys: readonly AnyResource[], options: BuildOptions = {}): BuildResult {
  const issues = new ProtoIssues();
  const resources = anys.map((any, i) => decodeResourceInto(protos, any, `[${i}]`, issues));
  if (issues.errors.length > 0) return { ok: false, errors: issues.errors };
  return buildSnapshot(resources, options);
}
