/**
 * `envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit`, with Envoy's defaults: status 429
 * (values < 400 become 429), `tokens_per_fill` 1, `filter_enabled` / `filter_enforced` 0 % — the filter
 * does nothing until both are set — and `always_consume_default_token_bucket` true.
 */
import type { Fraction, HeaderValueOption, LocalRateLimitConfig, RateLimitDescriptorConfig, TokenBucket } from '../model.js';
import { ignoreAll } from './fields.js';
import { runtimeFractionField } from './runtime-fraction.js';
import type { Reader } from './reader.js';

/** LocalRateLimit fields xmesh reads but does not act on, with the reason. */
export const LOCAL_RATELIMIT_IGNORED: Readonly<Record<string, string>> = {
  vh_rate_limits: 'OVERRIDE (the default) only: the route\'s rate_limits, else its virtual host\'s, make the descriptors; INCLUDE and IGNORE are refused',
  max_dynamic_descriptors: 'descriptors with empty values (dynamic descriptors) are not created',
};

const MIN_FILL_INTERVAL_MS = 50;
const DEFAULT_STATUS = 429;
const ZERO_PERCENT: Fraction = { numerator: 0, denominator: 100 };

/** HTTP status names of `envoy.type.v3.StatusCode`, for JSON that spells the enum by name. */
const STATUS_BY_NAME: Readonly<Record<string, number>> = {
  Continue: 100, OK: 200, Created: 201, Accepted: 202, NonAuthoritativeInformation: 203, NoContent: 204,
  ResetContent: 205, PartialContent: 206, MultiStatus: 207, AlreadyReported: 208, IMUsed: 226,
  MultipleChoices: 300, MovedPermanently: 301, Found: 302, SeeOther: 303, NotModified: 304, UseProxy: 305,
  TemporaryRedirect: 307, PermanentRedirect: 308, BadRequest: 400, Unauthorized: 401, PaymentRequired: 402,
  Forbidden: 403, NotFound: 404, MethodNotAllowed: 405, NotAcceptable: 406, ProxyAuthenticationRequired: 407,
  RequestTimeout: 408, Conflict: 409, Gone: 410, LengthRequired: 411, PreconditionFailed: 412,
  PayloadTooLarge: 413, URITooLong: 414, UnsupportedMediaType: 415, RangeNotSatisfiable: 416,
  ExpectationFailed: 417, MisdirectedRequest: 421, UnprocessableEntity: 422, Locked: 423, FailedDependency: 424,
  UpgradeRequired: 426, PreconditionRequired: 428, TooManyRequests: 429, RequestHeaderFieldsTooLarge: 431,
  InternalServerError: 500, NotImplemented: 501, BadGateway: 502, ServiceUnavailable: 503, GatewayTimeout: 504,
  HTTPVersionNotSupported: 505, VariantAlsoNegotiates: 506, InsufficientStorage: 507, LoopDetected: 508,
  NotExtended: 510, NetworkAuthenticationRequired: 511,
};

export interface LocalRateLimitOptions {
  /** Per-route configs (typed_per_filter_config) must carry a token_bucket, as in Envoy. */
  readonly perRoute: boolean;
}

export function decodeLocalRateLimit(r: Reader, options: LocalRateLimitOptions): LocalRateLimitConfig {
  const statPrefix = r.requiredStr('stat_prefix');
  const status = readStatus(r);
  if (options.perRoute && !r.has('token_bucket')) r.error('token_bucket', 'is required in a per-route local_ratelimit config');
  const tokenBucket = tokenBucketField(r, 'token_bucket');
  const filterEnabled = runtimeFractionField(r, 'filter_enabled') ?? ZERO_PERCENT;
  const filterEnforced = runtimeFractionField(r, 'filter_enforced') ?? ZERO_PERCENT;
  const descriptors = r.objects('descriptors').map(readDescriptor);
  const stage = r.int('stage', 0, 0, 10);
  const requestHeadersToAddWhenNotEnforced = r.objects('request_headers_to_add_when_not_enforced').map(readHeaderValueOption);
  const responseHeadersToAdd = r.objects('response_headers_to_add').map(readHeaderValueOption);
  const xHeaders = r.enumOf('enable_x_ratelimit_headers', ['OFF', 'DRAFT_VERSION_03'] as const, 'OFF', { 0: 'OFF', 1: 'DRAFT_VERSION_03' });
  const alwaysConsumeDefaultTokenBucket = r.bool('always_consume_default_token_bucket', true);
  const localRateLimitPerDownstreamConnection = r.bool('local_rate_limit_per_downstream_connection', false);
  const rateLimitedAsResourceExhausted = r.bool('rate_limited_as_resource_exhausted', false);
  if (r.has('vh_rate_limits') && r.enumOf('vh_rate_limits', ['OVERRIDE', 'INCLUDE', 'IGNORE'] as const, 'OVERRIDE', { 0: 'OVERRIDE', 1: 'INCLUDE', 2: 'IGNORE' }) !== 'OVERRIDE') {
    r.error('vh_rate_limits', 'is not supported but for OVERRIDE: the route\'s rate_limits, else its virtual host\'s, make the descriptors');
  }
  ignoreAll(r, LOCAL_RATELIMIT_IGNORED);
  r.finish();
  return {
    statPrefix,
    status,
    tokenBucket,
    filterEnabled,
    filterEnforced,
    descriptors,
    stage,
    requestHeadersToAddWhenNotEnforced,
    responseHeadersToAdd,
    enableXRatelimitHeaders: xHeaders === 'DRAFT_VERSION_03',
    alwaysConsumeDefaultTokenBucket,
    localRateLimitPerDownstreamConnection,
    rateLimitedAsResourceExhausted,
  };
}

