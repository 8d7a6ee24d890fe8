/**
 * `config.route.v3.RetryPolicy`, with Envoy's defaults: num_retries 1, back-off base 25 ms and max
 * 10 × base, host_selection_retry_max_attempts 1.
 */
import type { RetryOn, RetryPolicy } from '../model.js';
import { headerMatchersField } from './matchers.js';
import { ignoreAll, rejectUnsupported } from './fields.js';
import type { Reader } from './reader.js';

/** RetryPolicy fields xmesh reads but does not act on, with the reason. */
export const RETRY_POLICY_IGNORED: Readonly<Record<string, string>> = {};

/** Fields that would change where or when a retry goes, not implemented: refused with their path. */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  retry_priority: 'retry priority extensions are not implemented: a retry picks from the same priority levels as a first attempt',
  rate_limited_retry_back_off: 'back-off from reset headers (Retry-After, X-RateLimit-Reset) is not implemented: the exponential back-off applies',
  retry_options_predicates: 'retry options predicates are not implemented',
};

const RETRY_ON: readonly RetryOn[] = [
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'envoy-ratelimited',
  'retriable-4xx', 'refused-stream', 'retriable-status-codes', 'retriable-headers', 'http3-post-connect-failure',
  'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
];

const PREVIOUS_HOSTS = 'envoy.retry_host_predicates.previous_hosts';
const DEFAULT_BASE_INTERVAL_MS = 25;
const INT64_MAX = Number.MAX_SAFE_INTEGER;

export function decodeRetryPolicy(r: Reader): RetryPolicy {
  const retryOn = readRetryOn(r);
  const numRetries = r.int('num_retries', 1);
  if (numRetries < 1 && r.issues.rules === 'grpc') r.error('num_retries', 'must be at least 1 for a gRPC client (gRFC A44)');
  const perTryTimeoutMs = r.duration('per_try_timeout');
  const perTryIdleTimeoutMs = r.duration('per_try_idle_timeout');
  const b = r.obj('retry_back_off');
  const backOff = b ? readBackOff(b) : { baseIntervalMs: DEFAULT_BASE_INTERVAL_MS, maxIntervalMs: 10 * DEFAULT_BASE_INTERVAL_MS };
  const retriableStatusCodes: number[] = [];
  for (const { value, path } of r.list('retriable_status_codes')) {
    const code = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof code === 'number' && Number.isInteger(code) && code >= 100 && code <= 599) retriableStatusCodes.push(code);
    else r.issues.error(path, `must be an HTTP status in [100, 599], got ${JSON.stringify(value)}`);
  }
  const retriableHeaders = headerMatchersField(r, 'retriable_headers');
  const retriableRequestHeaders = headerMatchersField(r, 'retriable_request_headers');
  const hostSelectionRetryMaxAttempts = r.int('host_selection_retry_max_attempts', 1, 0, INT64_MAX, 'an int64');
  const avoidPreviousHosts = readHostPredicates(r);
  rejectUnsupported(r, UNSUPPORTED);
  ignoreAll(r, RETRY_POLICY_IGNORED);
  r.finish();
  return {
    retryOn,
    numRetries,
    perTryTimeoutMs,
    perTryIdleTimeoutMs,
    backOff,
    retriableStatusCodes,
    retriableHeaders,
    ...(retriableRequestHeaders.length === 0 ? {} : { retriableRequestHeaders }),
    hostSelectionRetryMaxAttempts,
    avoidPreviousHosts,
  };
}

/** `retry_on`: comma-separated conditions; each must be one xmesh knows. */
function readRetryOn(r: Reader): RetryOn[] {
  const text = r.str('retry_on') ?? '';
  const out: RetryOn[] = [];
  for (const raw of text.split(',')) {
    const token = raw.trim();
    if (token === '') continue;
    if ((RETRY_ON as readonly string[]).includes(token)) {
      if (!out.includes(token as RetryOn)) out.push(token as RetryOn);
    } else {
      r.error('retry_on', `unknown retry condition "${token}" (known: ${RETRY_ON.join(', ')})`);
    }
  }
  return out;
}

/** `retry_back_off`: base_interval required and > 0; max_interval defaults to 10 × base, must be >= base. */
function readBackOff(b: Reader): RetryPolicy['backOff'] {
  let baseIntervalMs = b.duration('base_interval');
  if (baseIntervalMs === undefined) {
    if (!b.has('base_interval')) b.error('base_interval', 'is required');
    baseIntervalMs = DEFAULT_BASE_INTERVAL_MS;
  } else if (baseIntervalMs <= 0) {
    b.error('base_interval', 'must be greater than 0');
    baseIntervalMs = DEFAULT_BASE_INTERVAL_MS;
  }
  let maxIntervalMs = b.duration('max_interval');
  if (maxIntervalMs === undefined) {
    maxIntervalMs = 10 * baseIntervalMs;
  } else if (maxIntervalMs < baseIntervalMs) {
    b.error('max_interval', `must be at least base_interval (${baseIntervalMs}ms), got ${maxIntervalMs}ms`);
    maxIntervalMs = 10 * baseIntervalMs;
  }
  b.finish();
  return { baseIntervalMs, maxIntervalMs };
}

/**
 * `retry_host_predicate[]`: previous_hosts is honoured. Any other predicate (omit_canary_hosts,
 * omit_host_metadata, ...) would change where retries go, so it is refused rather than ignored.
 */
function readHostPredicates(r: Reader): boolean {
  let avoidPreviousHosts = false;
  for (const p of r.objects('retry_host_predicate')) {
    const name = p.requiredStr('name');
    p.get('typed_config');
    if (name === PREVIOUS_HOSTS) avoidPreviousHosts = true;
    else if (name !== '') p.error('name', `unsupported retry host predicate "${name}" (supported: ${PREVIOUS_HOSTS})`);
    p.finish();
  }
  return avoidPreviousHosts;
}
