/**
 * The cluster-wide tier: one token bucket per key shared by every replica through Redis
 * (an atomic Lua script over ioredis). Calls never hang on Redis: the offline queue is off (a
 * disconnected client fails at once) and every decision is raced against `commandTimeoutMs`;
 * on any failure the configured `failureMode` decides (`open` admits, `closed` rejects).
 */
import { createRequire } from 'node:module';
import type { Redis, RedisOptions } from 'ioredis';
import type { TokenBucketSpec } from './token-bucket.js';
import { TOKEN_BUCKET_LUA } from './redis-token-bucket.lua.js';

export interface RedisRateLimiterOptions {
  readonly host: string;
  readonly port: number;
  readonly bucket: TokenBucketSpec;
  /** What a Redis failure (down, slow, script error) means for the call. */
  readonly failureMode: 'open' | 'closed';
  /** Bound on one decision, ms; default 50. */
  readonly commandTimeoutMs?: number;
  /** Prefix of every bucket key; default `xmesh:rl:`. */
  readonly keyPrefix?: string;
  /** Extra ioredis options (e.g. password, db); the safety options above always win. */
  readonly redis?: RedisOptions;
}

export interface ClusterVerdict {
  readonly allowed: boolean;
  /** `redis` when Redis decided; `failure` when `failureMode` did. */
  readonly source: 'redis' | 'failure';
  /** Tokens left (redis only; -1 otherwise). */
  readonly remaining: number;
  /** Ms until the next fill (redis only; -1 otherwise). */
  readonly resetMs: number;
  /** Why Redis could not decide. */
  readonly error?: Error;
}

type BucketCommand = (key: string, max: number, per: number, interval: number) => Promise<[number, number, number]>;

export class RedisRateLimiter {
  private readonly client: Redis;
  private readonly timeoutMs: number;
  private readonly prefix: string;
  private readonly bucketArgs: readonly [number, number, number];

  constructor(private readonly options: RedisRateLimiterOptions) {
    this.timeoutMs = options.commandTimeoutMs ?? 50;
    this.prefix = options.keyPrefix ?? 'xmesh:rl:';
    const { maxTokens, tokensPerFill, fillIntervalMs } = options.bucket;
    this.bucketArgs = [maxTokens, tokensPerFill, fillIntervalMs];
    // ioredis loads with the first limiter: processes without a cluster-wide tier never pay for it.
    const { Redis: RedisClient } = createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
    this.client = new RedisClient({
      ...options.redis,
      host: options.host,
      port: options.port,
      enableOfflineQueue: false,
      commandTimeout: this.timeoutMs,
      maxRetriesPerRequest: 0,
      lazyConnect: false,
      retryStrategy: (times) => Math.min(times * 100, 2_000),
    });
    // Connection errors surface through decisions; an unhandled 'error' event would crash the process.
    this.client.on('error', () => undefined);
    this.client.defineCommand('xmeshTokenBucket', { numberOfKeys: 1, lua: TOKEN_BUCKET_LUA });
  }

  /** Resolves once connected (or rejects after `timeoutMs`); decisions before that use `failureMode`. */
  async ready(timeoutMs = 2_000): Promise<void> {
    if (this.client.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.off('ready', onReady);
        reject(new Error(`redis ${this.options.host}:${this.options.port} not ready after ${timeoutMs} ms`));
      }, timeoutMs);
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.client.once('ready', onReady);
    });
  }

  /** Takes one token from `key`'s shared bucket. Never rejects; settles within about `commandTimeoutMs`. */
  async consume(key: string): Promise<ClusterVerdict> {
    const command = (this.client as unknown as { xmeshTokenBucket: BucketCommand }).xmeshTokenBucket;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const result = await Promise.race([
        command.call(this.client, this.prefix + key, ...this.bucketArgs),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`redis rate limit decision timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
          timer.unref();
        }),
      ]);
      return { allowed: result[0] === 1, source: 'redis', remaining: result[1], resetMs: result[2] };
    } catch (error) {
      return {
        allowed: this.options.failureMode === 'open',
        source: 'failure',
        remaining: -1,
        resetMs: -1,
        error: error instanceof Error ? error : new Error(String(error)),
      };
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  /** Closes the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.client.status === 'end') return;
    this.client.disconnect(false);
  }
}
