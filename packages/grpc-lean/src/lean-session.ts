import { connect as http2Connect, constants as h2, type ClientHttp2Session } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { endpointId } from '@xmesh/core';
import type { LeanConnector } from './connector.js';
import type { LeanTransportOptions } from './options.js';

/** What a session reports to the pool that owns it. */
export interface SessionOwner {
  onSessionReady(session: LeanSession): void;
  onSessionDraining(session: LeanSession): void;
  /** `error` is set when the session failed (connect error, keepalive timeout, socket error). */
  onSessionClosed(session: LeanSession, error: Error | null): void;
}

/**
 * One HTTP/2 connection to an endpoint. Ready once the server's SETTINGS
 * arrive (so its MAX_CONCURRENT_STREAMS is known); draining after a GOAWAY
 * or close() (in-flight streams finish, no new ones start).
 */
export class LeanSession {
  readonly http2: ClientHttp2Session;
  activeStreams = 0;
  ready = false;
  draining = false;
  closed = false;
  private connectTimer: NodeJS.Timeout | null;
  private keepaliveTimer: NodeJS.Timeout | null = null;
  private keepaliveTimeoutTimer: NodeJS.Timeout | null = null;
  private failure: Error | null = null;
  /** The server's SETTINGS_MAX_CONCURRENT_STREAMS, kept from each SETTINGS frame (read on every dispatch). */
  private maxStreams = Infinity;

  constructor(
    private readonly owner: SessionOwner,
    host: string,
    port: number,
    private readonly options: LeanTransportOptions,
    connectTimeoutMs: number,
    connector?: LeanConnector,
  ) {
    const authority = `${connector === undefined ? 'http' : 'https'}://${endpointId(host, port)}`;
    this.http2 = http2Connect(authority, {
      settings: { enablePush: false },
      createConnection: connector === undefined ? () => netConnect({ host, port, noDelay: true }) : () => connector.connect(host, port),
    });
    this.connectTimer = setTimeout(onConnectTimeout, connectTimeoutMs, this);
    this.connectTimer.unref();
    this.http2.on('remoteSettings', (settings) => {
      this.maxStreams = settings.maxConcurrentStreams ?? Infinity;
      if (!this.ready) this.markReady();
    });
    this.http2.on('goaway', () => this.drain());
    this.http2.on('error', (error: Error) => {
      this.failure ??= error;
    });
    this.http2.once('close', () => this.handleClose());
  }

  /** Streams this session may still open given the server's limit. */
  hasCapacity(): boolean {
    return this.ready && !this.draining && this.activeStreams < this.maxConcurrentStreams();
  }

  maxConcurrentStreams(): number {
    return this.maxStreams;
  }

  /** A stream opened on this session ended. */
  streamClosed(): void {
    this.activeStreams--;
    if (this.activeStreams === 0) {
      if (this.draining) this.http2.close();
      else this.http2.unref();
    }
  }

  streamOpened(): void {
    if (this.activeStreams++ === 0) this.http2.ref();
  }

  /** Stops new streams; the connection closes once in-flight streams end. */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    this.owner.onSessionDraining(this);
    if (this.activeStreams === 0 && !this.http2.closed) this.http2.close();
  }

  /** Closes now; in-flight streams fail. */
  destroy(error: Error | null): void {
    if (error !== null) this.failure ??= error;
    this.http2.destroy(error ?? undefined, error === null ? h2.NGHTTP2_NO_ERROR : h2.NGHTTP2_INTERNAL_ERROR);
  }

  failTimedOut(): void {
    this.connectTimer = null;
    if (!this.ready) this.destroy(new Error('Connection timed out'));
  }

  private markReady(): void {
    if (this.closed) return;
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    this.ready = true;
    if (this.activeStreams === 0) this.http2.unref();
    this.scheduleKeepalive();
    this.owner.onSessionReady(this);
  }

  private scheduleKeepalive(): void {
    if (!Number.isFinite(this.options.keepaliveTimeMs) || this.closed) return;
    this.keepaliveTimer = setTimeout(sendKeepalive, this.options.keepaliveTimeMs, this);
    this.keepaliveTimer.unref();
  }

  sendKeepalive(): void {
    this.keepaliveTimer = null;
    if (this.closed) return;
    if (this.activeStreams === 0 && !this.options.keepalivePermitWithoutCalls) {
      this.scheduleKeepalive();
      return;
    }
    this.keepaliveTimeoutTimer = setTimeout(onKeepaliveTimeout, this.options.keepaliveTimeoutMs, this);
    this.keepaliveTimeoutTimer.unref();
    try {
      this.http2.ping((error) => {
        if (this.keepaliveTimeoutTimer !== null) clearTimeout(this.keepaliveTimeoutTimer);
        this.keepaliveTimeoutTimer = null;
        if (error === null) this.scheduleKeepalive();
      });
    } catch (error) {
      this.destroy(error as Error);
    }
  }

  failKeepalive(): void {
    this.keepaliveTimeoutTimer = null;
    this.destroy(new Error('Keepalive timeout'));
  }

  private handleClose(): void {
    this.closed = true;
    this.draining = true;
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    if (this.keepaliveTimer !== null) clearTimeout(this.keepaliveTimer);
    if (this.keepaliveTimeoutTimer !== null) clearTimeout(this.keepaliveTimeoutTimer);
    this.connectTimer = this.keepaliveTimer = this.keepaliveTimeoutTimer = null;
    const failure = this.failure ?? (this.ready ? null : new Error('Connection closed before the server settings arrived'));
    this.owner.onSessionClosed(this, failure);
  }
}

function onConnectTimeout(session: LeanSession): void {
  session.failTimedOut();
}

function sendKeepalive(session: LeanSession): void {
  session.sendKeepalive();
}

function onKeepaliveTimeout(session: LeanSession): void {
  session.failKeepalive();
}