/** `status: {code}`; the code may be a number or an `envoy.type.v3.StatusCode` name. */
function readStatus(r: Reader): number {
  const s = r.obj('status');
  if (!s) return DEFAULT_STATUS;
  const raw = s.get('code');
  let code: number | undefined;
  if (typeof raw === 'string' && STATUS_BY_NAME[raw] !== undefined) code = STATUS_BY_NAME[raw];
  else if (raw !== undefined) code = s.int('code', DEFAULT_STATUS, 0, 599);
  s.finish();
  if (code === undefined) {
    s.error('code', 'is required');
    return DEFAULT_STATUS;
  }
  return code < 400 ? DEFAULT_STATUS : code;
}

/** `type.v3.TokenBucket`: max_tokens > 0, tokens_per_fill > 0 (default 1), fill_interval required, >= 50 ms. */
export function tokenBucketField(r: Reader, key: string): TokenBucket | undefined {
  const b = r.obj(key);
  if (!b) return undefined;
  if (!b.has('max_tokens')) b.error('max_tokens', 'is required');
  const maxTokens = b.int('max_tokens', 1, 1);
  const tokensPerFill = b.int('tokens_per_fill', 1, 1);
  let fillIntervalMs = b.duration('fill_interval');
  if (fillIntervalMs === undefined) {
    if (!b.has('fill_interval')) b.error('fill_interval', 'is required');
    fillIntervalMs = MIN_FILL_INTERVAL_MS;
  } else if (fillIntervalMs < MIN_FILL_INTERVAL_MS) {
    b.error('fill_interval', `must be at least ${MIN_FILL_INTERVAL_MS}ms, got ${fillIntervalMs}ms`);
  }
  b.finish();
  return { maxTokens, tokensPerFill, fillIntervalMs };
}

function readDescriptor(d: Reader): RateLimitDescriptorConfig {
  const entries = d.objects('entries').map((e) => {
    const entry = { key: e.requiredStr('key'), value: e.requiredStr('value') };
    e.finish();
    return entry;
  });
  if (entries.length === 0) d.error('entries', 'must have at least one entry');
  if (!d.has('token_bucket')) d.error('token_bucket', 'is required');
  const tokenBucket = tokenBucketField(d, 'token_bucket') ?? { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: MIN_FILL_INTERVAL_MS };
  d.finish();
  return { entries, tokenBucket };
}

/**
 * `config.core.v3.HeaderValueOption`. `append` (deprecated, default true) or `append_action`
 * APPEND_IF_EXISTS_OR_ADD / OVERWRITE_IF_EXISTS_OR_ADD; the other actions are not supported.
 */
export function readHeaderValueOption(o: Reader): HeaderValueOption {
  const h = o.obj('header');
  if (!h) o.error('header', 'is required');
  const key = h ? h.requiredStr('key').toLowerCase() : '';
  const value = h?.str('value') ?? '';
  h?.finish();
  let append = true;
  if (o.has('append') && o.has('append_action')) {
    o.error('append_action', 'cannot be set together with the deprecated "append"');
  }
  if (o.has('append_action')) {
    const action = o.enumOf(
      'append_action',
      ['APPEND_IF_EXISTS_OR_ADD', 'ADD_IF_ABSENT', 'OVERWRITE_IF_EXISTS_OR_ADD', 'OVERWRITE_IF_EXISTS'] as const,
      'APPEND_IF_EXISTS_OR_ADD',
      { 0: 'APPEND_IF_EXISTS_OR_ADD', 1: 'ADD_IF_ABSENT', 2: 'OVERWRITE_IF_EXISTS_OR_ADD', 3: 'OVERWRITE_IF_EXISTS' },
    );
    if (action === 'ADD_IF_ABSENT' || action === 'OVERWRITE_IF_EXISTS') o.error('append_action', `${action} is not supported`);
    append = action === 'APPEND_IF_EXISTS_OR_ADD';
  } else {
    append = o.bool('append', true);
  }
  o.get('append');
  o.ignore('keep_empty_value');
  o.finish();
  return { key, value, append };
}
