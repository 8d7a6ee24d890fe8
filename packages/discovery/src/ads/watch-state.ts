/**
 * The resources an ADS client holds, and what follows from them: which names it must watch (listeners
 * asked for → their route configs → the clusters those route to → the EDS names of EDS clusters, and the
 * Secrets their TLS contexts take from the control plane), and
 * whether they form a whole, consistent set. Pure data; the client owns the stream and the timers.
 */
import { TypeUrl } from '@xmesh/xds';
import { adsSecretNames, clusterEdsName, listenerRefs, routeConfigClusters } from './references.js';

type Json = Record<string, unknown>;

export interface HeldResource {
  readonly json: Json;
  /** Delta: the per-resource version; SotW: the response version it came in. */
  readonly version: string;
}

/** Watch order: a type's names depend only on the types before it. */
export const WATCH_ORDER = [TypeUrl.Listener, TypeUrl.RouteConfiguration, TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.Secret] as const;

export interface Wanted {
  /** Per type: the names to subscribe to. */
  readonly names: ReadonlyMap<string, ReadonlySet<string>>;
  /** Types subscribed as wildcard (LDS, CDS when asked). */
  readonly wildcard: ReadonlySet<string>;
}

export interface Assembly {
  /** Wanted names neither received nor known absent yet: the set is not whole, do not apply it. */
  readonly pending: readonly string[];
  /** Resources (proto3 JSON with `@type`) forming the snapshot. */
  readonly resources: readonly Json[];
  /** Listeners left out because something they need does not exist, with the reason. */
  readonly excluded: readonly string[];
}

export class WatchState {
  /** typeUrl → name → resource. */
  readonly held = new Map<string, Map<string, HeldResource>>();
  /** typeUrl → names the server said (or the timeout decided) do not exist. */
  readonly absent = new Map<string, Set<string>>();

  constructor(
    readonly listeners: ReadonlySet<string>,
    readonly wildcard: ReadonlySet<string>,
  ) {}

  of(typeUrl: string): Map<string, HeldResource> {
    let m = this.held.get(typeUrl);
    if (!m) this.held.set(typeUrl, (m = new Map()));
    return m;
  }

  absentOf(typeUrl: string): Set<string> {
    let s = this.absent.get(typeUrl);
    if (!s) this.absent.set(typeUrl, (s = new Set()));
    return s;
  }

  /** A copy sharing resources (they are never mutated), for trying an update before accepting it. */
  clone(): WatchState {
    const copy = new WatchState(this.listeners, this.wildcard);
    for (const [t, m] of this.held) copy.held.set(t, new Map(m));
    for (const [t, s] of this.absent) copy.absent.set(t, new Set(s));
    return copy;
  }

  wanted(): Wanted {
    const names = new Map<string, Set<string>>();
    const listenerNames = new Set(this.listeners);
    const routeNames = new Set<string>();
    const clusterNames = new Set<string>();
    const edsNames = new Set<string>();
    const secretNames = new Set<string>();
    const listeners = this.of(TypeUrl.Listener);
    const selectedListeners = this.wildcard.has(TypeUrl.Listener) ? [...listeners.keys()] : [...listenerNames];
    for (const name of selectedListeners) {
      const l = listeners.get(name);
      if (!l) continue;
      for (const s of adsSecretNames(l.json)) secretNames.add(s);
      const refs = listenerRefs(l.json);
      if (refs.rds) routeNames.add(refs.rds);
      if (refs.inlineRoutes) for (const c of routeConfigClusters(refs.inlineRoutes)) clusterNames.add(c);
    }
    const routes = this.of(TypeUrl.RouteConfiguration);
    for (const name of routeNames) {
      const rc = routes.get(name);
      if (rc) for (const c of routeConfigClusters(rc.json)) clusterNames.add(c);
    }
    const clusters = this.of(TypeUrl.Cluster);
    const selectedClusters = this.wildcard.has(TypeUrl.Cluster) ? new Set([...clusters.keys(), ...clusterNames]) : clusterNames;
    for (const name of selectedClusters) {
      const c = clusters.get(name);
      const eds = c ? clusterEdsName(c.json) : undefined;
      if (eds) edsNames.add(eds);
      if (c) for (const s of adsSecretNames(c.json)) secretNames.add(s);
    }
    names.set(TypeUrl.Listener, listenerNames);
    names.set(TypeUrl.RouteConfiguration, routeNames);
    names.set(TypeUrl.Cluster, clusterNames);
    names.set(TypeUrl.ClusterLoadAssignment, edsNames);
    names.set(TypeUrl.Secret, secretNames);
    return { names, wildcard: this.wildcard };
  }

