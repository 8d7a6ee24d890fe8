/**
 * Path-tracking reader over proto3-JSON-shaped input. Every problem is recorded with its field path and
 * decoding continues, so one pass reports every error. Keys may be snake_case or lowerCamelCase, as proto3
 * JSON allows. A key that is neither read nor listed as ignored is reported as unsupported: nothing is
 * silently dropped.
 */
import type { FieldError } from '@xmesh/core';
import type { Fraction } from '../model.js';

/**
 * Whose validity rules the decoders apply: Envoy's, or those of a gRPC xDS client (gRFC A27, A28, A39,
 * A42) for the resources a gRPC client reads — an `api_listener` Listener and its inline routes, and
 * everything a gRPC-style ADS client receives. They differ only where a gRPC client accepts what Envoy
 * refuses (no HCM `stat_prefix`, unnamed virtual hosts, the `io.grpc.channel_id` hash policy) or refuses
 * what Envoy accepts (see grpc-client-rules.ts).
 */
export type ClientRules = 'envoy' | 'grpc';

export class Issues {
  readonly errors: FieldError[] = [];
  readonly ignored: string[] = [];

  constructor(private currentRules: ClientRules = 'envoy') {}

  /** The rules in force for what is being read now. */
  get rules(): ClientRules {
    return this.currentRules;
  }

  /** Runs `read` with `rules` in force (a gRPC client's listener inside an Envoy config, say). */
  withRules<T>(rules: ClientRules, read: () => T): T {
    const saved = this.currentRules;
    this.currentRules = rules;
    try {
      return read();
    } finally {
      this.currentRules = saved;
    }
  }

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
const IDENTIFIER_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DURATION_RE = /^(-?\d+)(?:\.(\d{1,9}))?s$/;
/** Lists nested deeper than this are not flattened (their elements are then reported as malformed). */
const MAX_LIST_NESTING = 8;

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function hasUpperCase(key: string): boolean {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 65 && c <= 90) return true;
  }
  return false;
}

export function joinPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** The index of a Reader that is not a list element. */
const NO_INDEX = -1;

export class Reader {
  /** The object's field names, snake_case, each once, in input order. */
  private readonly names: readonly string[];
  /** How `names[i]` is spelled in the input (the last spelling, when given twice); often the same array. */
  private readonly spelled: readonly string[];
  /** Which of `names` were read or ignored: bit i for i < 31, then `seenBeyond`. */
  private seenBits = 0;
  private seenBeyond: boolean[] | undefined;
  private composedPath: string | undefined;

  /**
   * With no `parent`, `segment` is the whole path; otherwise the path is the parent's, then `segment` (the
   * field as spelled), then `[index]` unless `index` is NO_INDEX. Composed on first use of `path`.
   */
  private constructor(
    readonly raw: Readonly<Record<string, unknown>>,
    private readonly parent: Reader | undefined,
    private readonly segment: string,
    private readonly index: number,
    readonly issues: Issues,
  ) {
    const keys = Object.keys(raw);
    this.names = keys;
    this.spelled = keys;
    for (let i = 0; i < keys.length; i++) {
      if (hasUpperCase(keys[i]!)) {
        [this.names, this.spelled] = this.canonicalNames(keys);
        break;
      }
    }
  }

  /** snake_case names for `keys`, reporting a field given in both spellings. */
  private canonicalNames(keys: readonly string[]): [string[], string[]] {
    const names: string[] = [];
    const spelled: string[] = [];
    const indexOf = new Map<string, number>(); // linear in the keys, however many there are
    for (const key of keys) {
      const name = key === '@type' ? key : snake(key);
      const i = indexOf.get(name);
      if (i === undefined) {
        indexOf.set(name, names.length);
        names.push(name);
        spelled.push(key);
        continue;
      }
      this.issues.error(joinPath(this.path, key), `duplicate field (also given as "${spelled[i]}")`);
      spelled[i] = key;
    }
    return [names, spelled];
  }

