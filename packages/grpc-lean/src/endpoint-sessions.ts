import { ConnectionBackoff } from '@xmesh/core';
import { ConnectivityState, type ConnectivityStateValue } from './connectivity.js';
import type { LeanConnector } from './connector.js';
import { LeanSession, type SessionOwner } from './lean-session.js';
import type { LeanTransportOptions } from './options.js';
import { GrpcStatus } from './status.js';

/** A call as the pool sees it: started on a session now, or queued until one has room. */
export interface DispatchableCall {
  /** Opens the call's HTTP/2 stream on `session` (the session counts it). */
  startOn(session: LeanSession): void;
  /** Ends the call before any stream opened (connection failure, channel closed). */
  failToStart(code: number, details: string): void;
  /** True once the call has its final status; a queued call that finished is dropped. */
  isFinished(): boolean;
}

/**
 * The HTTP/2 connections to one endpoint. A call goes to the first ready
 * session under the server's MAX_CONCURRENT_STREAMS; when none has room a new
 * session opens (up to `maxSessions`), otherwise the call waits in FIFO order.
 * Connection failures with no usable session put the pool in
 * TRANSIENT_FAILURE for a backoff period, during which calls fail fast with
 * UNAVAILABLE; after it the pool is IDLE and the next call reconnects.
 */
export class EndpointSessions implements SessionOwner {
  private readonly sessions: LeanSession[] = [];
  private queue: DispatchableCall[] = [];
  private connecting = 0;
  private opened = 0;
  private shutdown = false;
  private backoffTimer: NodeJS.Timeout | null = null;
  private lastFailure = 'No connection established';
  private readonly backoff: ConnectionBackoff;
  state: ConnectivityStateValue = ConnectivityState.IDLE;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly options: LeanTransportOptions,
    private readonly onStateChange: (state: ConnectivityStateValue) => void,
    private readonly connector?: LeanConnector,
  ) {
    this.backoff = new ConnectionBackoff(options.backoff);
  }

  dispatch(call: DispatchableCall): void {
    const session = this.sessionWithCapacity();
    if (session !== null) return call.startOn(session);
    if (this.shutdown) return call.failToStart(GrpcStatus.UNAVAILABLE, 'Channel closed');
    if (this.backoffTimer !== null) return call.failToStart(GrpcStatus.UNAVAILABLE, this.lastFailure);
    this.queue.push(call);
    this.growIfNeeded();
  }

  /** Starts connecting when idle (grpc-js `getConnectivityState(true)`). */
  connect(): void {
    if (this.shutdown || this.backoffTimer !== null || this.connecting > 0 || this.usableSessions() > 0) return;
    this.openSession();
  }

  /** Graceful close: in-flight streams finish, queued and new calls fail with UNAVAILABLE. */
  close(): void {
    if (this.shutdown) return;
    this.shutdown = true;
    if (this.backoffTimer !== null) clearTimeout(this.backoffTimer);
    this.backoffTimer = null;
    this.failQueue('Channel closed');
    for (const session of [...this.sessions]) {
      if (session.ready) session.drain();
      else session.destroy(null);
    }
    this.refreshState();
  }

  /**
   * Drains every ready session (in-flight streams finish, new calls open new connections): after the connector's
   * certificates changed, so new connections present the new ones. Connecting sessions complete and serve as usual.
   */
  drainSessions(): void {
    if (this.shutdown) return;
    for (const session of [...this.sessions]) if (session.ready) session.drain();
  }

  /** Sessions open now (connecting, ready or draining). */
  sessionCount(): number {
    return this.sessions.length;
  }

  /** Sessions opened since the pool was created. */
  sessionsOpened(): number {
    return this.opened;
  }

  onSessionReady(_session: LeanSession): void {
    this.connecting--;
    this.backoff.reset();
    this.flushQueue();
    this.refreshState();
  }

  onSessionDraining(_session: LeanSession): void {
    this.growIfNeeded();
    this.refreshState();
  }

  onSessionClosed(session: LeanSession, error: Error | null): void {
    const index = this.sessions.indexOf(session);
    if (index >= 0) this.sessions.splice(index, 1);
    if (!session.ready) {
      this.connecting--;
      this.lastFailure = `Failed to connect to ${this.host}:${this.port}: ${error?.message ?? 'connection closed'}`;
      if (!this.shutdown && this.connecting === 0 && this.usableSessions() === 0) this.enterBackoff();
    } else if (error !== null) {
      this.lastFailure = `Connection to ${this.host}:${this.port} failed: ${error.message}`;
    }
    this.growIfNeeded();
    this.refreshState();
  }

  /** A stream ended on `session`: queued calls may take its slot. */
  streamEnded(session: LeanSession): void {
    session.streamClosed();
    if (this.queue.length > 0) this.flushQueue();
  }

  private enterBackoff(): void {
    this.backoffTimer = setTimeout(leaveBackoff, this.backoff.nextDelayMs(), this);
    this.backoffTimer.unref();
    this.failQueue(this.lastFailure);
  }

  leaveBackoff(): void {
    this.backoffTimer = null;
    this.refreshState();
    this.growIfNeeded();
  }

  private failQueue(details: string): void {
    const queued = this.queue;
    this.queue = [];
    for (const call of queued) {
      if (!call.isFinished()) call.failToStart(GrpcStatus.UNAVAILABLE, details);
    }
  }

  private flushQueue(): void {
    let taken = 0;
    while (taken < this.queue.length) {
      const call = this.queue[taken]!;
      if (!call.isFinished()) {
        const session = this.sessionWithCapacity();
        if (session === null) break;
        call.startOn(session);
      }
      taken++;
    }
    if (taken > 0) this.queue.splice(0, taken);
    this.growIfNeeded();
  }

  private growIfNeeded(): void {
    if (this.shutdown || this.backoffTimer !== null || this.connecting > 0) return;
    while (this.queue.length > 0 && this.queue[0]!.isFinished()) this.queue.shift();
    if (this.queue.length === 0) return;
    if (this.usableSessions() < this.options.maxSessions) this.openSession();
  }

  private openSession(): void {
    this.connecting++;
    this.opened++;
    const session = new LeanSession(this, this.host, this.port, this.options, this.backoff.connectTimeoutMs(), this.connector);
    this.sessions.push(session);
    this.refreshState();
  }

  private sessionWithCapacity(): LeanSession | null {
    for (let i = 0; i < this.sessions.length; i++) {
      const session = this.sessions[i]!;
      if (session.hasCapacity()) return session;
    }
    return null;
  }

  private usableSessions(): number {
    let count = 0;
    for (const session of this.sessions) if (!session.draining) count++;
    return count;
  }

  private refreshState(): void {
    let next: ConnectivityStateValue;
    if (this.shutdown) next = ConnectivityState.SHUTDOWN;
    else if (this.sessions.some((s) => s.ready && !s.draining)) next = ConnectivityState.READY;
    else if (this.connecting > 0) next = ConnectivityState.CONNECTING;
    else if (this.backoffTimer !== null) next = ConnectivityState.TRANSIENT_FAILURE;
    else next = ConnectivityState.IDLE;
    if (next !== this.state) {
      this.state = next;
      this.onStateChange(next);
    }
  }
}

function leaveBackoff(pool: EndpointSessions): void {
  pool.leaveBackoff();
}
