/**
 * One HTTP/2 client connection's lifecycle, kept as Envoy's connection manager keeps it:
 *
 * - `idle_timeout`: armed while the connection has no stream (from its start, and again whenever its
 *   last stream closes), disarmed by a new stream; on expiry the connection closes (GOAWAY first);
 * - `max_connection_duration`: once the connection is this old it drains (GOAWAY; in-flight streams finish);
 * - `max_requests_per_connection`: the connection drains once it carried that many streams;
 * - premature resets (CVE-2023-44487, "rapid reset"): a stream that closes within
 *   `prematureResetMinStreamLifetimeSeconds` whole seconds without a response counts as reset
 *   prematurely; once `prematureResetTotalStreamCount` streams closed, the connection is closed when
 *   at least half were premature, and before that as soon as half that count were (the ratio could
 *   no longer recover). Envoy's `ConnectionManagerImpl::maybeDrainDueToPrematureResets`.
 *
 * Two timers per connection at most, armed only on the transitions above: never per stream.
 */
import type { Http2Session, ServerHttp2Stream } from 'node:http2';
import type { DownstreamProtection } from '@xmesh/xds';
import type { SidecarLimits } from './protection.js';

/** What a guard reports (stats). */
export interface SessionGuardEvents {
  idleTimeout(): void;
  maxDurationReached(): void;
  maxRequestsReached(): void;
  tooManyPrematureResets(): void;
}

/** Envoy's default HCM `drain_timeout`: how long a draining connection may wait for streams to appear done. */
const DRAIN_TIMEOUT_MS = 5000;

/** Longest delay a Node timer takes (longer ones fire at once). */
export const MAX_TIMER_MS = 2_147_483_647;

const OPENED_AT = Symbol('xmesh.stream-opened-at');
type TimedStream = ServerHttp2Stream & { [OPENED_AT]: number };

export class SessionGuard {
  private active = 0;
  private started = 0;
  private closedStreams = 0;
  private prematureResets = 0;
  private idleTimer: NodeJS.Timeout | undefined = undefined;
  private durationTimer: NodeJS.Timeout | undefined = undefined;
  private ended = false;

  constructor(
    private readonly session: Http2Session,
    private readonly protection: DownstreamProtection,
    private readonly limits: SidecarLimits,
    private readonly events: SessionGuardEvents,
  ) {
    this.armIdle();
    const duration = protection.maxConnectionDurationMs;
    if (duration > 0) {
      this.durationTimer = setTimeout(() => {
        this.durationTimer = undefined;
        events.maxDurationReached();
        this.drain();
      }, Math.min(duration, MAX_TIMER_MS));
      this.durationTimer.unref();
    }
  }

  /** A client stream arrived. */
  streamOpened(stream: ServerHttp2Stream): void {
    (stream as TimedStream)[OPENED_AT] = performance.now();
    this.active++;
    this.started++;
    if (this.idleTimer !== undefined) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
    const max = this.protection.maxRequestsPerConnection;
    if (max > 0 && this.started === max) {
      this.events.maxRequestsReached();
      this.drain();
    }
  }

  /** A client stream closed; `answered` when response headers went out on it. */
  streamClosed(stream: ServerHttp2Stream, answered: boolean): void {
    this.active--;
    this.closedStreams++;
    if (this.ended) return;
    if (!answered) {
      const livedSeconds = Math.floor((performance.now() - (stream as TimedStream)[OPENED_AT]) / 1000);
      if (livedSeconds <= this.limits.prematureResetMinStreamLifetimeSeconds) this.prematureResets++;
      if (this.tooManyPrematureResets()) {
        this.events.tooManyPrematureResets();
        this.abort();
        return;
      }
    }
    if (this.active === 0) this.armIdle();
  }

  /** The connection closed: no timer stays. */
  dispose(): void {
    this.ended = true;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    if (this.durationTimer !== undefined) clearTimeout(this.durationTimer);
    this.idleTimer = undefined;
    this.durationTimer = undefined;
  }

  private tooManyPrematureResets(): boolean {
    const limit = this.limits.prematureResetTotalStreamCount;
    return this.closedStreams < limit ? this.prematureResets * 2 >= limit : this.prematureResets * 2 >= this.closedStreams;
  }

  private armIdle(): void {
    const idle = this.protection.idleTimeoutMs;
    if (idle <= 0 || this.ended || this.idleTimer !== undefined) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.active > 0) return;
      this.events.idleTimeout();
      this.drain();
    }, Math.min(idle, MAX_TIMER_MS));
    this.idleTimer.unref();
  }

  /**
   * GOAWAY; streams in flight finish (each bounded by its own timeouts), then the connection closes.
   * Without a stream, or if only streams node never surfaced remain (a HEADERS block that never
   * ended) once Envoy's default `drain_timeout` passed, it is closed outright.
   */
  private drain(): void {
    const session = this.session;
    if (this.ended || session.destroyed) return;
    if (this.active === 0) {
      if (!session.closed) session.goaway();
      session.destroy();
      return;
    }
    if (session.closed) return;
    session.close();
    const timer = setTimeout(() => {
      if (!session.destroyed && this.active === 0) session.destroy();
    }, DRAIN_TIMEOUT_MS);
    timer.unref();
  }

  /**
   * GOAWAY and close, in-flight streams included (Envoy closes such a connection outright). Deferred
   * to the next turn: destroying a session from inside its own frame processing (this runs in a
   * stream's 'close') trips an assertion in node's HTTP/2 stream listener.
   */
  private abort(): void {
    if (this.ended) return;
    this.dispose();
    const session = this.session;
    setImmediate(() => {
      if (session.destroyed) return;
      session.goaway();
      session.destroy();
    });
  }
}
