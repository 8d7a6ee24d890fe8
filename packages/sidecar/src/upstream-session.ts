/**
 * One multiplexed HTTP/2 client session to an upstream endpoint — h2c, or TLS (ALPN h2) when the cluster's
 * transport socket asks for it — kept in the client's per-endpoint transport entry so it is reused by every
 * request and closed once the endpoint is gone and drained. A session that closes, errors or receives GOAWAY is
 * replaced on next use; its open streams finish (or fail) on their own. Its RST_STREAMs are budgeted (see `reset-budget.ts`).
 */
import { connect, type ClientHttp2Session, type SecureClientSessionOptions, type Settings } from 'node:http2';
import type { Socket } from 'node:net';
import type { Endpoint } from '@xmesh/core';
import type { EndpointAttachment } from '@xmesh/client';
import type { ClientTls } from '@xmesh/tls';
import { widenConnectionWindow } from './flow-control.js';
import { budgetResets, isRetired } from './reset-budget.js';

export interface UpstreamSessionOptions {
  /** HTTP/2 settings sent to upstreams (e.g. a larger `initialWindowSize`). */
  readonly settings?: Settings;
  /** The cluster's transport security for this endpoint; undefined = h2c. */
  readonly tls?: ClientTls | undefined;
}

export class UpstreamSession implements EndpointAttachment {
  private session: ClientHttp2Session | undefined = undefined;
  private readonly origin: string;
  private readonly connectOptions: SecureClientSessionOptions;

  constructor(
    endpoint: Endpoint,
    private readonly options: UpstreamSessionOptions = {},
  ) {
    const tls = options.tls;
    this.origin = `${tls === undefined ? 'http' : 'https'}://${endpoint.id}`;
    this.connectOptions = {
      ...(options.settings === undefined ? {} : { settings: options.settings }),
      ...(tls === undefined ? {} : { createConnection: () => tls.connect(endpoint.host, endpoint.port, 'h2') }),
    };
  }

  /** The certificates rotated: the current session drains (its streams finish) and the next request opens a new one. */
  drainConnections(): void {
    const session = this.session;
    this.session = undefined;
    if (session !== undefined && !session.destroyed) session.close();
  }

  /** The live session, connecting when there is none. Requests made while connecting are queued by node:http2. */
  get(): ClientHttp2Session {
    const current = this.session;
    if (current !== undefined && !current.closed && !current.destroyed && !isRetired(current)) return current;
    const session = connect(this.origin, this.connectOptions);
    budgetResets(session);
    const forget = () => {
      if (this.session === session) this.session = undefined;
    };
    session.on('error', forget);
    session.once('goaway', forget);
    session.once('close', forget);
    session.once('connect', (_session: ClientHttp2Session, socket: Socket) => {
      socket.setNoDelay(true);
      widenConnectionWindow(session, this.options.settings?.initialWindowSize);
    });
    this.session = session;
    return session;
  }

  /** True while a session is open (for tests and `/clusters`). */
  get connected(): boolean {
    return this.session !== undefined && !this.session.closed;
  }

  close(graceful: boolean): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (session === undefined || session.destroyed) return Promise.resolve();
    if (!graceful) {
      session.destroy();
      return Promise.resolve();
    }
    return new Promise((resolve) => session.close(() => resolve()));
  }
}
