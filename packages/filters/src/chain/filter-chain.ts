/**
 * Runs a listener's HTTP filters (fault, local rate limit, rbac, ext_authz, cors, buffer) for one routed
 * call, in chain order, with each filter's per-route config, then gives the route's own answer when it has
 * one (direct_response, redirect: Envoy's router, the last filter). Synchronous unless a filter waits: a
 * fault delay (a clock timer resumes the chain at the same filter, whose abort is decided after the
 * delay, as Envoy), an authorization check or a request body being buffered (the chain resumes at the
 * next filter). Filter state (buckets, active-fault counts, compiled policies) is kept per config object,
 * so it lives as long as the snapshot that holds it. One instance per mesh.
 */
import { MeshError, type Clock } from '@xmesh/core';
import { compileHeaderMatchers, type HeaderSource, type RouteDecision } from '@xmesh/router';
import { compileDescriptors, LocalRateLimiter, type Descriptor, type DescriptorBuilder } from '@xmesh/ratelimit';
import type { StatStore, Counter, Gauge } from '@xmesh/stats';
import { faultChannel, rateLimitChannel } from '@xmesh/stats';
import { isGrpcContentType, streamBufferLimit } from '../grpc-bridge/grpc-http1-bridge.js';
import type { BufferConfig, CompressorConfig, DecompressorConfig, ExtAuthzConfig, FaultConfig, HealthCheckFilterConfig, HttpFilter, LocalRateLimitConfig, RateLimit, RbacConfig } from '@xmesh/xds';
import { FaultFilter } from '../fault/fault-filter.js';
import { activeFilterConfig } from './per-filter-config.js';
import { EMBEDDED_CONNECTION, type DownstreamConnection, type FilterCall } from './filter-call.js';
import type { SideCalls } from './side-calls.js';
import { upgradeAllowed, upgradeOf } from './upgrade.js';
import { compileRbac, downstreamRemoteAddress, type RbacEngine, type RbacInput } from '../rbac/rbac-engine.js';
import { compileRbacMatcher } from '../rbac/rbac-matcher-engine.js';
import { ExtAuthzFilter, type ExtAuthzStats } from '../ext-authz/ext-authz-filter.js';
import { CorsFilter, type CorsStats } from '../cors/cors-filter.js';
import { CsrfFilter, type CsrfStats } from '../csrf/csrf-filter.js';
import { createDecoder, decodes, remainingEncodings, ResponseCompression, type CompressorStats, type DecompressorStats } from '../compressor/response-compression.js';

export type { FilterCall };

const NO_DESCRIPTORS: readonly Descriptor[] = Object.freeze([]);

export interface FilterChainOptions {
  readonly clock: Clock;
  readonly stats: StatStore;
  /** Uniform in [0, 1); default Math.random. */
  readonly random?: () => number;
  /** How ext_authz reaches its authorization server; without it every check is an error (failure_mode_allow decides). */
  readonly sideCalls?: SideCalls;
  /** The wall clock (epoch ms) for the time a check request carries; default Date.now. */
  readonly now?: () => number;
}

interface RbacStats {
  readonly allowed: Counter;
  readonly denied: Counter;
  readonly shadowAllowed: Counter;
  readonly shadowDenied: Counter;
}

/** Envoy's words and status for an RBAC denial. */
const RBAC_DENIED = Object.freeze({ status: 403, headers: Object.freeze([]), body: 'RBAC: access denied' });
/** Envoy's answer to an upgrade the listener does not allow: 403, no body (the sidecar then closes the connection). */
const UPGRADE_REFUSED = Object.freeze({ status: 403, headers: Object.freeze([]), body: '' });
const PAYLOAD_TOO_LARGE = Object.freeze({ status: 413, headers: Object.freeze([]), body: 'Payload Too Large' });

interface FaultStats {
  readonly delaysInjected: Counter;
  readonly abortsInjected: Counter;
  readonly faultsOverflow: Counter;
  readonly activeFaults: Gauge;
}

