import type { OutgoingHttpHeaders } from 'node:http2';
import type { ChannelInterface } from '@grpc/grpc-js';
import { endpointId, type Endpoint } from '@xmesh/core';
import { ACCEPT_ENCODING } from '@xmesh/codec';
import { ConnectivityState, type ConnectivityStateValue } from './connectivity.js';
import type { LeanConnector } from './connector.js';
import { EndpointSessions } from './endpoint-sessions.js';
import { LeanStream, UnaryFastCall, type LeanStreamHandler, type UnaryCallback, type UnaryReceiver } from './fast-calls.js';
import { deadlineToEpochMs, encodeGrpcTimeout, type DeadlineInput } from './grpc-timeout.js';
import { LeanCall, type GrpcJsCall, type RequestHeaderSource } from './lean-call.js';
import { addEncodedHeaders, addLeanMetadata, type LeanMetadata } from './metadata.js';
import { resolveLeanOptions, type LeanChannelOptions, type LeanTransportOptions } from './options.js';
import { parseTarget } from './target.js';

/** Paths whose plain request headers are kept (a bound on a channel's method count). */
const MAX_SHARED_HEADERS = 256;

function isEmpty(headers: OutgoingHttpHeaders): boolean {
  for (const _ in headers) return false;
  return true;
}

type ChannelzRef = ReturnType<ChannelInterface['getChannelzRef']>;
type StateWatcher = { state: ConnectivityStateValue; callback: (error?: Error) => void; timer: NodeJS.Timeout | null };

/**
 * A gRPC channel to one endpoint over node:http2: plaintext (h2c), or TLS through a `LeanConnector`.
 *
 * Two ways in:
 * - grpc-js `ChannelInterface`: pass it as `channelOverride` to a grpc-js
 *   `Client` (generated stubs work unchanged);
 * - the fast path, `unary()` and `stream()`: serialized messages in and out,
 *   callback-based, no grpc-js objects per call.
 */
export class LeanChannel implements ChannelInterface, RequestHeaderSource {
  readonly options: LeanTransportOptions;
  private readonly pool: EndpointSessions;
  private readonly authority: string;
  private readonly contentEncoding: string | undefined;
  private readonly scheme: 'http' | 'https';
  private readonly watchers = new Set<StateWatcher>();
  private readonly channelzRef: ChannelzRef;
  private callCount = 0;
  private readonly sharedHeaders = new Map<string, OutgoingHttpHeaders>();
  /** Header sources for calls that name another `:authority` (e.g. a mesh's logical service name). */
  private readonly authoritySources = new Map<string, AuthorityHeaderSource>();

  /** `connector`, when given, opens each connection (TLS): requests then carry `:scheme: https`. */
  constructor(
    private readonly target: string,
    options?: LeanChannelOptions,
    connector?: LeanConnector,
  ) {
    this.options = resolveLeanOptions(options);
    const { host, port } = parseTarget(target);
    this.authority = this.options.authority ?? endpointId(host, port);
    this.contentEncoding = this.options.sendCompression === 'gzip' ? 'gzip' : undefined;
    this.scheme = connector === undefined ? 'http' : 'https';
    this.pool = new EndpointSessions(host, port, this.options, (state) => this.notifyWatchers(state), connector);
    this.channelzRef = { kind: 'channel', id: 0, name: `grpc-lean:${target}` } as ChannelzRef;
  }

  /** The channel to one mesh endpoint (`host:port`, IPv6 bracketed), as the client's transport pool keys it. */
  static forEndpoint(endpoint: Pick<Endpoint, 'host' | 'port'>, options?: LeanChannelOptions, connector?: LeanConnector): LeanChannel {
    return new LeanChannel(endpointId(endpoint.host, endpoint.port), options, connector);
  }

  /**
   * Unary call on the fast path. `request` is the serialized request message;
   * the callback gets the serialized reply, or a {@link LeanCallError}.
   * Returns the call; `cancel(code, details)` ends it early. `authority`, when given, is the
   * call's `:authority` instead of the channel's.
   */
  unary(path: string, request: Uint8Array, metadata: LeanMetadata | undefined, deadline: DeadlineInput, callback: UnaryCallback | UnaryReceiver, authority?: string): UnaryFastCall {
    const deadlineMs = deadlineToEpochMs(deadline);
    const own = authority === undefined || authority === this.authority;
    const headers = metadata !== undefined
      ? this.buildHeaders(path, deadlineMs, null, own ? this.authority : authority)
      : own ? this.requestHeaders(path, deadlineMs, null) : this.authoritySource(authority).requestHeaders(path, deadlineMs, null);
    if (metadata !== undefined) addLeanMetadata(headers, metadata);
    return new UnaryFastCall(this.pool, this.options, headers, deadlineMs, request, callback);
  }

  /** Streaming call (server-, client- or bidi-streaming) on the fast path. */
  stream(path: string, metadata: LeanMetadata | undefined, deadline: DeadlineInput, handler: LeanStreamHandler): LeanStream {
    const deadlineMs = deadlineToEpochMs(deadline);
    const headers = metadata === undefined ? this.requestHeaders(path, deadlineMs, null) : this.buildHeaders(path, deadlineMs, null);
    if (metadata !== undefined) addLeanMetadata(headers, metadata);
    return new LeanStream(this.pool, this.options, headers, deadlineMs, handler);
  }

