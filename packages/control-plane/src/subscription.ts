/** Which resources of one type a stream asked for: named ones, and/or all of them (wildcard). */
import { TypeUrl } from '@xmesh/xds';
import type { ServedResource, ServedSnapshot } from './resources.js';

/** LDS and CDS accept legacy wildcard (an empty first request); RDS and EDS are always by name. */
export function allowsLegacyWildcard(typeUrl: string): boolean {
  return typeUrl === TypeUrl.Listener || typeUrl === TypeUrl.Cluster;
}

export class Subscription {
  wildcard = false;
  readonly names = new Set<string>();

  /** The resources this subscription selects from `snapshot`, in name order. */
  select(snapshot: ServedSnapshot | undefined, typeUrl: string): ServedResource[] {
    const all = snapshot?.byType.get(typeUrl);
    if (!all) return [];
    const out: ServedResource[] = [];
    if (this.wildcard) {
      for (const r of all.values()) out.push(r);
    } else {
      for (const name of this.names) {
        const r = all.get(name);
        if (r) out.push(r);
      }
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Whether `name` is selected (wildcard, or named). */
  covers(name: string): boolean {
    return this.wildcard || this.names.has(name);
  }
}