export class FilterChain {
  private readonly clock: Clock;
  private readonly stats: StatStore;
  private readonly random: () => number;
  private readonly faults = new WeakMap<FaultConfig, FaultFilter>();
  private readonly limiters = new WeakMap<LocalRateLimitConfig, LocalRateLimiter>();
  private readonly descriptorBuilders = new WeakMap<readonly RateLimit[], Map<number, DescriptorBuilder>>();
  private readonly faultStats = new Map<string, FaultStats>();
  private readonly rbacEngines = new WeakMap<object, RbacEngine>();
  private readonly embeddedConnections = new WeakMap<object, DownstreamConnection>();
  private readonly rbacStats = new Map<string, RbacStats>();
  private readonly extAuthz = new WeakMap<ExtAuthzConfig, ExtAuthzFilter>();
  private readonly extAuthzStats = new Map<string, ExtAuthzStats>();
  private readonly corsStats = new Map<string, CorsStats>();
  private readonly csrfStats = new Map<string, CsrfStats>();
  private readonly healthCheckMatchers = new WeakMap<HealthCheckFilterConfig, (request: HeaderSource) => boolean>();
  /**
   * The server fails its health checks (the sidecar's admin `POST /healthcheck/fail`, until `/healthcheck/ok`):
   * health check filters answer 503.
   */
  healthCheckFailed = false;
  /** The applied config's `node.cluster`: the cluster health check answers name ('' when none). */
  localCluster = '';
  /** A cluster's hosts, and those healthy or degraded (Envoy's membership_total, _healthy + _degraded); undefined when it does not exist. */
  clusterMembership: (cluster: string) => { readonly total: number; readonly available: number } | undefined = () => undefined;
  private readonly compressorStats = new Map<string, CompressorStats>();
  private readonly decompressorStats = new Map<string, { readonly request: DecompressorStats; readonly response: DecompressorStats }>();
  private readonly cors: CorsFilter;
  private readonly csrf: CsrfFilter;
  private readonly sideCalls: SideCalls | undefined;
  private readonly now: () => number;

  constructor(options: FilterChainOptions) {
    this.clock = options.clock;
    this.stats = options.stats;
    this.random = options.random ?? Math.random;
    this.sideCalls = options.sideCalls;
    this.now = options.now ?? Date.now;
    this.cors = new CorsFilter(this.random);
    this.csrf = new CsrfFilter(this.random);
  }

  /**
   * Runs the filters for `call` (routed: `decision` set). Calls `pass(call)` to continue or
   * `fail(call, error)` to end it with a local reply; neither when the caller cancelled during a delay.
   */
  run<C extends FilterCall>(call: C, pass: (call: C) => void, fail: (call: C, error: MeshError) => void): void {
    const upgrade = upgradeOf(call.request);
    if (upgrade !== undefined && !upgradeAllowed(upgrade, call.decision!)) {
      // Envoy's connection manager refuses it before any filter runs (and closes the connection after).
      this.stats.http(call.decision!.listener?.statPrefix ?? '').counter('downstream_rq_ws_on_non_ws_route').inc();
      fail(call, new MeshError('XMESH_LOCAL_REPLY', `upgrade to "${upgrade}" is not enabled on this listener or route (upgrade_configs)`, { reply: UPGRADE_REFUSED }));
      return;
    }
    this.runFrom(call, 0, false, pass, fail);
  }

  /** The limiter state for a config (exposed for headers and tests). */
  rateLimiter(config: LocalRateLimitConfig): LocalRateLimiter {
    let limiter = this.limiters.get(config);
    if (limiter === undefined) {
      const scope = this.stats.localRateLimit(config.statPrefix);
      limiter = new LocalRateLimiter(config, {
        clock: this.clock,
        random: this.random,
        stats: { enabled: scope.counter('enabled'), enforced: scope.counter('enforced'), ok: scope.counter('ok'), rateLimited: scope.counter('rate_limited') },
      });
      this.limiters.set(config, limiter);
    }
    return limiter;
  }

  faultFilter(config: FaultConfig): FaultFilter {
    let filter = this.faults.get(config);
    if (filter === undefined) {
      filter = new FaultFilter(config, this.random);
      this.faults.set(config, filter);
    }
    return filter;
  }

