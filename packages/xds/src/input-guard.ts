/**
 * The limits every config input is held to, and the guarded copy that makes an object handed over by
 * code safe to decode. Decoders then see plain JSON data only: no cycles, getters, proxies or class
 * instances, at most `maxDepth` levels deep and `maxValues` values in all, so they can neither throw nor
 * run for long on a hostile shape. The YAML/JSON text path (text.ts) applies the same limits while it
 * composes the document.
 */
import type { FieldError } from '@xmesh/core';

export interface ConfigLimits {
  /** Largest config text (UTF-8 bytes) or file accepted; larger input is refused before it is parsed. */
  readonly maxBytes: number;
  /** Deepest nesting of objects and lists, counted after expanding YAML aliases (protobuf's own limit is 100). */
  readonly maxDepth: number;
  /** Most values (scalars, objects, lists) one input may hold, counted after expanding YAML aliases. */
  readonly maxValues: number;
}

export const DEFAULT_CONFIG_LIMITS: ConfigLimits = Object.freeze({
  maxBytes: 16 * 1024 * 1024,
  maxDepth: 100,
  maxValues: 2_000_000,
});

/** At most this many input-shape errors are listed; the walk stops after them. */
export const MAX_INPUT_ERRORS = 100;

export function resolveLimits(limits: Partial<ConfigLimits> | undefined): ConfigLimits {
  return limits === undefined ? DEFAULT_CONFIG_LIMITS : { ...DEFAULT_CONFIG_LIMITS, ...limits };
}

/** Field path of `segments` as the decoders write it: `a.b[2].c`, `(root)` for none. */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : out === '' ? s : `.${s}`;
  return out === '' ? '(root)' : out;
}

/** Sets `key` as an own enumerable data property; `__proto__` stays a key, never the prototype. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

export type GuardResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly errors: readonly FieldError[] };

/** Thrown inside the walk to stop it; never escapes this module. */
class StopWalk extends Error {}

/**
 * A plain copy of `input` (objects, lists, strings, finite or non-finite numbers, booleans, null), or the
 * errors that make it unusable as config: a cycle, a property that throws when read, a value that is not
 * JSON data (function, symbol, bigint, Map, Date, ...), nesting deeper than `maxDepth`, more than
 * `maxValues` values (a shared subtree counts each time it is reached). Never throws.
 */
export function guardConfigValue(input: unknown, limits: ConfigLimits = DEFAULT_CONFIG_LIMITS): GuardResult {
  const walk = new GuardedCopy(limits);
  let value: unknown;
  try {
    value = walk.copy(input, 0);
  } catch (error) {
    if (!(error instanceof StopWalk)) walk.fail(`cannot be read: ${messageOf(error)}`);
  }
  return walk.errors.length === 0 ? { ok: true, value } : { ok: false, errors: walk.errors };
}

class GuardedCopy {
  readonly errors: FieldError[] = [];
  private values = 0;
  /** The objects on the path from the root to the value being copied. */
  private readonly open = new Set<object>();
  private readonly path: (string | number)[] = [];

  constructor(private readonly limits: ConfigLimits) {}

  copy(value: unknown, depth: number): unknown {
    if (++this.values > this.limits.maxValues) {
      this.fail(`the config holds more than ${this.limits.maxValues} values (limit maxValues)`);
      throw new StopWalk();
    }
    switch (typeof value) {
      case 'string':
      case 'number':
      case 'boolean':
      case 'undefined':
        return value;
      case 'object':
        if (value === null) return null;
        return this.copyObject(value, depth);
      default:
        this.fail(`must be JSON data, got a ${typeof value}`);
        return undefined;
    }
  }

  private copyObject(value: object, depth: number): unknown {
    if (depth >= this.limits.maxDepth) {
      this.fail(`nested deeper than ${this.limits.maxDepth} levels (limit maxDepth)`);
      return undefined;
    }
    if (this.open.has(value)) {
      this.fail('refers to an object that contains it (a cycle)');
      return undefined;
    }
    const shape = this.read(() => shapeOf(value));
    if (shape === undefined) return undefined;
    if (shape.kind === 'other') {
      this.fail(`must be a plain object or a list, got ${shape.name === '' ? 'a class instance' : `a ${shape.name}`}`);
      return undefined;
    }
    const list = shape.kind === 'list';
    const keys = shape.kind === 'object' ? shape.keys : [];
    this.open.add(value);
    try {
      return list ? this.copyList(value as readonly unknown[], depth) : this.copyFields(value as Record<string, unknown>, keys, depth);
    } finally {
      this.open.delete(value);
    }
  }

  private copyList(list: readonly unknown[], depth: number): unknown[] {
    const length = this.read(() => list.length);
    if (typeof length !== 'number') return [];
    if (length > this.limits.maxValues - this.values) {
      this.fail(`a list of ${length} elements is over the limit of ${this.limits.maxValues} values (limit maxValues)`);
      throw new StopWalk();
    }
    const out: unknown[] = new Array<unknown>(length);
    for (let i = 0; i < length; i++) {
      this.path.push(i);
      const element = this.read(() => list[i]);
      out[i] = element === undefined ? undefined : this.copy(element, depth + 1);
      this.path.pop();
    }
    return out;
  }

  private copyFields(object: Record<string, unknown>, keys: readonly string[], depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      this.path.push(key);
      const field = this.read(() => object[key]);
      if (field !== undefined) setOwn(out, key, this.copy(field, depth + 1));
      this.path.pop();
    }
    return out;
  }

  /** `get()`, or undefined with an error at the current path when reading throws (a getter, a proxy trap). */
  private read<T>(get: () => T): T | undefined {
    try {
      return get();
    } catch (error) {
      this.fail(`cannot be read: ${messageOf(error)}`);
      return undefined;
    }
  }

  fail(message: string): void {
    this.errors.push({ path: formatPath(this.path), message });
    if (this.errors.length >= MAX_INPUT_ERRORS) throw new StopWalk();
  }
}

type Shape = { readonly kind: 'list' } | { readonly kind: 'object'; readonly keys: string[] } | { readonly kind: 'other'; readonly name: string };

/** What an object is; may throw (a proxy's traps, a getter on the prototype). */
function shapeOf(value: object): Shape {
  if (Array.isArray(value)) return { kind: 'list' };
  const proto: object | null = Object.getPrototypeOf(value);
  // Object.prototype of this realm or another one (objects from `vm` contexts, worker messages).
  if (proto === null || Object.getPrototypeOf(proto) === null) return { kind: 'object', keys: Object.keys(value) };
  const name: unknown = (proto as { constructor?: { name?: unknown } }).constructor?.name;
  return { kind: 'other', name: typeof name === 'string' ? name : '' };
}

/** The message of something thrown, without calling into a hostile object. */
export function messageOf(error: unknown): string {
  try {
    if (error instanceof Error) return String(error.message);
    return typeof error === 'string' ? error : typeof error;
  } catch {
    return 'an unreadable error';
  }
}
