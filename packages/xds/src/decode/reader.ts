/**
 * Path-tracking reader over proto3-JSON-shaped input. Every problem is recorded with its field path and
 * decoding continues, so one pass reports every error. Keys may be snake_case or lowerCamelCase, as proto3
 * JSON allows. A key that is neither read nor listed as ignored is reported as unsupported: nothing is
 * silently dropped.
 */
import type { FieldError } from '@xmesh/core';
import type { Fraction } from '../model.js';

export class Issues {
  readonly errors: FieldError[] = [];
  readonly ignored: string[] = [];

  error(path: string, message: string): void {
    this.errors.push({ path, message });
  }
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}

const UINT32_MAX = 0xffff_ffff;
const DURATION_RE = /^(-?\d+)(?:\.(\d{1,9}))?s$/;

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export function joinPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

export class Reader {
  private readonly keys = new Map<string, string>();
  private readonly seen = new Set<string>();

  private constructor(
    readonly raw: Readonly<Record<string, unknown>>,
    readonly path: string,
    readonly issues: Issues,
  ) {
    for (const key of Object.keys(raw)) {
      const name = key === '@type' ? key : snake(key);
      if (this.keys.has(name)) issues.error(joinPath(path, key), `duplicate field (also given as "${this.keys.get(name)}")`);
      this.keys.set(name, key);
    }
  }