  private runFrom<C extends FilterCall>(call: C, start: number, delayed: boolean, pass: (call: C) => void, fail: (call: C, error: MeshError) => void): void {
    const decision = call.decision!;
    const filters = decision.listener?.httpFilters;
    const count = filters?.length ?? 0;
    for (let i = start; i < count; i++) {
      const filter = filters![i]!;
      const active = activeFilterConfig(filter, decision);
      if (active === undefined) continue;
      switch (active.kind) {
        case 'local_ratelimit': {
          const error = this.rateLimit(call, active.config, decision);
          if (error !== undefined) {
            fail(call, error);
            return;
          }
          continue;
        }
        case 'rbac': {
          const error = this.rbac(call, filter, active.config, decision);
          if (error !== undefined) {
            fail(call, error);
            return;
          }
          continue;
        }
        case 'health_check': {
          const answer = this.healthCheck(call, active.config, decision);
          if (answer !== undefined) {
            fail(call, answer);
            return;
          }
          continue;
        }
        case 'csrf': {
          const error = this.csrf.check(call.request, active.config, this.csrfStatsFor(decision));
          if (error !== undefined) {
            fail(call, error);
            return;
          }
          continue;
        }
        case 'cors': {
          const outcome = this.cors.run(call.request, decision, filter.name, this.corsStatsFor(decision));
          if (outcome instanceof MeshError) {
            fail(call, outcome);
            return;
          }
          if (outcome.responseHeaders !== undefined) call.addResponseHeaders?.(outcome.responseHeaders);
          continue;
        }
        case 'ext_authz': {
          const next = (error: MeshError | undefined): void => {
            if (error !== undefined) fail(call, error);
            else this.runFrom(call, i + 1, false, pass, fail);
          };
          const outcome = this.extAuthzFilter(active.config, decision).check(call, decision, filter.name, this.embeddedConnection(decision), next);
          if (outcome === 'pending') return;
          if (outcome !== undefined) {
            fail(call, outcome);
            return;
          }
          continue;
        }
        case 'buffer':
          if (this.buffer(call, active.config, i, pass, fail)) return;
          continue;
        case 'compressor':
          this.compressor(call, filter.name, active.config, decision);
          continue;
        case 'decompressor':
          this.decompressor(call, active.config, decision);
          continue;
        case 'grpc_http1_bridge':
          if (call.bridgeGrpcResponse !== undefined && isGrpcContentType(call.request.headers.get('content-type'))) call.bridgeGrpcResponse(streamBufferLimit(decision));
          continue;
        case 'fault':
          break;
      }
      const fault = this.faultFilter(active.config);
      if (!fault.applies(call.request, decision.cluster)) continue;
      const stats = this.faultStatsFor(decision);
      if (!(delayed && i === start)) {
        const delayMs = fault.delayMs(call.request);
        if (delayMs > 0) {
          if (!fault.hasRoom()) {
            stats.faultsOverflow.inc();
          } else {
            this.delay(call, fault, stats, delayMs, i, pass, fail);
            return;
          }
        }
      }
      if (!fault.hasRoom()) continue;
      const abort = fault.abort(call.request, call.request.grpc, decision.cluster);
      if (abort !== undefined) {
        stats.abortsInjected.inc();
        if (faultChannel.hasSubscribers) faultChannel.publish({ authority: call.request.authority, path: call.request.path, cluster: decision.cluster, kind: 'abort', status: abort.httpStatus });
        fail(call, abort);
        return;
      }
    }
    // Envoy's router, the last filter: a route that answers itself answers now.
    const local = decision.local;
    if (local !== undefined) {
      fail(call, local.error(call.request));
      return;
    }
    pass(call);
  }

  /**
   * Envoy's health check filter: a request matching every header matcher is a health check, answered here (200, or
   * 503 while the server fails its health checks) unless the filter passes them through, its answer naming the
   * local cluster (`x-envoy-upstream-healthchecked-cluster`). While the server fails its health checks, other
   * responses say so (`x-envoy-immediate-health-check-fail`).
   */
  private healthCheck(call: FilterCall, config: HealthCheckFilterConfig, decision: RouteDecision): MeshError | undefined {
    let matches = this.healthCheckMatchers.get(config);
    if (matches === undefined) this.healthCheckMatchers.set(config, (matches = compileHeaderMatchers(config.headers, 'health_check.headers')));
    const localCluster = this.localCluster;
    if (!matches(call.request)) {
      if (this.healthCheckFailed) call.addResponseHeaders?.({ 'x-envoy-immediate-health-check-fail': 'true' });
      return undefined;
    }
    if (config.passThroughMode && !this.healthCheckFailed) {
      call.addResponseHeaders?.({ 'x-envoy-upstream-healthchecked-cluster': localCluster });
      return undefined;
    }
    const failing = this.healthCheckFailed ? 'the server fails its health checks' : this.clustersFailing(config.clusterMinHealthyPercentages);
    return new MeshError('XMESH_LOCAL_REPLY', failing ?? 'health check answered', {
      reply: { status: failing === undefined ? 200 : 503, headers: [['x-envoy-upstream-healthchecked-cluster', localCluster]], body: '' },
    });
  }

