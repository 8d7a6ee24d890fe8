import { asciiLower } from './ascii.js';

/**
 * Virtual-host domain lookup with Envoy's precedence: exact domain, then the longest suffix
 * wildcard (`*.foo.com`, `*-bar.foo.com`), then the longest prefix wildcard (`foo.*`), then `*`.
 * A wildcard never matches the empty string. Matching is ASCII case-insensitive.
 *
 * Built once; `find` does no sorting and allocates one substring per distinct wildcard length.
 * When a domain appears twice, the first value added keeps it.
 */
export class DomainIndex<T> {
  private readonly exact = new Map<string, T>();
  private readonly suffixes = new Map<string, T>();
  private readonly prefixes = new Map<string, T>();
  /** Distinct wildcard lengths, longest first. */
  private readonly suffixLengths: readonly number[];
  private readonly prefixLengths: readonly number[];
  private readonly any: T | undefined;

  constructor(entries: Iterable<readonly [domain: string, value: T]>) {
    let any: T | undefined;
    for (const [rawDomain, value] of entries) {
      const domain = asciiLower(rawDomain);
      if (domain === '*') any ??= value;
      else if (domain.startsWith('*')) addFirst(this.suffixes, domain.slice(1), value);
      else if (domain.endsWith('*')) addFirst(this.prefixes, domain.slice(0, -1), value);
      else addFirst(this.exact, domain, value);
    }
    this.any = any;
    this.suffixLengths = distinctLengthsDescending(this.suffixes.keys());
    this.prefixLengths = distinctLengthsDescending(this.prefixes.keys());
  }

  /**
   * Looks up a lower-case authority exactly as Envoy does: `host:port` is one string (a request for
   * `a.com:8080` does not match the domain `a.com`); the caller strips the port first where the
   * config says so. Within each precedence tier the longer wildcard match wins.
   */
  find(authority: string): T | undefined {
    const exact = this.exact.get(authority);
    if (exact !== undefined) return exact;
    for (const length of this.suffixLengths) {
      const found = suffixLookup(this.suffixes, authority, length);
      if (found !== undefined) return found;
    }
    for (const length of this.prefixLengths) {
      const found = prefixLookup(this.prefixes, authority, length);
      if (found !== undefined) return found;
    }
    return this.any;
  }
}

function addFirst<T>(map: Map<string, T>, key: string, value: T): void {
  if (!map.has(key)) map.set(key, value);
}

function distinctLengthsDescending(keys: Iterable<string>): number[] {
  return [...new Set([...keys].map((k) => k.length))].sort((a, b) => b - a);
}

function suffixLookup<T>(map: Map<string, T>, name: string, length: number): T | undefined {
  return name.length > length ? map.get(name.slice(name.length - length)) : undefined;
}

function prefixLookup<T>(map: Map<string, T>, name: string, length: number): T | undefined {
  return name.length > length ? map.get(name.slice(0, length)) : undefined;
}
