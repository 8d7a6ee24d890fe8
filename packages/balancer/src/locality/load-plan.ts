/**
 * Envoy's host-set arithmetic, done once per endpoint update: which endpoints take what share of
 * the traffic. Produces weighted buckets, one per (priority, healthy|degraded|panic, locality).
 *
 * - Per priority P: health = min(100, overprovisioning × healthy / total), degraded likewise.
 *   Healthy load is handed out from priority 0 down, each level taking up to its health scaled by
 *   the total availability (capped at 100); what healthy hosts cannot take goes to degraded ones.
 * - A level whose (healthy + degraded) share is below `panicThreshold` percent is in panic: its
 *   load goes to all of its hosts. With no availability anywhere, all traffic goes to priority 0
 *   in panic (threshold 0 disables panic, and then such a cluster has no bucket).
 * - With `localityWeighted`, a level's load is split over its localities by
 *   locality weight × min(1, overprovisioning × healthy / total) in that locality; a locality
 *   without a weight gets nothing.
 * - UNHEALTHY, DRAINING, TIMEOUT and excluded (ejected) endpoints are counted in totals but never
 *   healthy; DEGRADED ones take only degraded load.
 */
import { isServing, type Endpoint } from '@xmesh/core';

export interface LoadPlanOptions {
  /** Percent; Envoy's default 140. */
  readonly overprovisioningFactor: number;
  /** Percent; 0 disables panic mode. */
  readonly panicThreshold: number;
  readonly localityWeighted: boolean;
}

export interface Bucket {
  readonly endpoints: readonly Endpoint[];
  /** Share of the traffic, > 0; buckets' weights sum to 100 (up to rounding). */
  readonly weight: number;
  readonly priority: number;
}

interface Level {
  readonly priority: number;
  readonly all: Endpoint[];
  readonly healthy: Endpoint[];
  readonly degraded: Endpoint[];
}

export function planLoad(endpoints: readonly Endpoint[], excluded: ReadonlySet<string>, options: LoadPlanOptions): Bucket[] {
  const levels = groupByPriority(endpoints, excluded);
  if (levels.length === 0) return [];
  const factor = options.overprovisioningFactor / 100;
  const health = levels.map((l) => Math.min(100, (factor * 100 * l.healthy.length) / l.all.length));
  const degradedHealth = levels.map((l) => Math.min(100, (factor * 100 * l.degraded.length) / l.all.length));
  const availability = Math.min(100, health.reduce((a, b) => a + b, 0) + degradedHealth.reduce((a, b) => a + b, 0));

  if (availability === 0) {
    const first = levels[0]!;
    return options.panicThreshold > 0 ? split(first.all, 100, first.priority, options, factor, 'all') : [];
  }

  let remaining = 100;
  const healthyLoad = health.map((h) => {
    const load = Math.min(remaining, (h * 100) / availability);
    remaining -= load;
    return load;
  });
  const degradedLoad = degradedHealth.map((h) => {
    const load = Math.min(remaining, (h * 100) / availability);
    remaining -= load;
    return load;
  });

  const buckets: Bucket[] = [];
  levels.forEach((level, i) => {
    const hLoad = healthyLoad[i]!;
    const dLoad = degradedLoad[i]!;
    if (hLoad + dLoad <= 0) return;
    const servingPercent = ((level.healthy.length + level.degraded.length) * 100) / level.all.length;
    if (servingPercent < options.panicThreshold) {
      buckets.push(...split(level.all, hLoad + dLoad, level.priority, options, factor, 'all'));
      return;
    }
    if (hLoad > 0) buckets.push(...split(level.healthy, hLoad, level.priority, options, factor, 'healthy', level.all));
    if (dLoad > 0) buckets.push(...split(level.degraded, dLoad, level.priority, options, factor, 'degraded', level.all));
  });
  return buckets;
}

function groupByPriority(endpoints: readonly Endpoint[], excluded: ReadonlySet<string>): Level[] {
  const byPriority = new Map<number, Level>();
  for (const e of endpoints) {
    let level = byPriority.get(e.priority);
    if (!level) {
      level = { priority: e.priority, all: [], healthy: [], degraded: [] };
      byPriority.set(e.priority, level);
    }
    level.all.push(e);
    if (excluded.has(e.id)) continue;
    if (isServing(e.healthStatus)) level.healthy.push(e);
    else if (e.healthStatus === 'DEGRADED') level.degraded.push(e);
  }
  return [...byPriority.values()].sort((a, b) => a.priority - b.priority);
}

/** One bucket for `chosen`, or one per locality under locality-weighted LB. */
function split(
  chosen: readonly Endpoint[],
  load: number,
  priority: number,
  options: LoadPlanOptions,
  factor: number,
  kind: 'healthy' | 'degraded' | 'all',
  all: readonly Endpoint[] = chosen,
): Bucket[] {
  if (!options.localityWeighted) return chosen.length === 0 ? [] : [{ endpoints: chosen, weight: load, priority }];
  const totals = new Map<string, number>();
  for (const e of all) totals.set(localityKey(e), (totals.get(localityKey(e)) ?? 0) + 1);
  const groups = new Map<string, Endpoint[]>();
  for (const e of chosen) {
    const key = localityKey(e);
    const group = groups.get(key);
    if (group) group.push(e);
    else groups.set(key, [e]);
  }
  const weighted: { endpoints: Endpoint[]; effective: number }[] = [];
  for (const [key, group] of groups) {
    const localityWeight = group[0]!.localityWeight ?? 0;
    const availability = kind === 'all' ? 1 : Math.min(1, (factor * group.length) / totals.get(key)!);
    const effective = localityWeight * availability;
    if (effective > 0) weighted.push({ endpoints: group, effective });
  }
  const sum = weighted.reduce((a, w) => a + w.effective, 0);
  return weighted.map((w) => ({ endpoints: w.endpoints, weight: (load * w.effective) / sum, priority }));
}

function localityKey(e: Endpoint): string {
  return `${e.locality.region}/${e.locality.zone}/${e.locality.subZone}`;
}