  /** `host`, when given, is the call's `:authority` (as grpc-js channels use it). */
  createCall(method: string, deadline: Date | number, host: string | null | undefined, _parentCall: unknown, _propagateFlags: number | null | undefined): GrpcJsCall {
    const source = host === undefined || host === null || host === '' || host === this.authority ? this : this.authoritySource(host);
    return new LeanCall(this.pool, this.options, source, method, deadlineToEpochMs(deadline), ++this.callCount);
  }

  close(): void {
    this.pool.close();
  }

  /** Drains the open connections: in-flight calls finish on them, later calls open new ones (see EndpointSessions.drainSessions). */
  drainConnections(): void {
    this.pool.drainSessions();
  }

  getTarget(): string {
    return this.target;
  }

  getConnectivityState(tryToConnect: boolean): ConnectivityStateValue {
    if (tryToConnect && this.pool.state === ConnectivityState.IDLE) this.pool.connect();
    return this.pool.state;
  }

  watchConnectivityState(currentState: ConnectivityStateValue, deadline: Date | number, callback: (error?: Error) => void): void {
    if (this.pool.state !== currentState) {
      process.nextTick(callback);
      return;
    }
    const watcher: StateWatcher = { state: currentState, callback, timer: null };
    const waitMs = deadlineToEpochMs(deadline) - Date.now();
    if (Number.isFinite(waitMs)) {
      watcher.timer = setTimeout(() => {
        this.watchers.delete(watcher);
        callback(new Error('Deadline passed without connectivity state change'));
      }, Math.max(0, waitMs));
    }
    this.watchers.add(watcher);
  }

  getChannelzRef(): ChannelzRef {
    return this.channelzRef;
  }

  /** HTTP/2 connections open to the endpoint now, and opened since the channel was created. */
  connectionStats(): { open: number; opened: number } {
    return { open: this.pool.sessionCount(), opened: this.pool.sessionsOpened() };
  }

  /**
   * @internal The request headers of a call; `encodedMetadata` is already in
   * HTTP/2 form. Calls without deadline or metadata share one object per path
   * (node:http2 copies headers per request; callers never mutate a shared one).
   */
  requestHeaders(path: string, deadlineMs: number, encodedMetadata: OutgoingHttpHeaders | null, authority = this.authority, shared = this.sharedHeaders): OutgoingHttpHeaders {
    if (deadlineMs === Infinity && (encodedMetadata === null || isEmpty(encodedMetadata))) {
      let found = shared.get(path);
      if (found === undefined) {
        found = Object.freeze(this.buildHeaders(path, Infinity, null, authority));
        if (shared.size < MAX_SHARED_HEADERS) shared.set(path, found);
      }
      return found;
    }
    return this.buildHeaders(path, deadlineMs, encodedMetadata, authority);
  }

  /** The header source for calls to `authority` (kept for up to MAX_SHARED_HEADERS authorities). */
  private authoritySource(authority: string): AuthorityHeaderSource {
    let source = this.authoritySources.get(authority);
    if (source === undefined) {
      source = new AuthorityHeaderSource(this, authority);
      if (this.authoritySources.size < MAX_SHARED_HEADERS) this.authoritySources.set(authority, source);
    }
    return source;
  }

  private buildHeaders(path: string, deadlineMs: number, encodedMetadata: OutgoingHttpHeaders | null, authority = this.authority): OutgoingHttpHeaders {
    const headers: OutgoingHttpHeaders = {
      ':method': 'POST',
      ':scheme': this.scheme,
      ':authority': authority,
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': this.options.userAgent,
      'grpc-accept-encoding': ACCEPT_ENCODING,
    };
    if (this.contentEncoding !== undefined) headers['grpc-encoding'] = this.contentEncoding;
    if (deadlineMs !== Infinity) headers['grpc-timeout'] = encodeGrpcTimeout(deadlineMs - Date.now());
    if (encodedMetadata !== null) addEncodedHeaders(headers, encodedMetadata);
    return headers;
  }

  private notifyWatchers(state: ConnectivityStateValue): void {
    for (const watcher of [...this.watchers]) {
      if (watcher.state === state) continue;
      this.watchers.delete(watcher);
      if (watcher.timer !== null) clearTimeout(watcher.timer);
      watcher.callback();
    }
  }
}

/** Request headers of calls that name their own `:authority`; shares headers per path like the channel. */
class AuthorityHeaderSource implements RequestHeaderSource {
  private readonly shared = new Map<string, OutgoingHttpHeaders>();

  constructor(
    private readonly channel: LeanChannel,
    readonly authority: string,
  ) {}

  requestHeaders(path: string, deadlineMs: number, encodedMetadata: OutgoingHttpHeaders | null): OutgoingHttpHeaders {
    return this.channel.requestHeaders(path, deadlineMs, encodedMetadata, this.authority, this.shared);
  }
}
