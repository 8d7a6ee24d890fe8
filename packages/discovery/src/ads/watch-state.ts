/**
 * The resources an ADS client holds, and what follows from them: which names it must watch (listeners
 * asked for → their route configs → the clusters those route to → the EDS names of EDS clusters, and the
 * Secrets their TLS contexts take from the control plane), and the set to apply. Pure data; the client
 * owns the stream and the timers.
 *
 * Applying follows gRFC A74 per listener (per target): a listener enters the set only with its whole
 * chain — its route configuration and its Secrets, and for every cluster it routes to either the cluster
 * with its endpoints and Secrets, or the knowledge that the cluster does not exist. While a listener's new
 * chain is not whole (a new route configuration naming a cluster not received yet, say), its last whole
 * chain stays in the set, and other listeners are not held back. A cluster whose new version waits for
 * its new endpoints or Secrets stays in its last whole form meanwhile. A cluster that does not exist, or
 * one whose Secret does not exist, is left out: only the calls routed to it fail (gRFC A53), and never
 * in plaintext.
 */
import { TypeUrl, type LoadAssignment } from '@xmesh/xds';
import { adsSecretNames, clusterEdsName, listenerRefs, routeConfigClusters } from './references.js';

type Json = Record<string, unknown>;

export interface HeldResource {
  readonly json: Json;
  /** Delta: the per-resource version; SotW: the response version it came in. */
  readonly version: string;
  /** A ClusterLoadAssignment as decoded when it was validated. */
  readonly assignment?: LoadAssignment;
}

/** Watch order: a type's names depend only on the types before it. */
export const WATCH_ORDER = [TypeUrl.Listener, TypeUrl.RouteConfiguration, TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.Secret] as const;

export interface Wanted {
  /** Per type: the names to subscribe to. */
  readonly names: ReadonlyMap<string, ReadonlySet<string>>;
  /** Types subscribed as wildcard (LDS, CDS when asked). */
  readonly wildcard: ReadonlySet<string>;
}

/** Where a listener (a target) stands. */
export type ListenerStatus =
  /** In the set: its whole chain, or its last whole chain while a newer one is incomplete. */
  | { readonly state: 'ready' }
  /** Asked for; it or a resource of its chain has not come yet, and it was never whole. */
  | { readonly state: 'pending'; readonly waitingFor: readonly string[] }
  /** It, or the route configuration it names, does not exist: calls for it fail. */
  | { readonly state: 'absent'; readonly reason: string };

export interface Assembly {
  /** Resources (proto3 JSON with `@type`) forming the snapshot. */
  readonly resources: readonly Json[];
  /** Every listener asked for (or held, with wildcard LDS), with its status. */
  readonly listeners: ReadonlyMap<string, ListenerStatus>;
  /** Listeners served from their last whole chain because the new one is not whole yet. */
  readonly stale: readonly string[];
}

/** A cluster in its last whole form: the Cluster, for EDS its endpoints (undefined: none exist), and the Secrets it takes over ADS. */
interface SettledCluster {
  readonly cluster: Json;
  readonly endpoints: Json | undefined;
  readonly secrets: readonly Json[];
}

/** A listener's last whole chain: the clusters are resolved through the settled clusters when applied. */
interface ListenerChain {
  readonly listener: Json;
  /** Its RDS route configuration; undefined for inline routes (they are in the listener). */
  readonly routes: Json | undefined;
  readonly clusters: readonly string[];
  /** The Secrets the listener itself takes over ADS (downstream TLS). */
  readonly secrets: readonly Json[];
}

export class WatchState {
  /** typeUrl → name → resource. */
  readonly held = new Map<string, Map<string, HeldResource>>();
  /**
   * typeUrl → the names known not to be usable, each with why: the server deleted it or left it out of a
   * state-of-the-world response, its does-not-exist timer fired, or its only version was invalid.
   */
  readonly absent = new Map<string, Map<string, string>>();
  /** Per listener, its last whole chain (gRFC A74). */
  private readonly chains = new Map<string, ListenerChain>();
  /** Per cluster, its last whole form. */
  private readonly settled = new Map<string, SettledCluster>();
  /** Held clusters that cannot be used, with why: a Secret they take over ADS does not exist. */
  private readonly unusable = new Map<string, string>();

  /**
   * @param listeners the listener names asked for (grows as targets are used)
   * @param wildcard the types subscribed as wildcard
   */
  constructor(
    readonly listeners: Set<string>,
    readonly wildcard: ReadonlySet<string>,
  ) {}