  /** Why a health check fails on the health of `minimums`' clusters (Envoy's rule), or undefined. */
  private clustersFailing(minimums: ReadonlyMap<string, number>): string | undefined {
    for (const [cluster, minimum] of minimums) {
      const membership = this.clusterMembership(cluster);
      if (membership === undefined) return `cluster "${cluster}" does not exist`;
      if (membership.total === 0) {
        if (minimum === 0) continue;
        return `cluster "${cluster}" has no hosts`;
      }
      if (membership.available * 100 < membership.total * minimum) return `cluster "${cluster}" has ${membership.available} of ${membership.total} hosts healthy or degraded, under ${minimum} %`;
    }
    return undefined;
  }

  /** RBAC: the shadow rules are counted, the enforced rules decide (403 `RBAC: access denied`). */
  private rbac(call: FilterCall, filter: HttpFilter, config: RbacConfig, decision: RouteDecision): MeshError | undefined {
    // Stats are the listener filter's (a per-route config only replaces the rules).
    const listenerConfig = filter.kind === 'rbac' ? filter.config : config;
    const stats = this.rbacStatsFor(decision, listenerConfig);
    if (config.rules === undefined && config.shadowRules === undefined) return undefined;
    const input = this.rbacInput(call, decision);
    if (config.shadowRules !== undefined) {
      if (this.rbacEngine(config.shadowRules).allowed(input)) stats.shadowAllowed.inc();
      else stats.shadowDenied.inc();
    }
    if (config.rules === undefined) return undefined;
    if (this.rbacEngine(config.rules).allowed(input)) {
      stats.allowed.inc();
      return undefined;
    }
    stats.denied.inc();
    return new MeshError('XMESH_DENIED', 'RBAC: access denied', { cluster: decision.cluster || undefined, reply: RBAC_DENIED });
  }

  private rbacInput(call: FilterCall, decision: RouteDecision): RbacInput {
    const connection = call.downstreamConnection ?? this.embeddedConnection(decision);
    let remote: string | undefined | null = null;
    return {
      request: call.request,
      connection,
      remoteIp: () => {
        if (remote === null) remote = downstreamRemoteAddress(connection.remoteAddress, call.request.headers.get('x-forwarded-for'), decision.listener?.callerTrust);
        return remote;
      },
    };
  }

  /**
   * The app as its own downstream (embedded mode): a loopback connection to the port of the listener the call
   * was routed by, as a sidecar beside the app would see it.
   */
  private embeddedConnection(decision: RouteDecision): DownstreamConnection {
    const listener = decision.listener;
    const port = listener?.address?.port;
    if (listener === undefined || port === undefined || port === 0) return EMBEDDED_CONNECTION;
    let connection = this.embeddedConnections.get(listener);
    if (connection === undefined) this.embeddedConnections.set(listener, (connection = Object.freeze({ ...EMBEDDED_CONNECTION, localPort: port })));
    return connection;
  }

  private rbacEngine(rules: NonNullable<RbacConfig['rules']>): RbacEngine {
    let engine = this.rbacEngines.get(rules);
    if (engine === undefined) this.rbacEngines.set(rules, (engine = 'policies' in rules ? compileRbac(rules) : compileRbacMatcher(rules)));
    return engine;
  }

