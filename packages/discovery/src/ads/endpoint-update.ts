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
 * Rebuilds the clusters of `base` that use the assignments in `changed` (EDS name → held resource).
 * Assignments no cluster of `base` uses are skipped (nothing in the snapshot refers to them). An
 * assignment decoded when it was validated (`assignment`) is joined to its clusters as the snapshot
 * build joins them, without decoding it again; the others go through `buildSnapshot` with their cluster.
 * Everything else of `base` is shared: the work is that of the changed assignments.
 */
export function applyEndpointUpdate(
  base: BuiltSet,
  clusters: ReadonlyMap<string, HeldResource>,
  changed: ReadonlyMap<string, HeldResource>,
  version: string,
  options: Omit<BuildOptions, 'version'> = {},
): { ok: true; set: BuiltSet } | { ok: false; errors: readonly FieldError[] } {
  const rebuilt: Record<string, ClusterConfig> = {};
  const errors: FieldError[] = [];
  const users = edsUsers(base.snapshot.clusters);
  for (const [edsName, cla] of changed) for (const name of users.get(edsName) ?? []) {
    const config = base.snapshot.clusters[name]!;
    const cluster = clusters.get(name);
    if (!cluster) continue;
    const labels = [`Cluster "${name}"`, `ClusterLoadAssignment "${edsName}"`];
    if (cla.assignment !== undefined) {
      // As buildSnapshot joins an EDS cluster and its assignment.
      if (config.registry) errors.push(...labelPaths([{ path: '[1].cluster_name', message: `cluster "${name}" takes its endpoints from the registry, not from a ClusterLoadAssignment` }], labels));
      else rebuilt[name] = Object.freeze({ ...config, loadAssignment: cla.assignment });
      continue;
    }
    const built = buildSnapshot([cluster.json, cla.json], { ...options, version });
    if (!built.ok) {
      errors.push(...labelPaths(built.errors, labels));
      continue;
    }
    rebuilt[name] = built.snapshot.clusters[name]!;
  }
  if (errors.length > 0) return { ok: false, errors };
  // Null-prototype records, as buildSnapshot makes them.
  const merged: Record<string, ClusterConfig> = Object.assign(Object.create(null) as Record<string, ClusterConfig>, base.snapshot.clusters, rebuilt);
  // The same clusters use the same assignments.
  usersByClusters.set(merged, users);
  const nameOf = (r: Json): unknown => r['cluster_name'] ?? r['clusterName'];
  const resources = base.resources.map((r) => {
    if (r['@type'] !== TypeUrl.ClusterLoadAssignment) return r;
    const name = nameOf(r);
    return (typeof name === 'string' && changed.get(name)?.json) || r;
  });
  // The sources of unchanged resources are frozen already and shared; only the changed assignments are new.
  const prior = base.snapshot.sources;
  const sources = prior === undefined
    ? dynamicSources(resources as readonly Readonly<Record<string, unknown>>[])
    : { ...prior, endpoints: prior.endpoints.map((e) => {
      const json = changed.get(e.name)?.json;
      return json === undefined ? e : { ...e, resource: json };
    }) };
  const snapshot = deepFreeze(withSources({ ...base.snapshot, version, clusters: merged }, sources));
  return { ok: true, set: { snapshot, resources } };
}

/** EDS name → the EDS clusters using it, per clusters record of a snapshot (kept across endpoint updates). */
const usersByClusters = new WeakMap<Readonly<Record<string, ClusterConfig>>, ReadonlyMap<string, readonly string[]>>();

/** The EDS clusters of `clusters` by the assignment name they use. */
export function edsUsers(clusters: Readonly<Record<string, ClusterConfig>>): ReadonlyMap<string, readonly string[]> {
  let users = usersByClusters.get(clusters);
  if (users !== undefined) return users;
  const index = new Map<string, string[]>();
  for (const [name, config] of Object.entries(clusters)) {
    if (config.type !== 'EDS') continue;
    const edsName = config.edsServiceName ?? name;
    const list = index.get(edsName);
    if (list === undefined) index.set(edsName, [name]);
    else list.push(name);
  }
  usersByClusters.set(clusters, (users = index));
  return users;
}

/** Replaces each error path's leading `[i]` (an index into the built resource list) with `labels[i]`. */
export function labelPaths(errors: readonly FieldError[], labels: readonly string[]): FieldError[] {
  return errors.map((e) => ({ ...e, path: e.path.replace(/^\[(\d+)\]/, (m, i: string) => labels[Number(i)] ?? m) }));
}