  /** Wraps `value` if it is an object, else records an error and returns undefined. */
  static of(value: unknown, path: string, issues: Issues): Reader | undefined {
    if (!isObject(value)) {
      issues.error(path === '' ? '(root)' : path, `must be an object, got ${describe(value)}`);
      return undefined;
    }
    return new Reader(value, undefined, path, NO_INDEX, issues);
  }

  /** This object's field path (`''` at the root). */
  get path(): string {
    if (this.composedPath === undefined) {
      const parent = this.parent;
      const field = parent === undefined ? this.segment : joinPath(parent.path, this.segment);
      this.composedPath = this.index === NO_INDEX ? field : `${field}[${this.index}]`;
    }
    return this.composedPath;
  }

  private spellingOf(key: string): string {
    const i = this.names.indexOf(key);
    return i < 0 ? key : this.spelled[i]!;
  }

  private markSeen(i: number): void {
    if (i < 31) this.seenBits |= 1 << i;
    else (this.seenBeyond ??= [])[i] = true;
  }

  private wasSeen(i: number): boolean {
    return i < 31 ? (this.seenBits & (1 << i)) !== 0 : this.seenBeyond?.[i] === true;
  }

  at(key: string): string {
    return joinPath(this.path, this.spellingOf(key));
  }

  has(key: string): boolean {
    const i = this.names.indexOf(key);
    if (i < 0) return false;
    const v = this.raw[this.spelled[i]!];
    return v !== undefined && v !== null;
  }

  /** The raw value of a field (marks it read). */
  get(key: string): unknown {
    const i = this.names.indexOf(key);
    if (i < 0) return undefined;
    this.markSeen(i);
    return this.raw[this.spelled[i]!] ?? undefined;
  }

  error(key: string, message: string): void {
    this.issues.error(this.at(key), message);
  }

  /** Records that the field, if present, is knowingly ignored. */
  ignore(...keys: string[]): void {
    this.ignoreEach(keys);
  }

  /** As ignore, for a list kept by the caller. */
  ignoreEach(keys: readonly string[]): void {
    for (const key of keys) {
      const i = this.names.indexOf(key);
      if (i < 0) continue;
      this.markSeen(i);
      this.issues.ignored.push(joinPath(this.path, this.spelled[i]!));
    }
  }

  /** Records every field not read so far as knowingly ignored (for messages whose remaining fields are tuning only). */
  ignoreRest(): void {
    for (let i = 0; i < this.names.length; i++) {
      if (this.names[i] === '@type' || this.wasSeen(i)) continue;
      this.markSeen(i);
      this.issues.ignored.push(joinPath(this.path, this.spelled[i]!));
    }
  }

  /**
   * The entries of a proto `map<string, V>` field, keys as given (never case-converted), each with its path
   * (see entryPath). A missing field has no entries.
   */
  entries(key: string): { key: string; value: unknown; path: string }[] {
    const map = this.map(key);
    if (map === undefined) return [];
    return Object.entries(map).map(([k, value]) => ({ key: k, value, path: this.entryPath(key, k) }));
  }