  /** Drops held resources and absence marks of names no longer wanted (wildcard types keep everything). */
  prune(wanted: Wanted): void {
    for (const typeUrl of WATCH_ORDER) {
      if (wanted.wildcard.has(typeUrl)) continue;
      const keep = wanted.names.get(typeUrl)!;
      for (const name of [...this.of(typeUrl).keys()]) if (!keep.has(name)) this.of(typeUrl).delete(name);
      for (const name of [...this.absentOf(typeUrl)]) if (!keep.has(name)) this.absentOf(typeUrl).delete(name);
    }
  }

  /** The whole set to apply, or what it still waits for. */
  assemble(): Assembly {
    const wanted = this.wanted();
    const pending: string[] = [];
    for (const typeUrl of WATCH_ORDER) {
      const held = this.of(typeUrl);
      const absent = this.absentOf(typeUrl);
      for (const name of wanted.names.get(typeUrl)!) if (!held.has(name) && !absent.has(name)) pending.push(`${short(typeUrl)} "${name}"`);
    }
    if (pending.length > 0) return { pending, resources: [], excluded: [] };

    const resources: Json[] = [];
    const excluded: string[] = [];
    const routes = this.of(TypeUrl.RouteConfiguration);
    const clusters = this.of(TypeUrl.Cluster);
    const usedRoutes = new Set<string>();
    const usedClusters = new Set<string>();
    const listeners = this.of(TypeUrl.Listener);
    const listenerNames = this.wildcard.has(TypeUrl.Listener) ? [...listeners.keys()] : [...this.listeners];
    for (const name of listenerNames) {
      const l = listeners.get(name);
      if (!l) continue;
      const refs = listenerRefs(l.json);
      const rc = refs.rds !== undefined ? routes.get(refs.rds)?.json : refs.inlineRoutes;
      if (refs.rds !== undefined && !rc) {
        excluded.push(`listener "${name}": route configuration "${refs.rds}" does not exist`);
        continue;
      }
      const needed = rc ? routeConfigClusters(rc) : [];
      const missing = needed.filter((c) => !clusters.has(c));
      if (missing.length > 0) {
        excluded.push(`listener "${name}": cluster(s) ${missing.map((m) => `"${m}"`).join(', ')} do not exist`);
        continue;
      }
      resources.push(l.json);
      if (refs.rds !== undefined) usedRoutes.add(refs.rds);
      for (const c of needed) usedClusters.add(c);
    }
    if (this.wildcard.has(TypeUrl.Cluster)) for (const name of clusters.keys()) usedClusters.add(name);
    for (const name of usedRoutes) resources.push(routes.get(name)!.json);
    const assignments = this.of(TypeUrl.ClusterLoadAssignment);
    const usedEds = new Set<string>();
    const secrets = this.of(TypeUrl.Secret);
    const usedSecrets = new Set<string>();
    const useSecrets = (json: Json) => {
      for (const s of adsSecretNames(json)) if (!usedSecrets.has(s) && secrets.has(s)) usedSecrets.add(s);
    };
    for (const json of resources) useSecrets(json);
    for (const name of usedClusters) {
      const c = clusters.get(name)!;
      resources.push(c.json);
      useSecrets(c.json);
      const eds = clusterEdsName(c.json);
      if (eds && !usedEds.has(eds) && assignments.has(eds)) {
        usedEds.add(eds);
        resources.push(assignments.get(eds)!.json);
      }
    }
    for (const name of usedSecrets) resources.push(secrets.get(name)!.json);
    return { pending, resources, excluded };
  }
}

export function short(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
}
