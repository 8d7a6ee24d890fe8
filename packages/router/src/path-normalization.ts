/**
 * The HttpConnectionManager's path handling before routing (ConnectionManagerUtility::maybeNormalizePath
 * in Envoy), in its order: `path_with_escaped_slashes_action` (`%2F` / `%5C`), then `normalize_path`
 * (RFC 3986 §6 normalization, as Envoy's PathUtil::canonicalPath does with Chromium's URL
 * canonicalizer), then `merge_slashes`. Each step works on the path before the first `?`; the query is
 * kept as sent. The normalized path is the one routed and the one forwarded.
 */
import { ErrorCode, MeshError } from '@xmesh/core';
import type { PathNormalization } from '@xmesh/xds';

export class PathNormalizer {
  constructor(private readonly config: PathNormalization) {}

  /** The path to route and forward, `path` itself when nothing changes, or a MeshError (HTTP 400) for a path Envoy rejects. */
  normalize(path: string): string | MeshError {
    const queryAt = path.indexOf('?');
    let pathOnly = queryAt < 0 ? path : path.slice(0, queryAt);
    const { escapedSlashes, normalizePath, mergeSlashes } = this.config;
    if (escapedSlashes !== 'KEEP_UNCHANGED' && ESCAPED_SLASH_RE.test(pathOnly)) {
      if (escapedSlashes === 'REJECT_REQUEST') return rejected(path, 'it contains an escaped slash (%2F or %5C)');
      pathOnly = pathOnly.replace(ESCAPED_SLASH_GLOBAL_RE, (escape) => (escape[2] === 'F' || escape[2] === 'f' ? '/' : '\\'));
    }
    if (normalizePath) {
      const canonical = canonicalPath(pathOnly);
      if (canonical === undefined) return rejected(path, 'it is not a valid path (a "%" starts no two-digit hex escape)');
      pathOnly = canonical;
    }
    if (mergeSlashes && pathOnly.includes('//')) pathOnly = pathOnly.replace(SLASH_RUN_RE, '/');
    const normalized = queryAt < 0 ? pathOnly : pathOnly + path.slice(queryAt);
    return normalized === path ? path : normalized;
  }
}

const ESCAPED_SLASH_RE = /%(?:2f|5c)/i;
const ESCAPED_SLASH_GLOBAL_RE = /%(?:2f|5c)/gi;
const SLASH_RUN_RE = /\/{2,}/g;
const HEX = '0123456789ABCDEF';
/** RFC 3986 unreserved characters: an escape of one of these is decoded. */
const UNRESERVED_RE = /[A-Za-z0-9\-._~]/;
/** Characters a canonical path never carries unescaped (controls, space, `"`, `<`, `>`, backquote, braces, DEL). */
const MUST_ESCAPE_RE = /[\x00-\x20"<>`{}\x7f]/;

function rejected(path: string, why: string): MeshError {
  return new MeshError(ErrorCode.PROTOCOL, `path ${JSON.stringify(path.length > 80 ? `${path.slice(0, 80)}…` : path)} rejected: ${why}`, { httpStatus: 400 });
}

/**
 * RFC 3986 §6.2.2 on a path (no query): escapes of unreserved characters decoded, other escapes in
 * upper case, characters that may not appear escaped, `\` read as `/` (as URL canonicalizers read
 * special URLs), then the dot segments removed (§5.2.4). undefined when a `%` starts no valid escape.
 */
export function canonicalPath(path: string): string | undefined {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c === '%') {
      const hi = hexValue(path.charCodeAt(i + 1));
      const lo = hexValue(path.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return undefined;
      const decoded = String.fromCharCode(hi * 16 + lo);
      out += UNRESERVED_RE.test(decoded) ? decoded : `%${HEX[hi]}${HEX[lo]}`;
      i += 2;
    } else if (c === '\\') {
      out += '/';
    } else if (MUST_ESCAPE_RE.test(c) || c.charCodeAt(0) > 0x7e) {
      for (const byte of Buffer.from(c, 'utf8')) out += `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
    } else {
      out += c;
    }
  }
  if (!out.startsWith('/')) out = `/${out}`;
  return removeDotSegments(out);
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/** RFC 3986 §5.2.4 for an absolute path: `.` segments go, `..` removes the segment before it (never above the root). */
export function removeDotSegments(path: string): string {
  if (!path.includes('.')) return path;
  const segments = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (segment === '.') {
      if (last) out.push('');
    } else if (segment === '..') {
      if (out.length > 0) out.pop();
      if (last) out.push('');
    } else {
      out.push(segment);
    }
  }
  return `/${out.join('/')}`;
}
