/**
 * A parsed YAML document → plain data, in one linear walk that also enforces the config limits: keys
 * unique per mapping (a Set per mapping, where the `yaml` library's own check compares each key with every
 * earlier one), nesting at most `maxDepth` deep and at most `maxValues` values once aliases are expanded.
 * An alias reuses its anchor's value (as the library's `toJS` does) and is charged that value's size and
 * height, so a "billion laughs" document is refused at the alias that crosses the limit, never expanded.
 */
import type { Alias, LineCounter, Node, Pair, Scalar } from 'yaml';
import { yaml } from './yaml-module.js';
import type { FieldError } from '@xmesh/core';
import { MAX_INPUT_ERRORS, formatPath, messageOf, setOwn, type ConfigLimits } from './input-guard.js';

/** A composed node: its value, how many values it holds once aliases are expanded, and how many levels deep it goes. */
interface Composed {
  readonly value: unknown;
  readonly size: number;
  readonly height: number;
}

const SCALAR_SIZE = 1;
const ABORTED: Composed = { value: undefined, size: 1, height: 0 };

/** Thrown inside the walk to stop it; never escapes this module. */
class StopWalk extends Error {}

/**
 * Turns YAML nodes into plain data in one pass. An alias reuses its anchor's value (as the library's
 * `toJS` does) and is charged that value's size and height, so expansion is bounded without being done.
 */
export class PlainComposer {
  readonly errors: FieldError[] = [];
  /** Each alias node and the node it refers to, for `locate`. */
  readonly aliasTargets = new Map<Alias, Node>();
  private values = 0;
  private anchors = new Map<string, Node>();
  private readonly composed = new Map<Node, Composed>();
  /** Anchored nodes being composed: an alias to one of them is a cycle. */
  private readonly open = new Set<Node>();
  private readonly path: (string | number)[] = [];

  constructor(
    private readonly limits: ConfigLimits,
    private readonly lines: LineCounter,
  ) {}

  documents(roots: readonly Node[], multi: boolean): unknown[] {
    const out: unknown[] = [];
    try {
      roots.forEach((root, i) => {
        this.anchors = new Map(); // anchors do not cross documents
        if (multi) this.path.push(i);
        out.push(this.node(root, 0).value);
        if (multi) this.path.pop();
      });
    } catch (error) {
      if (!(error instanceof StopWalk)) this.fail(undefined, `cannot be composed: ${messageOf(error)}`, false);
    }
    return out;
  }

  private node(node: unknown, depth: number): Composed {
    if (node === null || node === undefined) return this.count({ value: null, size: SCALAR_SIZE, height: 0 }, undefined);
    if (yaml().isAlias(node)) return this.alias(node, depth);
    const n = node as Node;
    const anchor = (n as { anchor?: string }).anchor;
    if (anchor !== undefined) {
      this.anchors.set(anchor, n);
      this.open.add(n);
    }
    let result: Composed;
    if (yaml().isScalar(n)) result = this.count(this.scalar(n), n);
    else if (yaml().isMap(n) || yaml().isSeq(n)) {
      if (depth >= this.limits.maxDepth) {
        this.fail(n, `nested deeper than ${this.limits.maxDepth} levels (limit maxDepth)`);
        result = ABORTED;
      } else {
        this.count({ value: undefined, size: 1, height: 0 }, n);
        result = yaml().isMap(n) ? this.pairs(n.items, depth) : this.list(n.items, depth);
      }
    } else {
      this.fail(n, 'is not a YAML scalar, mapping or sequence');
      result = ABORTED;
    }
    if (anchor !== undefined) {
      this.open.delete(n);
      this.composed.set(n, result);
    }
    return result;
  }

