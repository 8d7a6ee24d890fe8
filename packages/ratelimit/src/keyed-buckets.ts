import { TokenBucket, type TokenBucketSpec } from './token-bucket.js';

export interface KeyedBucketsOptions {
  /** Most buckets kept at once; the least recently used goes first. Default 10 000. */
  readonly maxKeys?: number;
}

/**
 * Token buckets by key (one per descriptor value), with bounded memory.
 * Kept in least-recently-used order in one Map. Idle buckets are evicted without timers: each
 * new key drops up to two expired buckets from the cold end, where a bucket is expired once it has
 * refilled to full (a fresh bucket would behave the same, so nothing is lost). When `maxKeys` is reached the coldest
 * bucket goes even if not full, as Envoy's dynamic-descriptor LRU does.
 */
export class KeyedBuckets {
  private readonly buckets = new Map<string, TokenBucket>();
  readonly maxKeys: number;

  constructor(private readonly spec: TokenBucketSpec, options: KeyedBucketsOptions = {}) {
    this.maxKeys = options.maxKeys ?? 10_000;
    if (!(this.maxKeys >= 1)) throw new RangeError(`maxKeys must be >= 1, got ${this.maxKeys}`);
  }

  get size(): number {
    return this.buckets.size;
  }

  /** The bucket for `key`, created full when absent; marks it most recently used. */
  get(key: string, now: number): TokenBucket {
    let bucket = this.buckets.get(key);
    if (bucket !== undefined) {
      // Re-insert to move it to the hot end (Map keeps insertion order).
      this.buckets.delete(key);
      this.buckets.set(key, bucket);
      return bucket;
    }
    this.evictIdle(now);
    if (this.buckets.size >= this.maxKeys) {
      const coldest = this.buckets.keys().next();
      if (!coldest.done) this.buckets.delete(coldest.value);
    }
    bucket = new TokenBucket(this.spec, now);
    this.buckets.set(key, bucket);
    return bucket;
  }

  private evictIdle(now: number): void {
    for (let i = 0; i < 2; i++) {
      const first = this.buckets.entries().next();
      if (first.done) return;
      const [key, bucket] = first.value;
      if (!bucket.isFullAt(now)) return;
      this.buckets.delete(key);
    }
  }
}
