import type { Endpoint } from '@xmesh/core';
import { hasUniqueEndpointIds, type LoadAssignment } from '@xmesh/xds';

const EMPTY: readonly Endpoint[] = Object.freeze([]);

/**
 * The flattening of each (frozen) load assignment, made once: a config swap compares the old and new
 * assignments' endpoints (sameSource) and then starts a source on the new ones.
 */
const flattened = new WeakMap<LoadAssignment, readonly Endpoint[]>();

/**
 * The endpoints of a load assignment as one frozen list: localities ordered by priority
 * (stable, so equal priorities keep their configured order), endpoints in configured order.
 * An id listed twice keeps its first entry, so no host gets double traffic. The same list for the
 * same frozen assignment.
 */
export function flattenLoadAssignment(assignment: LoadAssignment | undefined): readonly Endpoint[] {
  if (assignment === undefined || assignment.localities.length === 0) return EMPTY;
  if (!Object.isFrozen(assignment)) return flatten(assignment);
  let endpoints = flattened.get(assignment);
  if (endpoints === undefined) {
    endpoints = flatten(assignment);
    flattened.set(assignment, endpoints);
  }
  return endpoints;
}

function flatten(assignment: LoadAssignment): readonly Endpoint[] {
  const localities = assignment.localities;
  // A decoded assignment was checked to list each id once: its lists are taken as they are.
  const unique = hasUniqueEndpointIds(assignment);
  if (localities.length === 1) {
    const endpoints = localities[0]!.endpoints;
    return unique && Object.isFrozen(endpoints) ? endpoints : uniqueById(endpoints);
  }
  const all = [...localities].sort((a, b) => a.priority - b.priority).flatMap((l) => l.endpoints);
  return unique ? Object.freeze(all) : uniqueById(all);
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