  /**
   * The buffer filter: the whole body (at most `max_request_bytes`) is read before the request goes on; a
   * longer one is answered 413 `Payload Too Large`. True when the chain waits (it resumes at the next filter).
   */
  private buffer<C extends FilterCall>(call: C, config: BufferConfig, index: number, pass: (call: C) => void, fail: (call: C, error: MeshError) => void): boolean {
    if (call.bufferBody === undefined) return false;
    let cancelled = false;
    call.onCancel(() => {
      cancelled = true;
    });
    call.bufferBody(config.maxRequestBytes, false, (body) => {
      call.onCancel(undefined);
      if (cancelled || call.cancelled) return;
      if (body === 'too_large') fail(call, new MeshError('XMESH_LOCAL_REPLY', `the request body is larger than the buffer filter's max_request_bytes (${config.maxRequestBytes})`, { reply: PAYLOAD_TOO_LARGE }));
      else this.runFrom(call, index + 1, false, pass, fail);
    });
    return true;
  }

  /**
   * A compressor filter: registers with the call's response compression (the front end compresses when
   * the response headers allow it) and removes Accept-Encoding from the upstream request when configured
   * (the route's `CompressorPerRoute.overrides` may say otherwise).
   */
  private compressor(call: FilterCall, name: string, config: CompressorConfig, decision: RouteDecision): void {
    if (!('compression' in call)) return;
    const override = decision.weightedEntry.typedPerFilterConfig[name] ?? decision.route.typedPerFilterConfig[name] ?? decision.virtualHost.typedPerFilterConfig[name];
    const perRoute = override?.kind === 'compressor' && override.config.kind === 'overrides' ? override.config.removeAcceptEncodingHeader : undefined;
    const compression = (call.compression ??= new ResponseCompression(call.request.headers.get('accept-encoding'), call.request.method));
    compression.add(config, this.compressorStatsFor(decision, config.statsScope));
    if (perRoute ?? config.removeAcceptEncodingHeader) call.removeRequestHeaders?.(['accept-encoding']);
  }

  /**
   * A decompressor filter. Request direction: a body whose first Content-Encoding is the library's goes
   * upstream decoded (that coding and Content-Length removed). Response direction: the library's encoding
   * is advertised in Accept-Encoding (`advertise_accept_encoding`) and the response is decoded by the front end.
   */
  private decompressor(call: FilterCall, config: DecompressorConfig, decision: RouteDecision): void {
    const stats = this.decompressorStatsFor(decision, config.statsScope);
    const encoding = config.library.encoding;
    if (config.requestEnabled && call.decodeRequestBody !== undefined) {
      const headers = call.request.headers;
      const contentEncoding = headers.get('content-encoding');
      const noTransform = !config.requestIgnoreNoTransform && (headers.get('cache-control') ?? '').toLowerCase().split(',').some((t) => t.trim() === 'no-transform');
      if (decodes(contentEncoding, encoding) && !noTransform) {
        const rest = remainingEncodings(contentEncoding!);
        if (rest !== undefined) call.addRequestHeaders?.([{ key: 'content-encoding', value: rest, append: false }]);
        call.removeRequestHeaders?.(rest === undefined ? ['content-encoding', 'content-length'] : ['content-length']);
        stats.request.decompressed.inc();
        call.decodeRequestBody(createDecoder(config.library, stats.request));
      } else {
        stats.request.notDecompressed.inc();
      }
    }
    if (!config.responseEnabled || !('compression' in call)) return;
    if (config.advertiseAcceptEncoding) call.addRequestHeaders?.([{ key: 'accept-encoding', value: encoding, append: true }]);
    const compression = (call.compression ??= new ResponseCompression(call.request.headers.get('accept-encoding'), call.request.method));
    compression.addDecompressor(config, stats.response);
  }

  private decompressorStatsFor(decision: RouteDecision, statsScope: string): { readonly request: DecompressorStats; readonly response: DecompressorStats } {
    const prefix = decision.listener?.statPrefix ?? '';
    const key = `${prefix}\u0000${statsScope}`;
    return this.decompressorStats.get(key) ?? remember(this.decompressorStats, key, () => {
      const direction = (name: string): DecompressorStats => {
        const scope = this.stats.http(prefix).scope(`${statsScope}.${name}`, `${statsScope}.${name}`);
        return {
          decompressed: scope.counter('decompressed'),
          notDecompressed: scope.counter('not_decompressed'),
          totalUncompressedBytes: scope.counter('total_uncompressed_bytes'),
          totalCompressedBytes: scope.counter('total_compressed_bytes'),
        };
      };
      return { request: direction('request'), response: direction('response') };
    });
  }

