/** What a stream session needs from the server that owns it. */
import type { WireNode } from '@xmesh/discovery';
import type { ControlPlaneEvents, ControlPlaneLogger, StreamInfo, StreamMode } from './events.js';
import type { ServedSnapshot } from './resources.js';

export interface SessionHost {
  /** The snapshot for a node id: its own, else the default one, else undefined (nothing to serve yet). */
  snapshotFor(nodeId: string): ServedSnapshot | undefined;
  emit<K extends keyof ControlPlaneEvents>(event: K, ...args: ControlPlaneEvents[K]): void;
  readonly logger: ControlPlaneLogger;
  readonly identifier: string;
}

/** State shared by both session kinds: identity, node, nonces. */
export abstract class SessionBase {
  nodeId = '';
  node: WireNode | undefined;
  private nonceCounter = 0;

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

  /** The node's snapshot changed (or a new default one was set). */
  abstract onSnapshot(): void;

  /** These resources of one type changed (or went) in the snapshot; nothing else did. */
  abstract onResourcesChanged(typeUrl: string, names: readonly string[]): void;
}