  of(typeUrl: string): Map<string, HeldResource> {
    let m = this.held.get(typeUrl);
    if (!m) this.held.set(typeUrl, (m = new Map()));
    return m;
  }

  absentOf(typeUrl: string): Map<string, string> {
    let s = this.absent.get(typeUrl);
    if (!s) this.absent.set(typeUrl, (s = new Map()));
    return s;
  }

  /** A copy sharing resources (they are never mutated), for trying an update before accepting it. */
  clone(): WatchState {
    const copy = new WatchState(new Set(this.listeners), this.wildcard);
    for (const [t, m] of this.held) copy.held.set(t, new Map(m));
    for (const [t, s] of this.absent) copy.absent.set(t, new Map(s));
    for (const [k, v] of this.chains) copy.chains.set(k, v);
    for (const [k, v] of this.settled) copy.settled.set(k, v);
    for (const [k, v] of this.unusable) copy.unusable.set(k, v);
    return copy;
  }

  /** The listeners whose chains are followed: those asked for, and with wildcard LDS every one held. */
  selectedListeners(): string[] {
    if (!this.wildcard.has(TypeUrl.Listener)) return [...this.listeners];
    return [...new Set([...this.listeners, ...this.of(TypeUrl.Listener).keys()])];
  }

  wanted(): Wanted {
    const names = new Map<string, Set<string>>();
    const routeNames = new Set<string>();
    const clusterNames = new Set<string>();
    const edsNames = new Set<string>();
    const secretNames = new Set<string>();
    const listeners = this.of(TypeUrl.Listener);
    for (const name of this.selectedListeners()) {
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
    names.set(TypeUrl.Listener, new Set(this.listeners));
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
      for (const name of [...this.absentOf(typeUrl).keys()]) if (!keep.has(name)) this.absentOf(typeUrl).delete(name);
    }
  }

  /** The set to apply now, per listener (see the file comment); records the chains and clusters that are whole. */
  assemble(): Assembly {
    this.settleClusters();
    const statuses = new Map<string, ListenerStatus>();
    const stale: string[] = [];
    const listenerJson: Json[] = [];
    const routeJson = new Map<string, Json>();
    const usedClusters = new Set<string>();
    const appliedSecrets: Json[] = [];
    for (const name of this.selectedListeners()) {
      const chain = this.chainOf(name);
      let applied: ListenerChain | undefined;
      if ('absent' in chain) {
        this.chains.delete(name);
        statuses.set(name, { state: 'absent', reason: chain.absent });
        continue;
      } else if ('pending' in chain) {
        applied = this.chains.get(name);
        if (applied === undefined) {
          statuses.set(name, { state: 'pending', waitingFor: chain.pending });
          continue;
        }
        stale.push(name);
      } else {
        applied = chain.whole;
        this.chains.set(name, applied);
      }
      statuses.set(name, { state: 'ready' });
      listenerJson.push(applied.listener);
      if (applied.routes !== undefined) routeJson.set(String(nameField(applied.routes)), applied.routes);
      for (const c of applied.clusters) usedClusters.add(c);
      appliedSecrets.push(...applied.secrets);
    }
    for (const name of [...this.chains.keys()]) if (!statuses.has(name)) this.chains.delete(name);
    if (this.wildcard.has(TypeUrl.Cluster)) for (const name of this.of(TypeUrl.Cluster).keys()) usedClusters.add(name);

    const resources: Json[] = [...listenerJson, ...routeJson.values()];
    const usedEds = new Set<string>();
    // The Secrets the applied chains and clusters name: the version held now (a rotation applies at once),
    // or, for a form kept while its new one is incomplete, the one it was whole with if no longer held.
    const heldSecrets = this.of(TypeUrl.Secret);
    const usedSecrets = new Map<string, Json>();
    const useSecret = (json: Json) => {
      const key = String(nameField(json));
      if (!usedSecrets.has(key)) usedSecrets.set(key, heldSecrets.get(key)?.json ?? json);
    };
    for (const secret of appliedSecrets) useSecret(secret);
    for (const name of usedClusters) {
      const entry = this.settled.get(name);
      if (entry === undefined) continue; // does not exist (or its Secret does not): calls routed to it fail
      resources.push(entry.cluster);
      for (const secret of entry.secrets) useSecret(secret);
      const eds = entry.endpoints === undefined ? undefined : String(nameField(entry.endpoints));
      if (eds !== undefined && !usedEds.has(eds)) {
        usedEds.add(eds);
        resources.push(entry.endpoints!);
      }
    }
    resources.push(...usedSecrets.values());
    // A settled form is kept while it is in the set, or while its cluster is still held.
    const clusters = this.of(TypeUrl.Cluster);
    for (const name of [...this.settled.keys()]) if (!usedClusters.has(name) && !clusters.has(name)) this.settled.delete(name);
    return { resources, listeners: statuses, stale };
  }

