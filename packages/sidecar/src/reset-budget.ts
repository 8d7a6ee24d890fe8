/**
 * The RST_STREAM frames the sidecar sends on one upstream session, kept under what nghttp2-based
 * servers (node, and with it grpc-js) tolerate before they close the whole connection: nghttp2's
 * CVE-2023-44487 mitigation allows a burst of 1000 resets, then 33 a second. A client resetting
 * streams fast (each cancels its upstream stream) must not get a shared upstream connection, and
 * every other call on it, torn down.
 *
 * Over the budget a cancelled upstream stream is abandoned instead of reset: the request is ended
 * (END_STREAM, so the upstream can finish the call, usually failing a truncated message at once),
 * what the upstream still sends is read and dropped (its flow-control window bounds that), and the
 * reset is tried again a second later if the stream is still open. Tokens refill lazily from the
 * clock: no timer unless a stream is abandoned.
 */
import { constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';

/** Resets sent at once at most, and per second after that (half of nghttp2's limits). */
export const RESET_BURST = 500;
export const RESETS_PER_SECOND = 16;
const RETRY_MS = 1000;

const BUDGET = Symbol('xmesh.reset-budget');
type BudgetedSession = ClientHttp2Session & { [BUDGET]?: ResetBudget };

export class ResetBudget {
  private tokens = RESET_BURST;
  private refilledAt = performance.now();

  /** Takes one reset; false when none is left. */
  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(RESET_BURST, this.tokens + ((now - this.refilledAt) / 1000) * RESETS_PER_SECOND);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}

/** Gives `session` its reset budget (once, when it is created). */
export function budgetResets(session: ClientHttp2Session): void {
  (session as BudgetedSession)[BUDGET] = new ResetBudget();
}

/** Cancels an upstream stream the sidecar no longer needs: RST_STREAM(CANCEL) within the budget, else abandoned for now. */
export function cancelUpstream(stream: ClientHttp2Stream): void {
  if (stream.destroyed || stream.closed) return;
  const budget = (stream.session as BudgetedSession | undefined)?.[BUDGET];
  if (budget === undefined || budget.take()) {
    stream.close(constants.NGHTTP2_CANCEL);
    return;
  }
  // End the request, keep reading (a paused stream would hold its window forever), retry the reset.
  if (!stream.writableEnded) stream.end();
  stream.resume();
  setTimeout(() => cancelUpstream(stream), RETRY_MS).unref();
}
