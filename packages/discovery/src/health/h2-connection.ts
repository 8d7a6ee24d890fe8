/**
 * The HTTP/2 connection of one host's HTTP/2 or gRPC checks: opened on the first check, kept while
 * `reuse_connection` (closed after each check otherwise), dropped when it fails or the host sends
 * GOAWAY, so the next check opens a new one.
 */
import { connect, type ClientHttp2Session, type ClientHttp2Stream, type OutgoingHttpHeaders } from 'node:http2';
import type { ProbeTarget } from './probe.js';

export class H2Connection {
  private session: ClientHttp2Session | undefined = undefined;

  constructor(private readonly target: ProbeTarget) {}

  /** Opens a stream with `headers` (`:scheme` is set here); throws when the session cannot take one. */
  request(headers: OutgoingHttpHeaders, endStream: boolean): ClientHttp2Stream {
    const session = this.open();
    return session.request({ ...headers, ':scheme': this.target.dial === undefined ? 'http' : 'https' }, { endStream });
  }

  /** Closes the connection (a check without reuse ended, or the session failed). */
  drop(): void {
    const session = this.session;
    this.session = undefined;
    session?.destroy();
  }

  private open(): ClientHttp2Session {
    const existing = this.session;
    if (existing !== undefined && !existing.closed && !existing.destroyed) return existing;
    const { host, port, dial } = this.target;
    const authority = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const session = dial === undefined ? connect(authority) : connect(authority, { createConnection: () => dial(host, port, 'h2') as never });
    this.session = session;
    session.on('error', () => {
      if (this.session === session) this.session = undefined;
    });
    session.on('goaway', () => {
      if (this.session === session) this.session = undefined;
    });
    session.on('close', () => {
      if (this.session === session) this.session = undefined;
    });
    return session;
  }
}
