/**
 * One incremental (delta) ADS stream. Per type: the subscription and the version of each resource
 * the client holds (seeded from `initial_resource_versions`); each push sends only the resources whose
 * version differs, and names the ones that went away in `removed_resources`; at most one response per
 * type is on its way (see SessionBase).
 */
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse, WireResource } from '@xmesh/discovery';
import { SessionBase, emptyOutbox, type Outbox, type SendResponse, type SessionHost } from './session.js';
import { Subscription, allowsLegacyWildcard } from './subscription.js';
import { shortType } from './events.js';

interface TypeState {
  readonly subscription: Subscription;
  /** name → version the client holds. */
  readonly known: Map<string, string>;
  lastNonce: string;
  /** `system_version_info` of the response carrying `lastNonce`. */
  lastVersion: string;
  readonly outbox: Outbox;
}

export class DeltaSession extends SessionBase {
  private readonly types = new Map<string, TypeState>();

  constructor(
    streamId: number,
    peer: string,
    host: SessionHost,
    private readonly send: SendResponse<DeltaDiscoveryResponse>,
  ) {
    super(streamId, 'delta', peer, host);
  }

  onRequest(req: DeltaDiscoveryRequest): void {
    this.noteNode(req.node);
    const typeUrl = req.type_url ?? '';
    if (typeUrl === '') return;
    let state = this.types.get(typeUrl);
    const isNew = state === undefined;
    if (!state) {
      this.admitType(typeUrl);
      const initial = Object.entries(req.initial_resource_versions ?? {});
      this.checkNames(typeUrl, initial.length);
      state = { subscription: new Subscription(), known: new Map(initial), lastNonce: '', lastVersion: '', outbox: emptyOutbox() };
      this.types.set(typeUrl, state);
    }
    const nonce = req.response_nonce ?? '';
    if (nonce !== '') {
      if (nonce === state.lastNonce) this.reportAckOrNack(typeUrl, req, nonce, state.lastVersion);
      else this.host.emit('stale-nonce', { ...this.info(), typeUrl, nonce });
    }

    const subscribe = req.resource_names_subscribe ?? [];
    const sub = state.subscription;
    if (isNew && allowsLegacyWildcard(typeUrl) && subscribe.length === 0 && !this.host.namedOnly) sub.wildcard = true;
    for (const name of subscribe) {
      if (name === '*') sub.wildcard = !this.host.namedOnly;
      else sub.names.add(name);
    }
    for (const name of req.resource_names_unsubscribe ?? []) {
      if (name === '*') sub.wildcard = false;
      else sub.names.delete(name);
    }
    this.checkNames(typeUrl, sub.names.size);
    // Resources no longer selected are forgotten: the client dropped them with its unsubscribe.
    for (const name of [...state.known.keys()]) if (!sub.covers(name)) state.known.delete(name);
    this.push(typeUrl, state);
  }

  onSnapshot(): void {
    for (const [typeUrl, state] of this.types) this.push(typeUrl, state);
  }

  /** Sends just the changes among `names` this stream subscribes to. */
  onResourcesChanged(typeUrl: string, names: readonly string[]): void {
    const state = this.types.get(typeUrl);
    if (state === undefined || !names.some((n) => state.subscription.covers(n))) return;
    this.push(typeUrl, state, names);
  }

  private reportAckOrNack(typeUrl: string, req: DeltaDiscoveryRequest, nonce: string, version: string): void {
    const base = { ...this.info(), typeUrl, version, nonce };
    if (req.error_detail) {
      const message = req.error_detail.message ?? '';
      this.host.emit('nack', { ...base, message, code: req.error_detail.code ?? 0 });
      this.host.logger.warn(`NACK ${shortType(typeUrl)} (delta) from node "${this.nodeId}" (stream ${this.streamId}): ${message}`);
    } else {
      this.host.emit('ack', base);
      this.host.logger.info(`ACK ${shortType(typeUrl)} (delta) nonce ${nonce} from node "${this.nodeId}" (stream ${this.streamId})`);
    }
  }

  /**
   * Sends what changed against `known`: new/updated selected resources, and removals of held ones;
   * only among `only` when given (the resources known to have changed).
   */
  private push(typeUrl: string, state: TypeState, only?: readonly string[]): void {
    if (this.deferPush(state.outbox, false)) return;
    const snapshot = this.host.snapshotFor(this.nodeId);
    if (!snapshot) return;
    const all = snapshot.byType.get(typeUrl);
    const changed: WireResource[] = [];
    const changedNames: string[] = [];
    const candidates = only === undefined
      ? state.subscription.select(snapshot, typeUrl)
      : only.filter((n) => state.subscription.covers(n)).map((n) => all?.get(n)).filter((r) => r !== undefined);
    for (const r of candidates) {
      if (state.known.get(r.name) === r.version) continue;
      changed.push({ name: r.name, version: r.version, resource: r.any });
      changedNames.push(r.name);
    }
    const removed: string[] = [];
    for (const name of only ?? state.known.keys()) if (state.known.has(name) && !all?.has(name)) removed.push(name);
    if (changed.length === 0 && removed.length === 0) return;
    for (const r of changed) state.known.set(r.name!, r.version!);
    for (const name of removed) state.known.delete(name);
    const nonce = this.nextNonce();
    state.lastNonce = nonce;
    state.lastVersion = snapshot.version;
    const response: DeltaDiscoveryResponse = { system_version_info: snapshot.version, resources: changed, type_url: typeUrl, removed_resources: removed, nonce };
    this.sendFrom(state.outbox, this.send, response, () => this.push(typeUrl, state));
    this.host.emit('response', { ...this.info(), typeUrl, version: snapshot.version, nonce, resources: changedNames, removed });
  }
}
