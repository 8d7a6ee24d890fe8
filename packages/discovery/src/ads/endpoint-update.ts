/**
 * The incremental path for endpoint-only updates: when nothing but ClusterLoadAssignments changed
 * since the last whole build, only the clusters using them are rebuilt (their Cluster plus the new
 * assignment, through the same `buildSnapshot`) and spliced into the previous snapshot. The cost is
 * that of the changed assignments, not of the whole config.
 */
import type { FieldError } from '@xmesh/core';
import { buildSnapshot, deepFreeze, dynamicSources, TypeUrl, withSources, type BuildOptions, type ClusterConfig, type MeshSnapshot } from '@xmesh/xds';
import type { HeldResource } from './watch-state.js';

type Json = Record<string, unknown>;

/** A snapshot with the resources it was built from. */
export interface BuiltSet {
  readonly snapshot: MeshSnapshot;
  readonly resources: readonly Json[];
}

/**
 * Rebuilds the clusters of `base` that use the assignments in `changed` (EDS name → resource).
 * Assignments no cluster of `base` uses are skipped (nothing in the snapshot refers to them).
 */
export function applyEndpointUpdate(
  base: BuiltSet,
  clusters: ReadonlyMap<string, HeldResource>,
  changed: ReadonlyMap<string, Json>,
  version: string,
  options: Omit<BuildOptions, 'version'> = {},
): { ok: true; set: BuiltSet } | { ok: false; errors: readonly FieldError[] } {
  const rebuilt: Record<string, ClusterConfig> = {};
  const errors: FieldError[] = [];
  for (const [name, config] of Object.entries(base.snapshot.clusters)) {
    if (config.type !== 'EDS') continue;
    const cla = changed.get(config.edsServiceName ?? name);
    const cluster = clusters.get(name);
    if (!cla || !cluster) continue;
    const built = buildSnapshot([cluster.json, cla], { ...options, version });
    if (!built.ok) {
      errors.push(...labelPaths(built.errors, [`Cluster "${name}"`, `ClusterLoadAssignment "${config.edsServiceName ?? name}"`]));
      continue;
    }
    rebuilt[name] = built.snapshot.clusters[name]!;
  }
  if (errors.length > 0) return { ok: false, errors };
  // Null-prototype records, as buildSnapshot makes them.
  const merged: Record<string, ClusterConfig> = Object.assign(Object.create(null) as Record<string, ClusterConfig>, base.snapshot.clusters, rebuilt);
  const resources = base.resources.map((r) => {
    if (r['@type'] !== TypeUrl.ClusterLoadAssignment) return r;
    const name = r['cluster_name'] ?? r['clusterName'];
    return (typeof name === 'string' && changed.get(name)) || r;
  });
  const snapshot = deepFreeze(withSources({ ...base.snapshot, version, clusters: merged }, dynamicSources(resources as readonly Readonly<Record<string, unknown>>[])));
  return { ok: true, set: { snapshot, resources } };
}

/** Replaces each error path's leading `[i]` (an index into the built resource list) with `labels[i]`. */
export function labelPaths(errors: readonly FieldError[], labels: readonly string[]): FieldError[] {
  return errors.map((e) => ({ ...e, path: e.path.replace(/^\[(\d+)\]/, (m, i: string) => labels[Number(i)] ?? m) }));
}
