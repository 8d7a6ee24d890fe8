/** What a stream session needs from the server that owns it, and what every session holds to. */
import type { WireNode } from '@xmesh/discovery';
import type { ControlPlaneEvents, ControlPlaneLogger, StreamInfo, StreamMode } from './events.js';
import type { ServedSnapshot } from './resources.js';

export interface SessionHost {
  /** The snapshot for a node id: its own, else the default one, else undefined (nothing to serve yet). */
  snapshotFor(nodeId: string): ServedSnapshot | undefined;
  emit<K extends keyof ControlPlaneEvents>(event: K, ...args: ControlPlaneEvents[K]): void;
  readonly logger: ControlPlaneLogger;
  readonly identifier: string;
  /** Wildcard subscriptions get nothing (see ControlPlaneOptions.namedOnly). */
  readonly namedOnly: boolean;
}

/**
 * Writes one response to the stream; `written` runs once it has left for the client (after HTTP/2 flow
 * control let it go), never if the stream ended first.
 */
export type SendResponse<Res> = (response: Res, written: () => void) => void;

/** Resource types one stream may ask for: the four xDS types, and room for others (SDS, RTDS) a proxy asks for. */
export const MAX_TYPES_PER_STREAM = 16;
/** Resource names one stream may be subscribed to, per type. */
export const MAX_NAMES_PER_TYPE = 100_000;

/** Thrown by `onRequest` when a client asks for more than a stream may hold; the server ends the stream (RESOURCE_EXHAUSTED). */
export class StreamRefused extends Error {}

/** Per type: whether a response is being written, and whether a push waits for it. */
export interface Outbox {
  writing: boolean;
  /** undefined: nothing deferred; otherwise the deferred push's `force`. */
  deferred: boolean | undefined;
}

export function emptyOutbox(): Outbox {
  return { writing: false, deferred: undefined };
}

/**
 * State shared by both session kinds: identity, node, nonces, and the rule that bounds what a slow
 * client can cost: per type, at most one response is on its way; a push while it is still being
 * written is deferred and made, from the state of that moment, once it has left.
 */
export abstract class SessionBase {
  nodeId = '';
  node: WireNode | undefined;
  /** Set when the stream ended: nothing more is sent. */
  closed = false;
  private nonceCounter = 0;
  private typeCount = 0;

  constructor(
    readonly streamId: number,
    readonly mode: StreamMode,
    readonly peer: string,
    protected readonly host: SessionHost,
  ) {}

  info(): StreamInfo {
    return { streamId: this.streamId, mode: this.mode, nodeId: this.nodeId, peer: this.peer };
  }

  /** Records the node from the first request that carries one; later ones are ignored (only the first is guaranteed). */
  protected noteNode(node: WireNode | undefined): boolean {
    if (this.node || !node) return false;
    this.node = node;
    this.nodeId = node.id ?? '';
    this.host.emit('stream-open', { ...this.info(), node });
    this.host.logger.info(`stream ${this.streamId} (${this.mode}) from node "${this.nodeId}" at ${this.peer}`);
    return true;
  }

  protected nextNonce(): string {
    this.nonceCounter += 1;
    return String(this.nonceCounter);
  }

  /** Call before keeping state for a type this stream has not asked for yet. */
  protected admitType(typeUrl: string): void {
    if (++this.typeCount > MAX_TYPES_PER_STREAM) throw new StreamRefused(`more than ${MAX_TYPES_PER_STREAM} resource types on one stream (at ${JSON.stringify(typeUrl.slice(0, 100))})`);
  }

  /** Call after a subscription changed. */
  protected checkNames(typeUrl: string, count: number): void {
    if (count > MAX_NAMES_PER_TYPE) throw new StreamRefused(`more than ${MAX_NAMES_PER_TYPE} resource names of ${typeUrl} on one stream`);
  }

  /**
   * True when a push for this outbox must not happen now: the stream ended, or the type's last response
   * is still being written (the push is then remembered, `force` merged, and made once it has left).
   */
  protected deferPush(outbox: Outbox, force: boolean): boolean {
    if (this.closed) return true;
    if (!outbox.writing) return false;
    outbox.deferred = (outbox.deferred ?? false) || force;
    return true;
  }

  /** Sends `response`; when it has left, runs the push deferred meanwhile, if any, through `resume`. */
  protected sendFrom<Res>(outbox: Outbox, send: SendResponse<Res>, response: Res, resume: (force: boolean) => void): void {
    outbox.writing = true;
    send(response, () => {
      outbox.writing = false;
      const force = outbox.deferred;
      outbox.deferred = undefined;
      if (force !== undefined) resume(force);
    });
  }

  /** The node's snapshot changed (or a new default one was set). */
  abstract onSnapshot(): void;

  /** These resources of one type changed (or went) in the snapshot; nothing else did. */
  abstract onResourcesChanged(typeUrl: string, names: readonly string[]): void;
}
