/**
 * `envoy.filters.network.tcp_proxy` on a filter chain: each connection's bytes are relayed to an endpoint of the
 * chain's cluster (a weighted pick among `weighted_clusters`), picked by the cluster's balancer, admitted by its
 * `max_connections` circuit breaker, connected within its `connect_timeout`, tried up to `max_connect_attempts`
 * times (each on a new pick). Both directions flow with backpressure; a side that half-closes (FIN) is half-closed on
 * the other side, as Envoy does, and the session ends once both directions ended or either side reset. No traffic
 * either way for `idle_timeout` (1 h by default), or `max_downstream_connection_duration`, closes both. Every socket
 * has an 'error' listener. Stats are Envoy's: `tcp.<stat_prefix>.downstream_cx_total`, `downstream_cx_no_route`,
 * `downstream_cx_rx_bytes_total`, `downstream_cx_tx_bytes_total`, `idle_timeout`, `max_downstream_connection_duration`;
 * per cluster `upstream_cx_total`, `upstream_cx_active`, `upstream_cx_connect_fail`, `upstream_cx_connect_timeout`,
 * `upstream_cx_overflow`.
 */
import type { ClientHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { MeshError, type Endpoint } from '@xmesh/core';
import { PipelineCall, type MeshState } from '@xmesh/client';
import type { ClientTls } from '@xmesh/tls';
import type { Counter, Gauge, StatStore } from '@xmesh/stats';
import type { ClusterConfig, TcpProxyConfig } from '@xmesh/xds';
import { connectRelayUpstream } from './relay-upstream.js';
import { openTunnel } from './tcp-tunnel.js';
import { MAX_TIMER_MS } from './session-guard.js';

function ignoreError(): void {}

interface ProxyStats {
  readonly downstreamCxTotal: Counter;
  readonly noRoute: Counter;
  readonly idleTimeout: Counter;
  readonly maxDuration: Counter;
  readonly rxBytes: Counter;
  readonly txBytes: Counter;
}

interface ClusterCxStats {
  readonly total: Counter;
  readonly active: Gauge;
  readonly connectFail: Counter;
  readonly connectTimeout: Counter;
  readonly overflow: Counter;
}

export class TcpProxyService {
  private readonly proxyStats = new Map<string, ProxyStats>();
  private readonly clusterStats = new Map<string, ClusterCxStats>();

  constructor(
    private readonly state: () => MeshState | MeshError,
    private readonly store: StatStore,
    private readonly random: () => number = Math.random,
  ) {}

  /** Relays `socket` (already secured when its chain terminates TLS). */
  serve(config: TcpProxyConfig, socket: Socket): void {
    socket.on('error', ignoreError);
    const stats = this.statsOf(config.statPrefix);
    stats.downstreamCxTotal.inc();
    const state = this.state();
    const clusterName = pickWeighted(config.clusters, this.random);
    const cluster = state instanceof MeshError ? undefined : state.clusters.get(clusterName);
    if (state instanceof MeshError || cluster === undefined) {
      stats.noRoute.inc();
      socket.destroy();
      return;
    }
    const cx = this.clusterStatsOf(clusterName);
    if (!cluster.guard.limits.tryAcquireConnection()) {
      cx.overflow.inc();
      socket.destroy();
      return;
    }
    // Nothing is read from the client until the upstream is connected: its bytes wait in the socket.
    socket.pause();
    const session = new TcpSession(config, socket, stats, cx, () => cluster.guard.limits.releaseConnection());
    session.connect(state, clusterName, config.maxConnectAttempts);
  }

  private statsOf(prefix: string): ProxyStats {
    let stats = this.proxyStats.get(prefix);
    if (stats === undefined) {
      const scope = this.store.root.scope(`tcp.${prefix}`, 'tcp', { envoy_tcp_prefix: prefix });
      stats = {
        downstreamCxTotal: scope.counter('downstream_cx_total'),
        noRoute: scope.counter('downstream_cx_no_route'),
        idleTimeout: scope.counter('idle_timeout'),
        maxDuration: scope.counter('max_downstream_connection_duration'),
        rxBytes: scope.counter('downstream_cx_rx_bytes_total'),
        txBytes: scope.counter('downstream_cx_tx_bytes_total'),
      };
      this.proxyStats.set(prefix, stats);
    }
    return stats;
  }

  private clusterStatsOf(name: string): ClusterCxStats {
    let stats = this.clusterStats.get(name);
    if (stats === undefined) {
      const scope = this.store.cluster(name);
      stats = {
        total: scope.counter('upstream_cx_total'),
        active: scope.gauge('upstream_cx_active'),
        connectFail: scope.counter('upstream_cx_connect_fail'),
        connectTimeout: scope.counter('upstream_cx_connect_timeout'),
        overflow: scope.counter('upstream_cx_overflow'),
      };
      this.clusterStats.set(name, stats);
    }
    return stats;
  }
}

function pickWeighted(clusters: TcpProxyConfig['clusters'], random: () => number): string {
  if (clusters.length === 1) return clusters[0]!.name;
  const total = clusters.reduce((sum, c) => sum + c.weight, 0);
  let target = random() * total;
  for (const c of clusters) {
    target -= c.weight;
    if (target < 0) return c.name;
  }
  return clusters[clusters.length - 1]!.name;
}

/** One downstream connection and its upstream. */
class TcpSession {
  private upstream: Duplex | undefined = undefined;
  private ended = false;
  private durationTimer: NodeJS.Timeout | undefined = undefined;
  private idleTimer: NodeJS.Timeout | undefined = undefined;

  constructor(
    private readonly config: TcpProxyConfig,
    private readonly downstream: Socket,
    private readonly stats: ProxyStats,
    private readonly cx: ClusterCxStats,
    private readonly release: () => void,
  ) {
    // Before the upstream joins, the client leaving ends the session; after, both sides' closes do (see joined).
    downstream.once('close', () => {
      if (this.upstream === undefined) this.end();
    });
    if (config.maxDownstreamConnectionDurationMs > 0) {
      this.durationTimer = setTimeout(() => {
        stats.maxDuration.inc();
        this.end();
      }, Math.min(config.maxDownstreamConnectionDurationMs, MAX_TIMER_MS));
      this.durationTimer.unref();
    }
  }

  /** Picks an endpoint of `cluster` and connects; a failed connection tries again on a new pick while attempts remain. */
  connect(state: MeshState, cluster: string, attemptsLeft: number): void {
    if (this.ended) return;
    const runtime = state.clusters.get(cluster);
    if (runtime === undefined) {
      this.end();
      return;
    }
    const attempt = new TcpPick(state, cluster, runtime.config.connectTimeoutMs, (error) => {
      if (error !== undefined) this.end();
    });
    runtime.pick(attempt, (picked) => this.open(picked, state, cluster, attemptsLeft, runtime.config, runtime.tlsFor(picked.endpoint!)));
  }

  /**
   * Connects to the picked endpoint: TCP (TLS when `tls`), then the CONNECT tunnel when the proxy has one, all
   * within the cluster's `connect_timeout`; a failure tries a new pick while attempts remain.
   * @param tls the cluster's transport socket for the picked endpoint; undefined = plain TCP
   */
  private open(attempt: TcpPick, state: MeshState, cluster: string, attemptsLeft: number, clusterConfig: ClusterConfig, tls: ClientTls | undefined): void {
    const endpoint: Endpoint = attempt.endpoint!;
    if (this.ended) {
      attempt.finish({ kind: 'local_error', httpStatus: 0, grpcStatus: undefined, latencyMs: 0 });
      return;
    }
    this.cx.total.inc();
    const tunneling = this.config.tunneling;
    const http2 = tunneling !== undefined && clusterConfig.http2;
    const { socket: upstream, ready } = connectRelayUpstream(endpoint, tls, http2 ? 'h2' : undefined);
    upstream.on('error', ignoreError);
    let connected = false;
    const timer = setTimeout(() => {
      if (connected) return;
      this.cx.connectTimeout.inc();
      upstream.destroy();
    }, Math.min(clusterConfig.connectTimeoutMs, MAX_TIMER_MS));
    timer.unref();
    const established = (data: Duplex): void => {
      connected = true;
      clearTimeout(timer);
      attempt.finish({ kind: 'success', httpStatus: 200, grpcStatus: undefined, latencyMs: attempt.elapsed() });
      this.joined(data);
    };
    upstream.once(ready, () => {
      if (tunneling === undefined) established(upstream);
      else openTunnel(upstream, tunneling, http2, established);
    });
    upstream.once('close', () => {
      clearTimeout(timer);
      if (connected) return;
      this.cx.connectFail.inc();
      attempt.finish({ kind: 'local_error', httpStatus: 503, grpcStatus: undefined, latencyMs: attempt.elapsed() });
      if (attemptsLeft > 1 && !this.ended) this.connect(state, cluster, attemptsLeft - 1);
      else this.end();
    });
  }

  /** `upstream` is the upstream socket, or the CONNECT tunnel's byte stream. */
  private joined(upstream: Duplex): void {
    if (this.ended) {
      upstream.destroy();
      return;
    }
    this.upstream = upstream;
    this.cx.active.inc();
    const downstream = this.downstream;
    // A FIN from one side ends the other side's writing only; each socket closes once both of its directions ended.
    downstream.allowHalfOpen = true;
    let lastActivity = Date.now();
    downstream.on('data', (chunk: Buffer) => {
      lastActivity = Date.now();
      this.stats.rxBytes.inc(chunk.length);
    });
    upstream.on('data', (chunk: Buffer) => {
      lastActivity = Date.now();
      this.stats.txBytes.inc(chunk.length);
    });
    downstream.pipe(upstream);
    upstream.pipe(downstream);
    // One side closed without a reset: the other is ended (what it has to send is flushed, then FIN) and the
    // session ends when it closes too (or at idle_timeout). A reset ends the session at once.
    const closeWith = (other: Duplex, reset: () => boolean) => (hadError: boolean): void => {
      if (hadError || reset() || other.destroyed || other.closed) this.end();
      else other.end();
    };
    downstream.once('close', closeWith(upstream, () => false));
    // An HTTP/2 tunnel's stream reset (RST_STREAM) is the tunnel's TCP reset.
    upstream.once('close', closeWith(downstream, () => ((upstream as Partial<ClientHttp2Stream>).rstCode ?? 0) > 0));
    downstream.resume();
    const idle = this.config.idleTimeoutMs;
    if (idle > 0) {
      // No traffic either way for idle_timeout.
      const check = (): void => {
        if (this.ended) return;
        const quiet = Date.now() - lastActivity;
        if (quiet >= idle) {
          this.stats.idleTimeout.inc();
          this.end();
          return;
        }
        const next = setTimeout(check, Math.min(idle - quiet, MAX_TIMER_MS));
        next.unref();
        this.idleTimer = next;
      };
      this.idleTimer = setTimeout(check, Math.min(idle, MAX_TIMER_MS));
      this.idleTimer.unref();
    }
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.durationTimer);
    clearTimeout(this.idleTimer);
    if (this.upstream !== undefined) this.cx.active.dec();
    this.upstream?.destroy();
    this.downstream.destroy();
    this.release();
  }
}

/** The balancer's pick of one connect attempt: a PipelineCall to the cluster, with no route and no filters. */
class TcpPick extends PipelineCall {
  constructor(state: MeshState, cluster: string, connectTimeoutMs: number, private readonly onFail: (error: MeshError | undefined) => void) {
    // No services: a TCP connection is not an HTTP request, so no upstream_rq_* stats are charged.
    super({ ...state, services: undefined }, { authority: cluster, path: '', method: 'CONNECT', headers: new Map(), grpc: false }, state.clock.now() + connectTimeoutMs);
  }

  fail(error: MeshError): void {
    this.finish({ kind: 'local_error', httpStatus: 0, grpcStatus: undefined, latencyMs: this.elapsed() });
    this.onFail(error);
  }
}
