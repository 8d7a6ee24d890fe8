/**
 * A CONNECT request its route terminates (`upgrade_configs: [{ upgrade_type: CONNECT, connect_config: {} }]`), as
 * Envoy's router does: a TCP connection to the picked endpoint of the route's cluster, within the cluster's
 * `connect_timeout`; once it is made the client gets 200 and the tunnel's bytes are relayed both ways — on the
 * client's socket for HTTP/1.1, as the CONNECT stream's DATA for HTTP/2 — with backpressure, a half-close passed
 * on, and the stream idle timeout covering both directions. The attempt ends when the connection is made (200):
 * what flows in the tunnel is not a request of its own. A connection that fails is retried as the route's retry
 * policy says (`connect-failure`), else answered 503 as any connect failure is.
 *
 * A CONNECT its route does not terminate would be forwarded by Envoy to the upstream as it came: that is not
 * implemented, and is answered 403 (routes with `connect_matcher` must terminate it, the decoder checks). The
 * connection is TLS when the cluster's transport socket says so (see relay-upstream.ts).
 */
import { constants } from 'node:http2';
import type { Socket } from 'node:net';
import { MeshError } from '@xmesh/core';
import { upstreamFailureCode } from '@xmesh/client';
import { H2Downstream, type DownstreamAbortHandler } from './downstream.js';
import { UpgradeDownstream } from './upgrade-downstream.js';
import { cancelledOutcome, localReplyHeaders, withResponseHeaders, type ProxyAttempt } from './proxy-attempt.js';
import { connectRelayUpstream } from './relay-upstream.js';
import { MAX_TIMER_MS } from './session-guard.js';

function ignoreError(): void {}

/** Terminates the CONNECT request of `attempt` (its downstream is an UpgradeDownstream or an H2Downstream). */
export function forwardConnect(attempt: ProxyAttempt): void {
  if (attempt.decision?.route.action.upgradeConfigs?.some((u) => u.upgradeType === 'connect' && u.enabled && u.terminateConnect === true) !== true) {
    attempt.retry?.end();
    attempt.finish({ kind: 'local_error', httpStatus: 403, grpcStatus: undefined, latencyMs: attempt.elapsed() });
    attempt.downstream.reject(NOT_TERMINATED);
    return;
  }
  new ConnectTunnel(attempt).open();
}

/** The answer to a CONNECT its route does not terminate (Envoy would forward it upstream: not implemented). */
const NOT_TERMINATED = new MeshError('XMESH_LOCAL_REPLY', 'forwarding a CONNECT request to the upstream is not implemented: its route has no upgrade_configs connect_config', {
  reply: { status: 403, headers: [], body: '' },
});

class ConnectTunnel implements DownstreamAbortHandler {
  private upstream: Socket | undefined = undefined;
  private settled = false;
  private abortError: MeshError | undefined = undefined;

  constructor(private readonly attempt: ProxyAttempt) {}

  open(): void {
    const { attempt } = this;
    const ds = attempt.downstream;
    ds.onAbort(this);
    attempt.upstreamAbort = this;
    const endpoint = attempt.endpoint!;
    const { socket: upstream, ready } = connectRelayUpstream(endpoint, attempt.cluster!.tlsFor(endpoint));
    this.upstream = upstream;
    upstream.on('error', ignoreError);
    const timer = setTimeout(() => {
      if (!this.settled) upstream.destroy(new Error(`connect timeout after ${attempt.cluster!.config.connectTimeoutMs} ms`));
    }, Math.min(attempt.cluster!.config.connectTimeoutMs, MAX_TIMER_MS));
    timer.unref();
    let failure: Error | undefined;
    upstream.once('error', (error) => (failure = error));
    upstream.once(ready, () => {
      clearTimeout(timer);
      this.connected(upstream);
    });
    upstream.once('close', () => {
      clearTimeout(timer);
      if (!this.settled) this.failed(failure ?? new Error('the connection closed before it was made'));
    });
  }

  downstreamAborted(): void {
    this.upstream?.destroy();
    if (this.settled) return;
    this.settled = true;
    this.attempt.retry?.end();
    this.attempt.finish(cancelledOutcome(false, this.attempt.elapsed()));
  }

  abortAttempt(error: MeshError): void {
    this.abortError = error;
    if (!this.settled) this.upstream?.destroy(error);
  }

  private connected(upstream: Socket): void {
    if (this.settled) {
      upstream.destroy();
      return;
    }
    this.settled = true;
    const { attempt } = this;
    attempt.retried({ httpStatus: 200, grpcStatus: undefined, failure: 'none', headers: undefined }, true);
    attempt.finish({ kind: 'success', httpStatus: 200, grpcStatus: undefined, latencyMs: attempt.elapsed() });
    const ds = attempt.downstream;
    if (ds instanceof UpgradeDownstream) {
      ds.tunnel(200, withResponseHeaders({}, attempt), upstream, undefined);
      return;
    }
    if (!(ds instanceof H2Downstream) || !ds.respondTunnel(withResponseHeaders({ ':status': 200 }, attempt))) {
      upstream.destroy();
      return;
    }
    relayStream(ds, upstream);
  }

  private failed(error: Error): void {
    this.settled = true;
    const { attempt } = this;
    const ds = attempt.downstream;
    const retried = attempt.retried({ httpStatus: 0, grpcStatus: undefined, failure: 'connect', headers: undefined }, ds.headersSent);
    attempt.finish({ kind: 'local_error', httpStatus: 503, grpcStatus: undefined, latencyMs: attempt.elapsed() });
    if (retried) return;
    const meshError = this.abortError ?? new MeshError(upstreamFailureCode(error, true), `upstream ${attempt.endpoint?.id}: ${error.message}`, {
      cause: error, cluster: attempt.cluster?.name, endpoint: attempt.endpoint?.id,
    });
    ds.reject(meshError, localReplyHeaders(attempt, meshError));
  }
}

/**
 * The tunnel of an HTTP/2 CONNECT stream: its DATA to the upstream socket and back, each side's end (END_STREAM,
 * FIN) passed on to the other; a reset or failure of the TCP connection resets the stream with CONNECT_ERROR
 * (RFC 9113 §8.5), and the stream's end closes the connection.
 */
function relayStream(ds: H2Downstream, upstream: Socket): void {
  const stream = ds.stream;
  stream.pipe(upstream);
  upstream.pipe(stream);
  upstream.once('close', (hadError: boolean) => {
    if (hadError) ds.reset(constants.NGHTTP2_CONNECT_ERROR);
  });
  stream.once('close', () => upstream.destroy());
}
