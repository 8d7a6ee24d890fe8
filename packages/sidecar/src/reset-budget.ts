/**
 * The RST_STREAM frames the sidecar sends on one upstream session, kept under what nghttp2-based
 * servers (node, and with it grpc-js) tolerate before they close the whole connection: nghttp2's
 * CVE-2023-44487 mitigation allows a burst of 1000 resets, then 33 a second. A client resetting
 * streams fast (each cancels its upstream stream) must not get a shared upstream connection, and
 * every other call on it, torn down.
 *
 * Over the budget a cancelled upstream stream is abandoned instead of reset: its request is left as it
 * is — a body not fully sent is never ended, since a truncated body must not look complete to the
 * upstream — and what the upstream still sends is read and dropped (its flow-control window bounds
 * that). The
 * session is retired: the next request opens a new session with a fresh budget, the streams in
 * flight on the old one finish, and it is closed outright, abandoned streams and all, once only
 * abandoned streams are left on it. (Not with GOAWAY: node refuses the streams it has not sent yet.)
 * Nothing is allocated per call: two counters per session, tokens refilled lazily.
 */
import { constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';

/** Resets sent at once at most, and per second after that (half of nghttp2's limits). */
export const RESET_BURST = 500;
export const RESETS_PER_SECOND = 16;

const BUDGET = Symbol('xmesh.reset-budget');
const ABANDONED = Symbol('xmesh.abandoned');
type BudgetedSession = ClientHttp2Session & { [BUDGET]?: SessionResets };
type UpstreamStream = ClientHttp2Stream & { [ABANDONED]?: true };

class SessionResets {
  private tokens = RESET_BURST;
  private refilledAt = performance.now();
  /** Streams opened on the session and not closed yet, and how many of them were abandoned. */
  open = 0;
  abandoned = 0;
  /** No new stream goes on a retired session. */
  retired = false;

  constructor(private readonly session: ClientHttp2Session) {}

  /** Takes one reset; false when none is left. */
  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(RESET_BURST, this.tokens + ((now - this.refilledAt) / 1000) * RESETS_PER_SECOND);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }

  /** A retired session with nothing but abandoned streams left is closed (no RST_STREAM needed). */
  settle(): void {
    if (this.retired && !this.session.destroyed && this.open === this.abandoned) this.session.destroy();
  }
}

/** Gives `session` its reset budget (once, when it is created). */
export function budgetResets(session: ClientHttp2Session): void {
  (session as BudgetedSession)[BUDGET] = new SessionResets(session);
}

/** True when `session` ran out of resets and new streams must go to a new session. */
export function isRetired(session: ClientHttp2Session): boolean {
  return (session as BudgetedSession)[BUDGET]?.retired === true;
}

/** A stream was opened on a budgeted session. */
export function upstreamOpened(stream: ClientHttp2Stream): void {
  const resets = (stream.session as BudgetedSession | undefined)?.[BUDGET];
  if (resets !== undefined) resets.open++;
}

/** A stream opened on `session` closed. */
export function upstreamClosed(stream: ClientHttp2Stream, session: ClientHttp2Session | undefined): void {
  const resets = (session as BudgetedSession | undefined)?.[BUDGET];
  if (resets === undefined) return;
  resets.open--;
  if ((stream as UpstreamStream)[ABANDONED] === true) resets.abandoned--;
  resets.settle();
}

/** Cancels an upstream stream the sidecar no longer needs: RST_STREAM(CANCEL) within the budget, else abandoned (see above). */
export function cancelUpstream(stream: ClientHttp2Stream): void {
  if (stream.destroyed || stream.closed) return;
  const session = stream.session as BudgetedSession | undefined;
  const resets = session?.[BUDGET];
  if (resets === undefined || resets.take()) {
    stream.close(constants.NGHTTP2_CANCEL);
    return;
  }
  if ((stream as UpstreamStream)[ABANDONED] === true) return;
  (stream as UpstreamStream)[ABANDONED] = true;
  resets.abandoned++;
  // A paused stream would hold its window forever.
  stream.resume();
  resets.retired = true;
  resets.settle();
}
