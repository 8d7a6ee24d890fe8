/**
 * What a gRPC call sent before it committed, kept so a retry can send it again to a new
 * delegate, bounded like grpc-js's per-call retry buffer: past `limitBytes` of messages the call
 * can no longer be retried. A replay sends one message at a time, waiting for each write
 * callback (grpc-js holds one pending message per call); operations the caller issues meanwhile
 * queue behind it. A message's write callback reaches the caller once, whichever delegate wrote it.
 */
import type * as grpc from '@grpc/grpc-js';

type CallStream = grpc.experimental.CallStream;
type MessageContext = Parameters<CallStream['sendMessageWithContext']>[0];

/** grpc-js's default `grpc.per_rpc_retry_buffer_size`. */
export const DEFAULT_RETRY_BUFFER_BYTES = 256 * 1024;

export type ReplayOp =
  | { readonly op: 'message'; readonly context: MessageContext; readonly message: Buffer; written: boolean }
  | { readonly op: 'read' }
  | { readonly op: 'halfClose' };

export class GrpcReplayBuffer {
  private ops: ReplayOp[] = [];
  private bytes = 0;
  /** False once committed or over the limit: nothing more is kept for a later retry. */
  private keeping = true;
  private replayingInto: CallStream | undefined = undefined;
  /** The caller half-closed: the kept operations are the whole request. */
  private halfClosed = false;

  constructor(private readonly limitBytes = DEFAULT_RETRY_BUFFER_BYTES) {}

  /** True while everything sent so far is kept. */
  get replayable(): boolean {
    return this.keeping;
  }

  /** True while everything the caller sent is kept and it half-closed: a retry can send the whole request again. */
  get complete(): boolean {
    return this.keeping && this.halfClosed;
  }

  /** True while a replay is sending; new operations must go through `enqueue`. */
  get replaying(): boolean {
    return this.replayingInto !== undefined;
  }

  /** Keeps an operation sent outside a replay. */
  record(op: ReplayOp): void {
    if (!this.keeping) return;
    if (op.op === 'halfClose') this.halfClosed = true;
    if (op.op === 'message') {
      this.bytes += op.message.length;
      if (this.bytes > this.limitBytes) {
        this.commit();
        return;
      }
    }
    this.ops.push(op);
  }

  /** Queues an operation issued during a replay; it is sent in order after the kept ones. */
  enqueue(op: ReplayOp): void {
    if (op.op === 'halfClose') this.halfClosed = true;
    if (op.op === 'message') this.bytes += op.message.length;
    if (this.bytes > this.limitBytes) this.keeping = false;
    this.ops.push(op);
  }

  /** The call committed (a response arrived): nothing will be replayed again. */
  commit(): void {
    this.keeping = false;
    if (!this.replaying) this.ops = [];
  }

  /** Sends every kept operation, in order, to `delegate`, one message write at a time. */
  replayInto(delegate: CallStream): void {
    this.replayingInto = delegate;
    this.sendFrom(delegate, 0);
  }

  private sendFrom(delegate: CallStream, start: number): void {
    if (this.replayingInto !== delegate) return;
    for (let i = start; i < this.ops.length; i++) {
      const op = this.ops[i]!;
      if (op.op !== 'message') {
        sendOp(delegate, op);
        continue;
      }
      delegate.sendMessageWithContext(
        {
          ...op.context,
          callback: () => {
            if (!op.written) {
              op.written = true;
              op.context.callback?.();
            }
            this.sendFrom(delegate, i + 1);
          },
        },
        op.message,
      );
      return;
    }
    this.replayingInto = undefined;
    if (!this.keeping) this.ops = [];
  }

  /** A newer attempt replaced the delegate being replayed into: stop feeding it. */
  abandonReplay(): void {
    this.replayingInto = undefined;
  }
}

/** Sends one operation; a message's callback fires once across delegates. */
export function sendOp(delegate: CallStream, op: ReplayOp): void {
  if (op.op === 'read') delegate.startRead();
  else if (op.op === 'halfClose') delegate.halfClose();
  else {
    const callback = op.context.callback;
    const context: MessageContext = callback === undefined
      ? op.context
      : {
          ...op.context,
          callback: () => {
            if (op.written) return;
            op.written = true;
            callback();
          },
        };
    delegate.sendMessageWithContext(context, op.message);
  }
}
