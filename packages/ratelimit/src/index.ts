export { TokenBucket, type TokenBucketSpec } from './token-bucket.js';
export { KeyedBuckets, type KeyedBucketsOptions } from './keyed-buckets.js';
export { fractionHit } from './fraction.js';
export {
  compileDescriptors,
  type Descriptor,
  type DescriptorEntry,
  type DescriptorInput,
  type DescriptorBuilder,
} from './descriptors.js';
export {
  LocalRateLimiter,
  type LocalRateLimiterOptions,
  type LocalRateLimitStats,
  type RateLimitCounter,
  type RateLimitVerdict,
} from './local-rate-limiter.js';
export { RedisRateLimiter, type RedisRateLimiterOptions, type ClusterVerdict } from './redis-rate-limiter.js';
