/**
 * `envoy.filters.http.local_ratelimit`, decided synchronously per call.
 *
 * Envoy's trap, kept on purpose: `filter_enabled` and `filter_enforced` default to 0 %, so a
 * config that sets only `token_bucket` checks nothing. Both must be set (100 % usually) for
 * the filter to reject; `filter_enabled` alone is shadow mode (counted, never rejected).
 */
import { GrpcStatus, MeshError } from '@xmesh/core';
import type { HeaderValueOption, LocalRateLimitConfig } from '@xmesh/xds';
import type { Descriptor } from './descriptors.js';
import { fractionHit } from './fraction.js';
import { KeyedBuckets } from './keyed-buckets.js';
import { TokenBucket } from './token-bucket.js';

/** A plain counter; `@xmesh/stats` counters fit. */
export interface RateLimitCounter {
  inc(): void;
}

/** Envoy's `<stat_prefix>.http_local_rate_limit.{enabled,enforced,ok,rate_limited}`. */
export interface LocalRateLimitStats {
  readonly enabled: RateLimitCounter;
  readonly enforced: RateLimitCounter;
  readonly ok: RateLimitCounter;
  readonly rateLimited: RateLimitCounter;
}

export interface LocalRateLimiterOptions {
  readonly clock: { now(): number };
  /** Uniform in [0, 1); default Math.random. */
  readonly random?: () => number;
  readonly stats?: LocalRateLimitStats;
  /** Bound on per-value buckets for each wildcard descriptor; default 10 000. */
  readonly maxDescriptorKeys?: number;
}

/**
 * - `disabled`: `filter_enabled` missed; nothing was checked.
 * - `ok`: a token was taken.
 * - `limited`: reject the call with `rejection`.
 * - `shadow_limited`: over the limit but not enforced; let it through (add `headersWhenNotEnforced`).
 */
export type RateLimitVerdict = 'disabled' | 'ok' | 'limited' | 'shadow_limited';

interface CompiledDescriptor {
  readonly entries: Descriptor;
  /** Set when every entry has a value: one shared bucket. */
  readonly bucket: TokenBucket | undefined;
  /** Set when an entry's value is empty (a wildcard): a bucket per concrete value. */
  readonly keyed: KeyedBuckets | undefined;
}

export class LocalRateLimiter {
  private readonly clock: { now(): number };
  private readonly random: () => number;
  private readonly stats: LocalRateLimitStats | undefined;
  private readonly defaultBucket: TokenBucket | undefined;
  private readonly descriptors: readonly CompiledDescriptor[];
  /** The bucket that decided the last `check`, for the `x-ratelimit-*` headers. */
  private lastBucket: TokenBucket | undefined = undefined;

  constructor(readonly config: LocalRateLimitConfig, options: LocalRateLimiterOptions) {
    this.clock = options.clock;
    this.random = options.random ?? Math.random;
    this.stats = options.stats;
    const now = this.clock.now();
    this.defaultBucket = config.tokenBucket ? new TokenBucket(config.tokenBucket, now) : undefined;
    const maxKeys = options.maxDescriptorKeys ?? 10_000;
    this.descriptors = config.descriptors.map((d) => {
      const wildcard = d.entries.some((e) => e.value === '');
      return {
        entries: d.entries,
        bucket: wildcard ? undefined : new TokenBucket(d.tokenBucket, now),
        keyed: wildcard ? new KeyedBuckets(d.tokenBucket, { maxKeys }) : undefined,
      };
    });
  }

  /** Decides one call; `descriptors` come from `compileDescriptors`. */
  check(descriptors: readonly Descriptor[]): RateLimitVerdict {
    if (!fractionHit(this.config.filterEnabled, this.random)) return 'disabled';
    this.stats?.enabled.inc();
    if (this.allowed(descriptors, this.clock.now())) {
      this.stats?.ok.inc();
      return 'ok';
    }
    this.stats?.rateLimited.inc();
    if (!fractionHit(this.config.filterEnforced, this.random)) return 'shadow_limited';
    this.stats?.enforced.inc();
    return 'limited';
  }

  /**
   * The error for a `limited` call: the configured HTTP status (429 by default); gRPC
   * UNAVAILABLE as Envoy maps 429, or RESOURCE_EXHAUSTED with `rate_limited_as_resource_exhausted`.
   */
  rejection(cluster: string | undefined): MeshError {
    return new MeshError('XMESH_RATE_LIMITED', `local rate limit exceeded (${this.config.statPrefix})`, {
      cluster,
      httpStatus: this.config.status,
      grpcStatus: this.config.rateLimitedAsResourceExhausted ? GrpcStatus.RESOURCE_EXHAUSTED : GrpcStatus.UNAVAILABLE,
    });
  }

  /** Request headers to add to a `shadow_limited` call. */
  get headersWhenNotEnforced(): readonly HeaderValueOption[] {
    return this.config.requestHeadersToAddWhenNotEnforced;
  }

  /**
   * `x-ratelimit-limit`, `-remaining` and `-reset` (seconds, rounded up) of the bucket that decided
   * the last `check`, when `enable_x_ratelimit_headers` is on; else undefined. Read right after `check`.
   */
  xRateLimitHeaders(): Record<string, string> | undefined {
    const bucket = this.lastBucket;
    if (!this.config.enableXRatelimitHeaders || bucket === undefined) return undefined;
    const now = this.clock.now();
    return {
      'x-ratelimit-limit': String(bucket.spec.maxTokens),
      'x-ratelimit-remaining': String(Math.floor(bucket.remaining(now))),
      'x-ratelimit-reset': String(Math.ceil(bucket.msUntilNextFill(now) / 1000)),
    };
  }

  private allowed(descriptors: readonly Descriptor[], now: number): boolean {
    let matched = false;
    for (let i = 0; i < descriptors.length; i++) {
      const requested = descriptors[i]!;
      for (let j = 0; j < this.descriptors.length; j++) {
        const configured = this.descriptors[j]!;
        if (!entriesMatch(configured.entries, requested)) continue;
        matched = true;
        const bucket = configured.bucket ?? configured.keyed!.get(descriptorKey(requested), now);
        this.lastBucket = bucket;
        if (!bucket.tryConsume(now)) return false;
        break;
      }
    }
    if ((!matched || this.config.alwaysConsumeDefaultTokenBucket) && this.defaultBucket !== undefined) {
      if (!matched) this.lastBucket = this.defaultBucket;
      return this.defaultBucket.tryConsume(now);
    }
    if (!matched) this.lastBucket = undefined;
    return true;
  }
}

/** Same keys in the same order; a configured empty value matches any value. */
function entriesMatch(configured: Descriptor, requested: Descriptor): boolean {
  if (configured.length !== requested.length) return false;
  for (let i = 0; i < configured.length; i++) {
    const c = configured[i]!;
    const r = requested[i]!;
    if (c.key !== r.key || (c.value !== '' && c.value !== r.value)) return false;
  }
  return true;
}

function descriptorKey(descriptor: Descriptor): string {
  let key = '';
  for (const e of descriptor) key += `${e.key}\u0000${e.value}\u0001`;
  return key;
}