  private alias(node: Alias, depth: number): Composed {
    const target = this.anchors.get(node.source);
    if (target === undefined) {
      this.fail(node, `alias *${node.source} has no anchor before it`);
      return ABORTED;
    }
    this.aliasTargets.set(node, target);
    if (this.open.has(target)) {
      this.fail(node, `alias *${node.source} refers to a node that contains it`);
      return ABORTED;
    }
    const shared = this.composed.get(target) ?? ABORTED;
    if (shared.height > 0 && depth + shared.height > this.limits.maxDepth) {
      this.fail(node, `alias *${node.source} nests deeper than ${this.limits.maxDepth} levels (limit maxDepth)`);
      return ABORTED;
    }
    return this.count(shared, node);
  }

  private scalar(node: Scalar): Composed {
    const v = node.value;
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return { value: v, size: SCALAR_SIZE, height: 0 };
    this.fail(node, `is not JSON data (a YAML ${typeof v})`);
    return ABORTED;
  }

  private pairs(items: readonly unknown[], depth: number): Composed {
    const out: Record<string, unknown> = {};
    const seen = new Set<string>();
    let size = 1;
    let height = 0;
    for (const item of items) {
      const pair = item as Pair<unknown, unknown>;
      const key = this.key(pair.key);
      if (key === undefined) continue;
      if (seen.has(key)) {
        this.path.push(key);
        this.fail(pair.key as Node, `duplicate key "${key}"`);
        this.path.pop();
        continue;
      }
      seen.add(key);
      this.path.push(key);
      const child = this.node(pair.value, depth + 1);
      this.path.pop();
      setOwn(out, key, child.value);
      size += child.size;
      if (child.height > height) height = child.height;
    }
    return { value: out, size, height: height + 1 };
  }

  private list(items: readonly unknown[], depth: number): Composed {
    const out: unknown[] = [];
    let size = 1;
    let height = 0;
    for (let i = 0; i < items.length; i++) {
      this.path.push(i);
      const item = items[i];
      // `[a: 1]`: a flow sequence may hold single-pair mappings.
      const child = yaml().isPair(item) ? this.pairsInList(item, depth + 1) : this.node(item, depth + 1);
      this.path.pop();
      out.push(child.value);
      size += child.size;
      if (child.height > height) height = child.height;
    }
    return { value: out, size, height: height + 1 };
  }

  private pairsInList(pair: Pair<unknown, unknown>, depth: number): Composed {
    if (depth >= this.limits.maxDepth) {
      this.fail(undefined, `nested deeper than ${this.limits.maxDepth} levels (limit maxDepth)`);
      return ABORTED;
    }
    this.count({ value: undefined, size: 1, height: 0 }, undefined);
    return this.pairs([pair], depth);
  }

  /** A mapping key as a string, as the library's `toJS` makes it; undefined (reported) when it is not a scalar. */
  private key(node: unknown): string | undefined {
    if (node === null || node === undefined) return '';
    const scalar = yaml().isAlias(node) ? this.anchors.get(node.source) : node;
    if (!yaml().isScalar(scalar)) {
      this.fail(node as Node, 'a mapping key must be a string or a number');
      return undefined;
    }
    const v = scalar.value;
    return v === null ? '' : String(v);
  }

  /** Charges `c`'s values to the budget (scalars and aliases; collections charge themselves on entry). */
  private count(c: Composed, at: Node | undefined): Composed {
    this.values += c.size;
    if (this.values > this.limits.maxValues) {
      this.fail(at, `the config holds more than ${this.limits.maxValues} values${at && yaml().isAlias(at) ? ' once its aliases are expanded' : ''} (limit maxValues)`, false);
      throw new StopWalk();
    }
    return c;
  }

  private fail(at: Node | undefined, message: string, stopAtCap = true): void {
    const offset = at?.range?.[0];
    const error: FieldError = { path: formatPath(this.path), message };
    this.errors.push(offset === undefined ? error : { ...error, line: this.lines.linePos(offset).line });
    if (stopAtCap && this.errors.length >= MAX_INPUT_ERRORS) throw new StopWalk();
  }
}