  /** Wraps `value` if it is an object, else records an error and returns undefined. */
  static of(value: unknown, path: string, issues: Issues): Reader | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      issues.error(path === '' ? '(root)' : path, `must be an object, got ${describe(value)}`);
      return undefined;
    }
    return new Reader(value as Record<string, unknown>, path, issues);
  }

  at(key: string): string {
    return joinPath(this.path, this.keys.get(key) ?? key);
  }

  has(key: string): boolean {
    const k = this.keys.get(key);
    return k !== undefined && this.raw[k] !== undefined && this.raw[k] !== null;
  }

  /** The raw value of a field (marks it read). */
  get(key: string): unknown {
    this.seen.add(key);
    const k = this.keys.get(key);
    return k === undefined ? undefined : this.raw[k] ?? undefined;
  }

  error(key: string, message: string): void {
    this.issues.error(this.at(key), message);
  }

  /** Records that the field, if present, is knowingly ignored. */
  ignore(...keys: string[]): void {
    for (const key of keys) {
      if (this.keys.has(key)) {
        this.seen.add(key);
        this.issues.ignored.push(this.at(key));
      }
    }
  }

  /** Records every field not read so far as knowingly ignored (for messages whose remaining fields are tuning only). */
  ignoreRest(): void {
    for (const [name, key] of this.keys) {
      if (name === '@type' || this.seen.has(name)) continue;
      this.seen.add(name);
      this.issues.ignored.push(joinPath(this.path, key));
    }
  }

  /**
   * The entries of a proto `map<string, V>` field, keys as given (never case-converted), each with its path:
   * `field.key` for identifier-like keys, `field["some.key"]` otherwise. A missing field has no entries.
   */
  entries(key: string): { key: string; value: unknown; path: string }[] {
    const v = this.get(key);
    if (v === undefined) return [];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      this.error(key, `must be an object, got ${describe(v)}`);
      return [];
    }
    const base = this.at(key);
    return Object.entries(v).map(([k, value]) => ({
      key: k,
      value,
      path: /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `${base}.${k}` : `${base}[${JSON.stringify(k)}]`,
    }));
  }

  /** Reports every field not read and not ignored. Call once, after reading. */
  finish(what = 'field'): void {
    for (const [name, key] of this.keys) {
      if (name === '@type' || this.seen.has(name)) continue;
      this.issues.error(joinPath(this.path, key), `unknown or unsupported ${what} "${key}"`);
    }
  }

  obj(key: string): Reader | undefined {
    const v = this.get(key);
    return v === undefined ? undefined : Reader.of(v, this.at(key), this.issues);
  }

  /** The elements of a list field with their paths; a missing field is an empty list. */
  list(key: string): { value: unknown; path: string }[] {
    const v = this.get(key);
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.error(key, `must be a list, got ${describe(v)}`);
      return [];
    }
    const base = this.at(key);
    return v.map((value, i) => ({ value, path: `${base}[${i}]` }));
  }

  /** List of objects. */
  objects(key: string): Reader[] {
    const out: Reader[] = [];
    for (const { value, path } of this.list(key)) {
      const r = Reader.of(value, path, this.issues);
      if (r) out.push(r);
    }
    return out;
  }

  str(key: string): string | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') {
      this.error(key, `must be a string, got ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  requiredStr(key: string): string {
    const v = this.str(key);
    if (v === undefined) {
      if (!this.has(key)) this.error(key, 'is required');
      return '';
    }
    if (v === '') this.error(key, 'must not be empty');
    return v;
  }

  strings(key: string): string[] {
    const out: string[] = [];
    for (const { value, path } of this.list(key)) {
      if (typeof value === 'string') out.push(value);
      else this.issues.error(path, `must be a string, got ${describe(value)}`);
    }
    return out;
  }

  bool(key: string, dflt: boolean): boolean {
    const v = unwrap(this.get(key));
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') {
      this.error(key, `must be a boolean, got ${describe(v)}`);
      return dflt;
    }
    return v;
  }

  /** An integer in [min, max]; accepts the proto `{value: n}` wrapper form and decimal strings (int64 JSON). */
  int(key: string, dflt: number, min = 0, max = UINT32_MAX, kind = 'a uint32'): number {
    const v = unwrap(this.get(key));
    if (v === undefined) return dflt;
    const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      this.error(key, `must be ${kind}${min > 0 || max < UINT32_MAX ? ` in [${min}, ${max}]` : ''}, got ${describe(v)}`);
      return dflt;
    }
    return n;
  }

  uint32(key: string, dflt: number): number {
    return this.int(key, dflt);
  }

  optionalUint32(key: string, min = 0, max = UINT32_MAX): number | undefined {
    if (!this.has(key)) {
      this.get(key);
      return undefined;
    }
    const sentinel = -1;
    const n = this.int(key, sentinel, min, max);
    return n === sentinel ? undefined : n;
  }

  num(key: string, dflt: number, min = -Infinity, max = Infinity): number {
    const v = unwrap(this.get(key));
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      this.error(key, `must be a number${Number.isFinite(min) ? ` in [${min}, ${max}]` : ''}, got ${describe(v)}`);
      return dflt;
    }
    return v;
  }

  /** `google.protobuf.Duration` as "1.5s" or `{seconds, nanos}`, in ms. undefined when absent. */
  duration(key: string): number | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    const ms = parseDuration(v);
    if (ms === undefined) {
      this.error(key, `must be a duration like "0.25s", got ${describe(v)}`);
      return undefined;
    }
    if (Number.isNaN(ms)) {
      this.error(key, `must be a google.protobuf.Duration: seconds within ±${MAX_DURATION_SECONDS}, nanos within ±999999999 with the sign of seconds, got ${describe(v)}`);
      return undefined;
    }
    if (ms < 0) {
      this.error(key, 'must not be negative');
      return undefined;
    }
    return ms;
  }

  /** A Duration that must be greater than 0 (proto `gt {}`), in ms; undefined when absent or invalid. */
  positiveDuration(key: string): number | undefined {
    const ms = this.duration(key);
    if (ms === 0) {
      this.error(key, 'must be greater than 0');
      return undefined;
    }
    return ms;
  }

  /** `envoy.type.v3.Percent` (`{value: 0..100}`) as a number; undefined when absent. */
  percent(key: string): number | undefined {
    const r = this.obj(key);
    if (!r) return undefined;
    const v = r.num('value', 0, 0, 100);
    r.finish();
    return v;
  }

  /** `envoy.type.v3.FractionalPercent`; denominator HUNDRED by default. */
  fraction(key: string): Fraction | undefined {
    const r = this.obj(key);
    return r ? readFraction(r) : undefined;
  }

  /** An enum by name (or its number, from protobuf decoding). */
  enumOf<T extends string>(key: string, values: readonly T[], dflt: T, numbers?: Readonly<Record<number, T>>): T {
    const v = this.get(key);
    if (v === undefined) return dflt;
    if (typeof v === 'number' && numbers && numbers[v] !== undefined) return numbers[v]!;
    if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
    this.error(key, `must be one of ${values.join(', ')}, got ${describe(v)}`);
    return dflt;
  }
}

export function readFraction(r: Reader): Fraction {
  const numerator = r.uint32('numerator', 0);
  const denomName = r.enumOf('denominator', ['HUNDRED', 'TEN_THOUSAND', 'MILLION'] as const, 'HUNDRED', {
    0: 'HUNDRED',
    1: 'TEN_THOUSAND',
    2: 'MILLION',
  });
  r.finish();
  const denominator = denomName === 'HUNDRED' ? 100 : denomName === 'TEN_THOUSAND' ? 10_000 : 1_000_000;
  // Envoy clamps numerator > denominator to 100 %.
  return { numerator: Math.min(numerator, denominator), denominator };
}

/** Unwraps proto wrapper messages (`{value: x}`) into x. */
function unwrap(v: unknown): unknown {
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === 'value') return (v as { value: unknown }).value;
  }
  return v;
}

/** `google.protobuf.Duration` limit: ±10 000 years (duration.proto). */
export const MAX_DURATION_SECONDS = 315_576_000_000;
/**
 * A Duration in ms; undefined when malformed; NaN when seconds exceed ±MAX_DURATION_SECONDS,
 * nanos exceed ±999 999 999 or the two have opposite signs, as protobuf and Envoy reject them. `-0s` is 0.
 */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'string') {
    const m = DURATION_RE.exec(v);
    if (!m) return undefined;
    const whole = Number(m[1]);
    if (Math.abs(whole) > MAX_DURATION_SECONDS) return Number.NaN;
    const frac = m[2] ? Number(`0.${m[2]}`) : 0;
    return (whole < 0 || m[1] === '-0' ? whole - frac : whole + frac) * 1000 + 0;
  }
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const { seconds, nanos, ...rest } = v as { seconds?: unknown; nanos?: unknown };
    if (Object.keys(rest).length > 0) return undefined;
    const s = typeof seconds === 'string' && /^-?\d+$/.test(seconds) ? Number(seconds) : seconds ?? 0;
    const n = nanos ?? 0;
    if (typeof s !== 'number' || typeof n !== 'number' || !Number.isInteger(s) || !Number.isInteger(n)) return undefined;
    if (Math.abs(s) > MAX_DURATION_SECONDS || Math.abs(n) > 999_999_999 || (s > 0 && n < 0) || (s < 0 && n > 0)) return Number.NaN;
    return s * 1000 + n / 1e6 + 0;
  }
  return undefined;
}