  /**
   * Records the current form of every held cluster whose endpoints are known (received, or known not to
   * exist) and whose Secrets have all come; one whose Secret does not exist is unusable.
   */
  private settleClusters(): void {
    const assignments = this.of(TypeUrl.ClusterLoadAssignment);
    const absentAssignments = this.absentOf(TypeUrl.ClusterLoadAssignment);
    this.unusable.clear();
    for (const [name, held] of this.of(TypeUrl.Cluster)) {
      const eds = clusterEdsName(held.json);
      let endpoints: Json | undefined;
      if (eds !== undefined && assignments.has(eds)) endpoints = assignments.get(eds)!.json;
      else if (eds !== undefined && !absentAssignments.has(eds)) continue; // endpoints on their way
      const secrets = this.secretsOf(held.json);
      if ('pending' in secrets) continue;
      if ('absent' in secrets) {
        this.settled.delete(name);
        this.unusable.set(name, secrets.absent);
        continue;
      }
      this.settled.set(name, { cluster: held.json, endpoints, secrets: secrets.held });
    }
    for (const name of this.absentOf(TypeUrl.Cluster).keys()) this.settled.delete(name);
  }

  /** The Secrets a cluster or listener takes over ADS: all held, some still on their way, or one that does not exist. */
  private secretsOf(json: Json): { held: Json[] } | { pending: string[] } | { absent: string } {
    const held = this.of(TypeUrl.Secret);
    const absent = this.absentOf(TypeUrl.Secret);
    const out: Json[] = [];
    const pending: string[] = [];
    for (const name of adsSecretNames(json)) {
      const secret = held.get(name);
      if (secret !== undefined) {
        out.push(secret.json);
        continue;
      }
      const why = absent.get(name);
      if (why !== undefined) return { absent: `Secret "${name}" ${why}` };
      pending.push(`Secret "${name}"`);
    }
    return pending.length > 0 ? { pending } : { held: out };
  }

  /** A listener's chain as the held resources give it: whole, waiting for something, or failed. */
  private chainOf(name: string): { whole: ListenerChain } | { pending: string[] } | { absent: string } {
    const l = this.of(TypeUrl.Listener).get(name);
    if (!l) {
      const why = this.absentOf(TypeUrl.Listener).get(name);
      return why !== undefined ? { absent: `Listener "${name}" ${why}` } : { pending: [`Listener "${name}"`] };
    }
    const secrets = this.secretsOf(l.json);
    if ('absent' in secrets) return { absent: `${secrets.absent} (named by listener "${name}")` };
    const refs = listenerRefs(l.json);
    let routes: Json | undefined;
    if (refs.rds !== undefined) {
      routes = this.of(TypeUrl.RouteConfiguration).get(refs.rds)?.json;
      if (routes === undefined) {
        const why = this.absentOf(TypeUrl.RouteConfiguration).get(refs.rds);
        return why !== undefined ? { absent: `RouteConfiguration "${refs.rds}" of listener "${name}" ${why}` } : { pending: [`RouteConfiguration "${refs.rds}"`, ...('pending' in secrets ? secrets.pending : [])] };
      }
    }
    const clusters = routeConfigClusters(routes ?? refs.inlineRoutes ?? {});
    const absentClusters = this.absentOf(TypeUrl.Cluster);
    const pending = [
      ...('pending' in secrets ? secrets.pending : []),
      ...clusters.filter((c) => !absentClusters.has(c) && !this.unusable.has(c) && !this.settled.has(c)).map((c) => `Cluster "${c}" (or its endpoints or Secrets)`),
    ];
    if ('pending' in secrets || pending.length > 0) return { pending };
    return { whole: { listener: l.json, routes, clusters, secrets: secrets.held } };
  }
}

function nameField(json: Json): unknown {
  return json['name'] ?? json['cluster_name'] ?? json['clusterName'];
}

export function short(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
}
