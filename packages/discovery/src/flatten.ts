import type { Endpoint } from '@xmesh/core';
import type { LoadAssignment } from '@xmesh/xds';

const EMPTY: readonly Endpoint[] = Object.freeze([]);

/**
 * The endpoints of a load assignment as one frozen list: localities ordered by priority
 * (stable, so equal priorities keep their configured order), endpoints in configured order.
 * An id listed twice keeps its first entry, so no host gets double traffic.
 */
export function flattenLoadAssignment(assignment: LoadAssignment | undefined): readonly Endpoint[] {
  if (assignment === undefined || assignment.localities.length === 0) return EMPTY;
  const localities = [...assignment.localities].sort((a, b) => a.priority - b.priority);
  return uniqueById(localities.flatMap((l) => l.endpoints));
}

/** Frozen copy keeping the first endpoint of each id. */
export function uniqueById(endpoints: readonly Endpoint[]): readonly Endpoint[] {
  const seen = new Set<string>();
  const unique: Endpoint[] = [];
  for (const e of endpoints) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    unique.push(e);
  }
  return Object.freeze(unique);
}

/** True when both lists hold the same endpoint ids, in any order. */
export function sameIds(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  const ids = new Set(a.map((e) => e.id));
  return b.every((e) => ids.has(e.id));
}
