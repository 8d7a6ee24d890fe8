/**
 * One state-of-the-world ADS stream. Per type: the subscription, the last nonce sent (requests with
 * another non-empty nonce are stale and ignored), and the content last sent, so a new snapshot is
 * pushed only for the types whose selected resources changed; at most one response per type is on its
 * way (see SessionBase).
 */
import type { DiscoveryRequest, DiscoveryResponse } from '@xmesh/discovery';
import { SessionBase, emptyOutbox, type Outbox, type SendResponse, type SessionHost } from './session.js';
import { Subscription, allowsLegacyWildcard } from './subscription.js';
import { shortType } from './events.js';

interface TypeState {
  readonly subscription: Subscription;
  lastNonce: string;
  /** `name@version,...` of the last response; undefined before the first. */
  lastSentKey: string | undefined;
  ackedVersion: string;
  readonly outbox: Outbox;
}

export class SotwSession extends SessionBase {
  private readonly types = new Map<string, TypeState>();

  constructor(
    streamId: number,
    peer: string,
    host: SessionHost,
    private readonly send: SendResponse<DiscoveryResponse>,
  ) {
    super(streamId, 'sotw', peer, host);
  }

  onRequest(req: DiscoveryRequest): void {
    this.noteNode(req.node);
    const typeUrl = req.type_url ?? '';
    if (typeUrl === '') return;
    const nonce = req.response_nonce ?? '';
    let state = this.types.get(typeUrl);
    const isNew = state === undefined;
    if (!state) {
      this.admitType(typeUrl);
      state = { subscription: new Subscription(), lastNonce: '', lastSentKey: undefined, ackedVersion: '', outbox: emptyOutbox() };
      this.types.set(typeUrl, state);
    }
    // A type's first request on this stream may carry a nonce from an earlier server: not stale, just unknown.
    if (!isNew && nonce !== '' && nonce !== state.lastNonce) {
      this.host.emit('stale-nonce', { ...this.info(), typeUrl, nonce });
      return;
    }
    if (!isNew && nonce !== '') this.reportAckOrNack(typeUrl, state, req, nonce);

    const changed = this.updateSubscription(state.subscription, typeUrl, req.resource_names ?? [], isNew);
    this.checkNames(typeUrl, state.subscription.names.size);
    this.push(typeUrl, state, isNew || changed);
  }

  onSnapshot(): void {
    for (const [typeUrl, state] of this.types) this.push(typeUrl, state, false);
  }

  /**
   * LDS and CDS responses carry the whole subscribed set; other types only the changed resources
   * this stream subscribes to (the protocol lets RDS and EDS responses omit unchanged ones).
   */
  onResourcesChanged(typeUrl: string, names: readonly string[]): void {
    const state = this.types.get(typeUrl);
    if (state === undefined || !names.some((n) => state.subscription.covers(n))) return;
    if (allowsLegacyWildcard(typeUrl)) {
      this.push(typeUrl, state, false);
      return;
    }
    // The client now holds a mix of responses: the next whole-set push resends the whole set (a push deferred
    // behind a response still being written is one, and covers these changes).
    state.lastSentKey = undefined;
    if (this.deferPush(state.outbox, false)) return;
    const snapshot = this.host.snapshotFor(this.nodeId);
    const all = snapshot?.byType.get(typeUrl);
    if (!snapshot || !all) return;
    const selected = names.filter((n) => state.subscription.covers(n)).map((n) => all.get(n)).filter((r) => r !== undefined);
    if (selected.length === 0) return;
    const nonce = this.nextNonce();
    state.lastNonce = nonce;
    const response: DiscoveryResponse = { version_info: snapshot.version, resources: selected.map((r) => r.any), type_url: typeUrl, nonce, control_plane: { identifier: this.host.identifier } };
    this.sendFrom(state.outbox, this.send, response, (deferredForce) => this.push(typeUrl, state, deferredForce));
    this.host.emit('response', { ...this.info(), typeUrl, version: snapshot.version, nonce, resources: selected.map((r) => r.name), removed: [] });
  }

  private reportAckOrNack(typeUrl: string, state: TypeState, req: DiscoveryRequest, nonce: string): void {
    const version = req.version_info ?? '';
    const base = { ...this.info(), typeUrl, version, nonce };
    if (req.error_detail) {
      const message = req.error_detail.message ?? '';
      this.host.emit('nack', { ...base, message, code: req.error_detail.code ?? 0 });
      this.host.logger.warn(`NACK ${shortType(typeUrl)} from node "${this.nodeId}" (stream ${this.streamId}), still on version "${version}": ${message}`);
    } else {
      state.ackedVersion = version;
      this.host.emit('ack', base);
      this.host.logger.info(`ACK ${shortType(typeUrl)} version "${version}" from node "${this.nodeId}" (stream ${this.streamId})`);
    }
  }

  /** Applies the request's resource names; returns whether the subscription changed. */
  private updateSubscription(sub: Subscription, typeUrl: string, names: readonly string[], isNew: boolean): boolean {
    const explicitWildcard = names.includes('*');
    const wildcard = !this.host.namedOnly && (explicitWildcard || (allowsLegacyWildcard(typeUrl) && names.length === 0 && (isNew || sub.wildcard)));
    const named = names.filter((n) => n !== '*');
    let changed = wildcard !== sub.wildcard || named.length !== sub.names.size;
    if (!changed) for (const n of named) if (!sub.names.has(n)) changed = true;
    if (changed) {
      sub.wildcard = wildcard;
      sub.names.clear();
      for (const n of named) sub.names.add(n);
    }
    return changed;
  }

  /** Sends the selected resources when forced (new or changed subscription) or when they differ from the last response. */
  private push(typeUrl: string, state: TypeState, force: boolean): void {
    if (this.deferPush(state.outbox, force)) return;
    const snapshot = this.host.snapshotFor(this.nodeId);
    if (!snapshot) return;
    // A named-only server does not answer a request that names nothing (a wildcard one).
    if (this.host.namedOnly && state.subscription.names.size === 0) return;
    const selected = state.subscription.select(snapshot, typeUrl);
    const key = selected.map((r) => `${r.name}@${r.version}`).join(',');
    if (!force && key === state.lastSentKey) return;
    const nonce = this.nextNonce();
    state.lastNonce = nonce;
    state.lastSentKey = key;
    const response: DiscoveryResponse = {
      version_info: snapshot.version,
      resources: selected.map((r) => r.any),
      type_url: typeUrl,
      nonce,
      control_plane: { identifier: this.host.identifier },
    };
    this.sendFrom(state.outbox, this.send, response, (deferredForce) => this.push(typeUrl, state, deferredForce));
    this.host.emit('response', {
      ...this.info(), typeUrl, version: snapshot.version, nonce, resources: selected.map((r) => r.name), removed: [],
    });
  }
}
