/**
 * A read-only `HeaderMap` over Node's incoming header object, so routing and policy layers read
 * request headers without a per-request copy. HTTP/2 headers carry their own pseudo-headers;
 * HTTP/1.1 requests get `:authority`, `:path`, `:method` and `:scheme` from the request line and Host.
 * Repeated headers read as one value joined by `,` (Envoy's header-matcher rule).
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface PseudoHeaders {
  readonly authority: string;
  readonly path: string;
  readonly method: string;
  /** `https` on a TLS connection; default `http`. */
  readonly scheme?: string;
}

export class HeaderView implements ReadonlyMap<string, string> {
  /**
   * @param raw lower-case incoming headers
   * @param pseudo the request line of an HTTP/1.1 request; undefined when `raw` has HTTP/2 pseudo-headers
   */
  constructor(
    private readonly raw: IncomingHttpHeaders,
    private readonly pseudo: PseudoHeaders | undefined,
  ) {}

  get(name: string): string | undefined {
    const pseudo = this.pseudo;
    if (pseudo !== undefined && name.charCodeAt(0) === 58 /* ':' */) {
      switch (name) {
        case ':authority': return pseudo.authority;
        case ':path': return pseudo.path;
        case ':method': return pseudo.method;
        case ':scheme': return pseudo.scheme ?? 'http';
        default: return undefined;
      }
    }
    const value = this.raw[name];
    if (value === undefined) return undefined;
    // node:http2 gives `:status` as a number.
    return typeof value === 'string' ? value : Array.isArray(value) ? value.join(',') : String(value);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  get size(): number {
    let count = 0;
    for (const _ of this.entries()) count++;
    return count;
  }

  *entries(): MapIterator<[string, string]> {
    const pseudo = this.pseudo;
    if (pseudo !== undefined) {
      yield [':authority', pseudo.authority];
      yield [':path', pseudo.path];
      yield [':method', pseudo.method];
      yield [':scheme', pseudo.scheme ?? 'http'];
    }
    for (const name of Object.keys(this.raw)) {
      if (pseudo !== undefined && name.charCodeAt(0) === 58) continue;
      const value = this.get(name);
      if (value !== undefined) yield [name, value];
    }
  }

  *keys(): MapIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): MapIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.entries();
  }

  forEach(visit: (value: string, key: string, map: ReadonlyMap<string, string>) => void): void {
    for (const [name, value] of this.entries()) visit(value, name, this);
  }
}