  /** A proto `map<string, V>` field as its object (marks it read); undefined when missing or not an object (reported). */
  map(key: string): Readonly<Record<string, unknown>> | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (!isObject(v)) {
      this.error(key, `must be an object, got ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  /** Path of the entry `entryKey` of map field `key`: `field.key` for identifier-like keys, `field["some.key"]` otherwise. */
  entryPath(key: string, entryKey: string): string {
    const base = this.at(key);
    return IDENTIFIER_RE.test(entryKey) ? `${base}.${entryKey}` : `${base}[${JSON.stringify(entryKey)}]`;
  }

  /** Reports every field not read and not ignored. Call once, after reading. */
  finish(what = 'field'): void {
    for (let i = 0; i < this.names.length; i++) {
      if (this.names[i] === '@type' || this.wasSeen(i)) continue;
      const key = this.spelled[i]!;
      this.issues.error(joinPath(this.path, key), `unknown or unsupported ${what} "${key}"`);
    }
  }

  obj(key: string): Reader | undefined {
    const i = this.names.indexOf(key);
    if (i < 0) return undefined;
    this.markSeen(i);
    const field = this.spelled[i]!;
    const v = this.raw[field];
    if (v === undefined || v === null) return undefined;
    if (!isObject(v)) {
      this.error(key, `must be an object, got ${describe(v)}`);
      return undefined;
    }
    return new Reader(v, this, field, NO_INDEX, this.issues);
  }

  /**
   * The elements of a repeated field with their paths; a missing field is an empty list. As Envoy's
   * loader parses JSON/YAML (protobuf's JSON parser with its legacy syntax on, which
   * `JsonStreamToMessage` always enables), a single value stands for a one-element list and a list
   * nested in the list is flattened into it (Envoy's dynamic-config-fs example gives `filters:` as
   * one mapping).
   */
  list(key: string): { value: unknown; path: string }[] {
    return this.elements(key).map(({ value, segment, index }) => ({ value, path: `${joinPath(this.path, segment)}${index === NO_INDEX ? '' : `[${index}]`}` }));
  }

  /** List of objects (see `list`); each element that is not an object is reported. */
  objects(key: string): Reader[] {
    const out: Reader[] = [];
    for (const { value, segment, index } of this.elements(key)) {
      if (isObject(value)) out.push(new Reader(value, this, segment, index, this.issues));
      else this.issues.error(`${joinPath(this.path, segment)}${index === NO_INDEX ? '' : `[${index}]`}`, `must be an object, got ${describe(value)}`);
    }
    return out;
  }

  /** The elements of a repeated field (marks it read): `segment` and `index` compose each element's path. */
  private elements(key: string): { value: unknown; segment: string; index: number }[] {
    const v = this.get(key);
    if (v === undefined) return [];
    const field = this.spellingOf(key);
    if (!Array.isArray(v)) return [{ value: v, segment: field, index: NO_INDEX }];
    const out: { value: unknown; segment: string; index: number }[] = [];
    const flatten = (items: readonly unknown[], segment: string, depth: number): void => {
      for (let i = 0; i < items.length; i++) {
        const item: unknown = items[i];
        if (Array.isArray(item) && depth < MAX_LIST_NESTING) flatten(item, `${segment}[${i}]`, depth + 1);
        else out.push({ value: item, segment, index: i });
      }
    };
    flatten(v, field, 0);
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

  /**
   * An enum. With `numbers` (the proto enum's members by number) it is read as Envoy reads a proto enum
   * (see `protoEnumName`); without, `values` are matched exactly (xmesh's own string settings).
   */
  enumOf<T extends string>(key: string, values: readonly T[], dflt: T, numbers?: Readonly<Record<number, T>>): T {
    const v = this.get(key);
    if (v === undefined) return dflt;
    const name = numbers === undefined ? (typeof v === 'string' ? v : undefined) : protoEnumName(v, numbers);
    if (name !== undefined && (values as readonly string[]).includes(name)) return name as T;
    this.error(key, `must be one of ${values.join(', ')}, got ${describe(v)}`);
    return dflt;
  }
}

/**
 * A proto enum value as Envoy's config loader accepts it (`MessageUtil::loadFromJsonNoThrow` in
 * source/common/protobuf/yaml_utility.cc parses with `case_insensitive_enum_parsing`; protobuf's JSON
 * parser also takes the number, as a JSON number or a decimal string): a member name in any ASCII case
 * (`strict_dns`, `Round_Robin`), or its number. Returns the member's canonical name, or undefined when
 * `v` names no member of `members` (number → name).
 */
export function protoEnumName<T extends string>(v: unknown, members: Readonly<Record<number, T>>): T | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? members[v] : undefined;
  if (typeof v !== 'string') return undefined;
  let upper: string | undefined;
  for (const n in members) {
    const name = members[n]!;
    if (name === v) return name;
    upper ??= asciiUpper(v);
    if (name === upper) return name;
  }
  return /^-?\d+$/.test(v) ? members[Number(v)] : undefined;
}

function asciiUpper(s: string): string {
  return s.replace(/[a-z]+/g, (m) => m.toUpperCase());
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

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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