  private compressorStatsFor(decision: RouteDecision, statsScope: string): CompressorStats {
    const prefix = decision.listener?.statPrefix ?? '';
    const key = `${prefix}\u0000${statsScope}`;
    return this.compressorStats.get(key) ?? remember(this.compressorStats, key, () => {
      const scope = this.stats.http(prefix).scope(statsScope, statsScope);
      return {
        compressed: scope.counter('compressed'),
        notCompressed: scope.counter('not_compressed'),
        noAcceptHeader: scope.counter('no_accept_header'),
        headerIdentity: scope.counter('header_identity'),
        headerCompressorUsed: scope.counter('header_compressor_used'),
        headerCompressorOvershadowed: scope.counter('header_compressor_overshadowed'),
        headerWildcard: scope.counter('header_wildcard'),
        headerNotValid: scope.counter('header_not_valid'),
        totalUncompressedBytes: scope.counter('total_uncompressed_bytes'),
        totalCompressedBytes: scope.counter('total_compressed_bytes'),
        contentLengthTooSmall: scope.counter('content_length_too_small'),
        notCompressedEtag: scope.counter('not_compressed_etag'),
      };
    });
  }

  private extAuthzFilter(config: ExtAuthzConfig, decision: RouteDecision): ExtAuthzFilter {
    let filter = this.extAuthz.get(config);
    if (filter === undefined) {
      filter = new ExtAuthzFilter(config, this.extAuthzStatsFor(decision, config.statPrefix), this.sideCalls, this.random, this.now);
      this.extAuthz.set(config, filter);
    }
    return filter;
  }

  private delay<C extends FilterCall>(call: C, fault: FaultFilter, stats: FaultStats, delayMs: number, index: number, pass: (call: C) => void, fail: (call: C, error: MeshError) => void): void {
    fault.active++;
    stats.activeFaults.inc();
    stats.delaysInjected.inc();
    if (faultChannel.hasSubscribers) faultChannel.publish({ authority: call.request.authority, path: call.request.path, cluster: call.decision!.cluster, kind: 'delay', delayMs });
    const release = (): void => {
      fault.active--;
      stats.activeFaults.dec();
    };
    // The caller gives up at its deadline, delay or not (a gRPC client's deadline runs in the client).
    const untilDeadline = (call.deadline ?? Infinity) - this.clock.now();
    const cut = untilDeadline < delayMs;
    const timer = this.clock.setTimeout(() => {
      call.onCancel(undefined);
      release();
      if (call.cancelled) return;
      if (cut) fail(call, new MeshError('XMESH_TIMEOUT', `deadline exceeded during a ${delayMs} ms fault delay`, { cluster: call.decision?.cluster, httpStatus: 504 }));
      else this.runFrom(call, index, true, pass, fail);
    }, cut ? Math.max(0, untilDeadline) : delayMs);
    call.onCancel(() => {
      this.clock.clearTimeout(timer);
      release();
    });
  }

  private rateLimit(call: FilterCall, config: LocalRateLimitConfig, decision: RouteDecision): MeshError | undefined {
    const limiter = this.rateLimiter(config);
    const action = decision.route.action;
    const rateLimits = action.rateLimits.length > 0 ? action.rateLimits : decision.virtualHost.rateLimits;
    // No `rate_limits` on the route or virtual host: no descriptors, and no input object to build them from.
    const descriptors = rateLimits.length === 0 ? NO_DESCRIPTORS : this.descriptorsFor(rateLimits, config.stage)({ request: call.request, remoteAddress: call.remoteAddress, cluster: decision.cluster });
    const verdict = limiter.check(descriptors);
    if (verdict === 'disabled') return undefined;
    if (config.enableXRatelimitHeaders && verdict !== 'limited') {
      const headers = limiter.xRateLimitHeaders();
      if (headers !== undefined) call.addResponseHeaders?.(headers);
    }
    if (verdict === 'ok') return undefined;
    if (verdict === 'shadow_limited' && limiter.headersWhenNotEnforced.length > 0) call.addRequestHeaders?.(limiter.headersWhenNotEnforced);
    if (rateLimitChannel.hasSubscribers) rateLimitChannel.publish({ authority: call.request.authority, path: call.request.path, statPrefix: config.statPrefix, verdict });
    return verdict === 'limited' ? limiter.rejection(decision.cluster) : undefined;
  }

