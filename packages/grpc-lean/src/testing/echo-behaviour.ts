/**
 * What both interop peers do, keyed by the request's `message`:
 * - `fail:<code>:<details>`: fail before any reply (trailers-only) with that status,
 *   trailer `x-trailer: failed`, and a google.rpc.Status in `grpc-status-details-bin`;
 * - `sleep:<ms>`: reply after ms;
 * - `hang`: never reply; the peer reports the cancellation it sees;
 * - `big:<n>`: reply with an n-byte compressible payload;
 * - `cancel`: the server ends the call with CANCELLED;
 * - anything else: echo message and payload.
 * Unary replies carry response header `x-echo-token` / `x-echo-blob-bin`
 * (copies of request `x-token` / `x-blob-bin`) and trailer `x-trailer: done`.
 * `server` in replies is `<peer>|enc=<request grpc-encoding or identity>`.
 * ServerStream sends `count` replies `<message>#<i>` (then fails with ABORTED
 * when message is `fail-after`). ClientStream replies with the messages
 * joined by `,`. Bidi echoes each message as it arrives.
 */
export type Command =
  | { kind: 'fail'; code: number; details: string }
  | { kind: 'sleep'; ms: number }
  | { kind: 'hang' }
  | { kind: 'big'; size: number }
  | { kind: 'cancel' }
  | { kind: 'echo' };

export function parseCommand(message: string): Command {
  if (message.startsWith('fail:')) {
    const [, code, ...details] = message.split(':');
    return { kind: 'fail', code: Number(code), details: details.join(':') };
  }
  if (message.startsWith('sleep:')) return { kind: 'sleep', ms: Number(message.slice(6)) };
  if (message === 'hang') return { kind: 'hang' };
  if (message.startsWith('big:')) return { kind: 'big', size: Number(message.slice(4)) };
  if (message === 'cancel') return { kind: 'cancel' };
  return { kind: 'echo' };
}

/** Observations a peer reports to the test. */
export interface PeerEvents {
  /** Calls whose cancellation the server saw. */
  cancelledCalls: number;
  onCancelled: (() => void) | null;
}

export function newPeerEvents(): PeerEvents {
  return { cancelledCalls: 0, onCancelled: null };
}

export function reportCancelled(events: PeerEvents): void {
  events.cancelledCalls++;
  events.onCancelled?.();
}
