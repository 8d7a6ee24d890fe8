/**
 * The upstream TLS contexts of one mesh, one per cluster `transport_socket` and per TLS `transport_socket_matches`
 * entry, kept across config swaps while their config is unchanged (so their connections are too). Applying a
 * snapshot is two-phase: `prepare` resolves every context's certificates (a problem refuses the snapshot, the
 * running contexts untouched); `commit` makes them current. When a watched secret changes, every context refreshes.
 */
import type { Endpoint, FieldError } from '@xmesh/core';
import type { StatScope } from '@xmesh/stats';
import { TRANSPORT_SOCKET_MATCH_KEY, type ClusterConfig, type Dict, type MeshSnapshot, type UpstreamTlsConfig } from '@xmesh/xds';
import { configKey } from './config-key.js';
import { ClientTls } from './client-tls.js';
import type { TlsSecrets } from './secrets.js';
import { SslStats } from './ssl-stats.js';

/** How one cluster secures its connections, per endpoint. */
export class ClusterTls {
  private readonly byEndpoint = new WeakMap<Endpoint, ClientTls | null>();

  constructor(
    /** `transport_socket`: endpoints no match selects; undefined = plaintext. */
    readonly fallback: ClientTls | undefined,
    readonly matches: readonly { readonly match: Dict<unknown>; readonly tls: ClientTls | undefined }[],
  ) {}

  /** The TLS context of connections to `endpoint`; undefined = plaintext. Cached per endpoint object. */
  forEndpoint(endpoint: Endpoint): ClientTls | undefined {
    if (this.matches.length === 0) return this.fallback;
    const cached = this.byEndpoint.get(endpoint);
    if (cached !== undefined) return cached ?? undefined;
    const labels = endpoint.metadata[TRANSPORT_SOCKET_MATCH_KEY];
    const found = this.matches.find((m) => matches(m.match, labels));
    const tls = found === undefined ? this.fallback : found.tls;
    this.byEndpoint.set(endpoint, tls ?? null);
    return tls;
  }

  /**
   * The context a health check with `transport_socket_match_criteria` uses: the first
   * `transport_socket_matches` entry the criteria match, as if they were an endpoint's labels.
   */
  forMatchCriteria(criteria: Dict<unknown>): ClientTls | undefined {
    const found = this.matches.find((m) => matches(m.match, criteria));
    return found === undefined ? this.fallback : found.tls;
  }

  /** Every context this cluster uses. */
  contexts(): ClientTls[] {
    const all = [this.fallback, ...this.matches.map((m) => m.tls)];
    return all.filter((c, i): c is ClientTls => c !== undefined && all.indexOf(c) === i);
  }
}

export type Prepared =
  | { readonly ok: true; commit(): ReadonlyMap<string, ClusterTls>; abort(): void }
  | { readonly ok: false; readonly errors: readonly FieldError[] };

export class UpstreamTlsContexts {
  private current = new Map<string, ClientTls>();
  private clusters: ReadonlyMap<string, ClusterTls> = new Map();
  /** The secrets of the last committed snapshot, restored when a prepared one is refused. */
  private readonly unsubscribe: () => void;

  constructor(
    private readonly secrets: TlsSecrets,
    /** `cluster.<name>.` stats scope. */
    private readonly statsOf: (cluster: string) => StatScope,
    /** A refresh after a secret changed failed: the last good certificates stay in use. */
    private readonly onRefreshError: (errors: readonly FieldError[]) => void = () => undefined,
  ) {
    this.unsubscribe = secrets.onChange(() => this.refreshAll());
  }

  /** The committed per-cluster TLS, by cluster name (clusters without TLS are absent). */
  get byCluster(): ReadonlyMap<string, ClusterTls> {
    return this.clusters;
  }

  /** Resolves the TLS of every cluster of `snapshot` without touching the running contexts. */
  prepare(snapshot: MeshSnapshot): Prepared {
    this.secrets.setSnapshotSecrets(snapshot.secrets);
    // Most snapshots change endpoints or routes only: kept contexts re-resolve only when the secrets changed
    // (watched sources refresh on their own).
    const secretsKey = configKey(snapshot.secrets ?? {});
    const restage = secretsKey !== this.committedSecretsKey;
    const errors: FieldError[] = [];
    const next = new Map<string, ClientTls>();
    /** Kept contexts and the material they switch to at commit. */
    const staged: (() => void)[] = [];
    const clusters = new Map<string, ClusterTls>();
    const contextFor = (cluster: ClusterConfig, config: UpstreamTlsConfig, where: string): ClientTls | undefined => {
      const key = `${cluster.name}\u0000${where}\u0000${configKey(config)}`;
      const kept = next.get(key) ?? this.current.get(key);
      if (kept !== undefined) {
        const stage = restage ? kept.stage() : undefined;
        if (Array.isArray(stage)) errors.push(...stage);
        else staged.push(stage ?? (() => undefined), () => (kept.handshakeTimeoutMs = cluster.connectTimeoutMs));
        next.set(key, kept);
        return kept;
      }
      const created = ClientTls.create(config, where, this.secrets, new SslStats(this.statsOf(cluster.name)));
      if (Array.isArray(created)) {
        errors.push(...created);
        return undefined;
      }
      created.handshakeTimeoutMs = cluster.connectTimeoutMs;
      next.set(key, created);
      return created;
    };
    for (const [name, cluster] of Object.entries(snapshot.clusters)) {
      const path = `clusters["${name}"]`;
      const fallback = cluster.tls === undefined ? undefined : contextFor(cluster, cluster.tls, `${path}.transport_socket`);
      const matches = (cluster.transportSocketMatches ?? []).map((m, i) => ({
        match: m.match,
        tls: m.tls === undefined ? undefined : contextFor(cluster, m.tls, `${path}.transport_socket_matches[${i}].transport_socket`),
      }));
      if (fallback !== undefined || matches.some((m) => m.tls !== undefined)) clusters.set(name, new ClusterTls(fallback, matches));
    }
    if (errors.length > 0) {
      this.secrets.setSnapshotSecrets(this.committedSecrets);
      return { ok: false, errors };
    }
    return {
      ok: true,
      commit: () => {
        for (const apply of staged) apply();
        this.current = next;
        this.clusters = clusters;
        this.committedSecrets = snapshot.secrets;
        this.committedSecretsKey = secretsKey;
        return clusters;
      },
      abort: () => this.secrets.setSnapshotSecrets(this.committedSecrets),
    };
  }

  private committedSecrets: MeshSnapshot['secrets'] = undefined;
  private committedSecretsKey = configKey({});

  /** Re-resolves every context (a watched secret changed); failures keep the last good material. */
  refreshAll(): void {
    const errors: FieldError[] = [];
    for (const context of this.current.values()) errors.push(...context.refresh());
    if (errors.length > 0) this.onRefreshError(errors);
  }

  close(): void {
    this.unsubscribe();
  }
}

/** True when every key of `match` has an equal value in `labels` (an empty match selects every endpoint). */
function matches(match: Dict<unknown>, labels: unknown): boolean {
  const keys = Object.keys(match);
  if (keys.length === 0) return true;
  if (typeof labels !== 'object' || labels === null) return false;
  const record = labels as Record<string, unknown>;
  return keys.every((k) => Object.hasOwn(record, k) && JSON.stringify(record[k]) === JSON.stringify(match[k]));
}