  private descriptorsFor(rateLimits: readonly RateLimit[], stage: number): DescriptorBuilder {
    let byStage = this.descriptorBuilders.get(rateLimits);
    if (byStage === undefined) this.descriptorBuilders.set(rateLimits, (byStage = new Map()));
    let builder = byStage.get(stage);
    if (builder === undefined) byStage.set(stage, (builder = compileDescriptors(rateLimits, stage, 'rate_limits')));
    return builder;
  }

  private rbacStatsFor(decision: RouteDecision, config: RbacConfig): RbacStats {
    const prefix = decision.listener?.statPrefix ?? '';
    const key = `${prefix}\u0000${config.rulesStatPrefix}\u0000${config.shadowRulesStatPrefix}`;
    return this.rbacStats.get(key) ?? remember(this.rbacStats, key, () => {
      const scope = this.stats.http(prefix).scope('rbac', 'rbac');
      return {
        allowed: scope.counter(`${config.rulesStatPrefix}allowed`),
        denied: scope.counter(`${config.rulesStatPrefix}denied`),
        shadowAllowed: scope.counter(`${config.shadowRulesStatPrefix}shadow_allowed`),
        shadowDenied: scope.counter(`${config.shadowRulesStatPrefix}shadow_denied`),
      };
    });
  }

  private extAuthzStatsFor(decision: RouteDecision, statPrefix: string): ExtAuthzStats {
    const prefix = decision.listener?.statPrefix ?? '';
    const key = `${prefix}\u0000${statPrefix}`;
    return this.extAuthzStats.get(key) ?? remember(this.extAuthzStats, key, () => {
      let scope = this.stats.http(prefix).scope('ext_authz', 'ext_authz');
      if (statPrefix !== '') scope = scope.scope(statPrefix, statPrefix);
      return {
        ok: scope.counter('ok'),
        denied: scope.counter('denied'),
        error: scope.counter('error'),
        failureModeAllowed: scope.counter('failure_mode_allowed'),
        disabled: scope.counter('disabled'),
        invalid: scope.counter('invalid'),
      };
    });
  }

  private csrfStatsFor(decision: RouteDecision): CsrfStats {
    const prefix = decision.listener?.statPrefix ?? '';
    return this.csrfStats.get(prefix) ?? remember(this.csrfStats, prefix, () => {
      const scope = this.stats.http(prefix);
      return {
        missingSourceOrigin: scope.counter('csrf.missing_source_origin'),
        requestInvalid: scope.counter('csrf.request_invalid'),
        requestValid: scope.counter('csrf.request_valid'),
      };
    });
  }

  private corsStatsFor(decision: RouteDecision): CorsStats {
    const prefix = decision.listener?.statPrefix ?? '';
    return this.corsStats.get(prefix) ?? remember(this.corsStats, prefix, () => {
      const scope = this.stats.http(prefix).scope('cors', 'cors');
      return { originValid: scope.counter('origin_valid'), originInvalid: scope.counter('origin_invalid') };
    });
  }

  private faultStatsFor(decision: RouteDecision): FaultStats {
    const prefix = decision.listener?.statPrefix ?? '';
    return this.faultStats.get(prefix) ?? remember(this.faultStats, prefix, () => {
      const scope = this.stats.http(prefix);
      return {
        delaysInjected: scope.counter('fault.delays_injected'),
        abortsInjected: scope.counter('fault.aborts_injected'),
        faultsOverflow: scope.counter('fault.faults_overflow'),
        activeFaults: scope.gauge('fault.active_faults'),
      };
    });
  }
}

/**
 * `create()`, kept in `map` under `key` (stats objects, made once per key). Callers look the key up
 * first (`map.get(key) ?? remember(...)`), so no closure is made when it is there.
 */
function remember<V>(map: Map<string, V>, key: string, create: () => V): V {
  const value = create();
  map.set(key, value);
  return value;
}
