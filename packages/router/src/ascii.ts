/**
 * ASCII case-insensitive comparisons without allocating lower-cased copies.
 * Envoy's `ignore_case` and `case_sensitive: false` fold ASCII letters only; so do these.
 */

function fold(code: number): number {
  return code >= 65 && code <= 90 ? code + 32 : code;
}

function regionEqualsIgnoreCase(s: string, offset: number, other: string): boolean {
  for (let i = 0; i < other.length; i++) {
    if (fold(s.charCodeAt(offset + i)) !== fold(other.charCodeAt(i))) return false;
  }
  return true;
}

export function equalsIgnoreCase(a: string, b: string): boolean {
  return a.length === b.length && regionEqualsIgnoreCase(a, 0, b);
}

export function startsWithIgnoreCase(s: string, prefix: string): boolean {
  return s.length >= prefix.length && regionEqualsIgnoreCase(s, 0, prefix);
}

export function endsWithIgnoreCase(s: string, suffix: string): boolean {
  return s.length >= suffix.length && regionEqualsIgnoreCase(s, s.length - suffix.length, suffix);
}

export function includesIgnoreCase(s: string, part: string): boolean {
  for (let offset = 0; offset + part.length <= s.length; offset++) {
    if (regionEqualsIgnoreCase(s, offset, part)) return true;
  }
  return false;
}

/** Lower-cases a string, returning it unchanged (no copy) when it has no ASCII capital. */
export function asciiLower(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return s.toLowerCase();
  }
  return s;
}
