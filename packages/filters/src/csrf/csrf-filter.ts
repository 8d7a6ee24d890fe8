/**
 * Envoy's CSRF filter (`envoy.filters.http.csrf`): a mutating request (POST, PUT, DELETE, PATCH) passes only
 * when its source origin — the host and port of its `Origin` header, else of its `Referer` — is its
 * destination's (the `Host` / `:authority`, under the request's scheme) or matches one of `additional_origins`.
 * Otherwise it is counted and, where the policy is enforced, answered 403 `Invalid origin`; in shadow mode it
 * is only counted. Stats are Envoy's: `http.<stat_prefix>.csrf.missing_source_origin`, `request_invalid`,
 * `request_valid`.
 */
import { MeshError } from '@xmesh/core';
import type { Counter } from '@xmesh/stats';
import { fractionHit } from '@xmesh/ratelimit';
import { compileStringMatch, type HeaderSource, type StringPredicate } from '@xmesh/router';
import type { CsrfPolicy } from '@xmesh/xds';

export interface CsrfStats {
  readonly missingSourceOrigin: Counter;
  readonly requestInvalid: Counter;
  readonly requestValid: Counter;
}

/** Envoy's words and status for a request from another origin. */
const INVALID_ORIGIN = Object.freeze({ status: 403, headers: Object.freeze([]), body: 'Invalid origin' });

const MODIFY_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);

/** The common shape, already canonical: lower-case `http(s)://host[:port]` with no userinfo, then a path or nothing. */
const PLAIN_HTTP_URL = /^(https?):\/\/([a-z0-9.-]+)(?::(\d{1,5}))?(?=[/?#]|$)/;

export class CsrfFilter {
  private readonly origins = new WeakMap<CsrfPolicy, readonly StringPredicate[]>();

  constructor(private readonly random: () => number) {}

  /** The local reply for `request` under `policy`, or undefined to let it through. */
  check(request: HeaderSource, policy: CsrfPolicy, stats: CsrfStats): MeshError | undefined {
    const enforced = fractionHit(policy.filterEnabled, this.random);
    const shadow = policy.shadowEnabled !== undefined && fractionHit(policy.shadowEnabled, this.random);
    if ((!enforced && !shadow) || !MODIFY_METHODS.has(request.method)) return undefined;
    let valid = true;
    const source = sourceOrigin(request);
    if (source === '') {
      valid = false;
      stats.missingSourceOrigin.inc();
    }
    if (!this.accepts(policy, source, request)) {
      valid = false;
      stats.requestInvalid.inc();
    }
    if (valid) {
      stats.requestValid.inc();
      return undefined;
    }
    if (!enforced) return undefined;
    return new MeshError('XMESH_DENIED', 'Invalid origin', { reply: INVALID_ORIGIN });
  }

  private accepts(policy: CsrfPolicy, source: string, request: HeaderSource): boolean {
    if (source === targetOrigin(request)) return true;
    let predicates = this.origins.get(policy);
    if (predicates === undefined) {
      predicates = policy.additionalOrigins.map((m) => compileStringMatch(m, 'csrf.additional_origins'));
      this.origins.set(policy, predicates);
    }
    return predicates.some((accept) => accept(source));
  }
}

/**
 * `host[:port]` of an absolute http or https URL as a WHATWG parser reads it, as Envoy's `Url::hostAndPort`
 * (GURL): the host lower-cased, userinfo dropped, `\\` a path separator, the scheme's default port left out.
 * A value that is not such a URL (another scheme, `null`, garbage) stands as it is; '' for none.
 */
export function hostAndPort(value: string | undefined): string {
  if (value === undefined || value === '') return '';
  const plain = PLAIN_HTTP_URL.exec(value);
  if (plain !== null) {
    const [, scheme, host, port] = plain;
    if (port === undefined) return host!;
    if (port.length > 1 && port.startsWith('0')) return parsedHostAndPort(value);
    if ((scheme === 'http' && port === '80') || (scheme === 'https' && port === '443')) return host!;
    const number = Number(port);
    return number === 0 || number > 65535 ? value : `${host}:${port}`;
  }
  return parsedHostAndPort(value);
}

function parsedHostAndPort(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return value;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.host === '' || url.port === '0') return value;
  return url.host;
}

/** Where the request says it comes from: its Origin, else its Referer. */
function sourceOrigin(request: HeaderSource): string {
  return hostAndPort(request.headers.get('origin')) || hostAndPort(request.headers.get('referer'));
}

/** Where it goes: its Host under its scheme (http when it has none); '' without a Host. */
function targetOrigin(request: HeaderSource): string {
  const host = request.authority;
  if (host === '') return '';
  return hostAndPort(`${request.headers.get(':scheme') ?? 'http'}://${host}`);
}
