/**
 * Config text → parsed object. YAML (1.2, which includes JSON), one document or several (each a resource).
 * Pure: the caller reads the file. Errors carry 1-based lines; `locate` maps a field path back to its line.
 *
 * Hostile text is refused, never thrown: text over `maxBytes` is refused before the `yaml` library sees
 * it, text nested far deeper than `maxDepth` is stopped while it is lexed (yaml-nesting.ts), and the
 * document becomes plain data through PlainComposer (yaml-plain.ts), which enforces the limits exactly.
 */
import type { Alias, Document, LineCounter, Node, Pair, YAMLMap } from 'yaml';
import { yaml } from './yaml-module.js';
import type { FieldError } from '@xmesh/core';
import { DEFAULT_CONFIG_LIMITS, MAX_INPUT_ERRORS, messageOf, resolveLimits, type ConfigLimits } from './input-guard.js';
import { buildSnapshot, type BuildOptions } from './snapshot.js';
import type { MeshSnapshot } from './model.js';
import { NestingEstimate, PRESCAN_DEPTH_FACTOR, TooDeep } from './yaml-nesting.js';
import { PlainComposer } from './yaml-plain.js';

export type ParseResult =
  | { readonly ok: true; readonly value: unknown; readonly locate: (path: string) => number | undefined }
  | { readonly ok: false; readonly errors: readonly FieldError[] };

/**
 * The `yaml` options, every one set on purpose. `uniqueKeys` is off because PlainComposer checks keys in
 * linear time (the library compares each key with every earlier one); aliases are expanded by
 * PlainComposer within `maxValues`, so the library's `maxAliasCount` (a `toJS` option) never applies;
 * `resolveKnownTags` is off so `!!binary`, `!!set`, `!!omap` and `!!timestamp` stay text instead of
 * becoming values that are not JSON data; merge keys (`<<`) are plain keys, as in YAML 1.2.
 */
const YAML_OPTIONS = {
  version: '1.2',
  schema: 'core',
  strict: true,
  merge: false,
  uniqueKeys: false,
  resolveKnownTags: false,
  intAsBigInt: false,
  keepSourceTokens: false,
  prettyErrors: false,
} as const;

export function parseConfigText(text: string, source = '(input)', limits: Partial<ConfigLimits> = DEFAULT_CONFIG_LIMITS): ParseResult {
  const resolved = resolveLimits(limits);
  const size = oversize(text, resolved.maxBytes);
  if (size !== undefined) return refuse(source, `is ${size} bytes, over the limit of ${resolved.maxBytes} bytes (limit maxBytes)`);
  const nul = text.indexOf('\0');
  if (nul !== -1) return refuse(source, 'contains NUL characters: not YAML or JSON text', lineOf(text, nul));

  const lineCounter = new (yaml().LineCounter)();
  let docs: Document.Parsed[];
  try {
    docs = parseDocuments(text, lineCounter, resolved.maxDepth);
  } catch (error) {
    const line = lineCounter.lineStarts.length;
    if (error instanceof TooDeep) {
      return refuse(source, `nested far deeper than ${resolved.maxDepth} levels (limit maxDepth; stopped before parsing, at ${PRESCAN_DEPTH_FACTOR}× the limit)`, line);
    }
    return refuse(source, `cannot be parsed: ${messageOf(error)}`, line);
  }
  const errors: FieldError[] = [];
  for (const doc of docs) {
    for (const e of doc.errors) {
      if (errors.length === MAX_INPUT_ERRORS) break;
      errors.push({ path: source, message: `${e.code}: ${e.message.split('\n')[0]}`, line: lineCounter.linePos(e.pos[0]).line });
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  const roots = docs.map((d) => d.contents).filter((c): c is NonNullable<typeof c> => c !== null);
  if (roots.length === 0) return refuse(source, 'empty document');

  const multi = roots.length > 1;
  const composer = new PlainComposer(resolved, lineCounter);
  const values = composer.documents(roots, multi);
  if (composer.errors.length > 0) return { ok: false, errors: composer.errors };
  const keyIndexes = new Map<YAMLMap, Map<string, Pair>>();
  const locate = (path: string) => locatePath({ roots, multi, lines: lineCounter, aliases: composer.aliasTargets, keyIndexes }, path);
  return { ok: true, value: multi ? values : values[0], locate };
}

/**
 * What the library's `parseAllDocuments` does, with the text lexed once and each lexeme shown to the
 * nesting estimate before the parser takes it. Throws TooDeep, or whatever the library throws.
 */
function parseDocuments(text: string, lineCounter: LineCounter, maxDepth: number): Document.Parsed[] {
  const parser = new (yaml().Parser)(lineCounter.addNewLine);
  const nesting = new NestingEstimate(maxDepth);
  function* tokens() {
    lineCounter.addNewLine(0);
    for (const lexeme of new (yaml().Lexer)().lex(text)) {
      nesting.see(lexeme);
      yield* parser.next(lexeme);
    }
    yield* parser.end();
  }
  return Array.from(new (yaml().Composer)(YAML_OPTIONS).compose(tokens()));
}

function refuse(path: string, message: string, line?: number): ParseResult {
  return { ok: false, errors: [line === undefined ? { path, message } : { path, message, line }] };
}

export type TextBuildResult =
  | { readonly ok: true; readonly snapshot: MeshSnapshot; readonly value: unknown }
  | { readonly ok: false; readonly errors: readonly FieldError[] };

/** Parses `text` and builds its snapshot; every error carries its line where the document has it. */
export function buildSnapshotFromText(text: string, source = '(input)', options: BuildOptions = {}): TextBuildResult {
  const parsed = parseConfigText(text, source, options.limits);
  if (!parsed.ok) return parsed;
  const built = buildSnapshot(parsed.value, options);
  if (!built.ok) return { ok: false, errors: withLines(built.errors, parsed.locate) };
  return { ok: true, snapshot: built.snapshot, value: parsed.value };
}

/** Adds `line` to each error whose path can be found in the parsed document. */
export function withLines(errors: readonly FieldError[], locate: (path: string) => number | undefined): FieldError[] {
  return errors.map((e) => {
    if (e.line !== undefined) return e;
    const line = locate(e.path);
    return line === undefined ? e : { ...e, line };
  });
}

/** Splits `a.b[2].c` into ['a', 'b', 2, 'c']. */
export function splitPath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]/g;
  for (let m = re.exec(path); m; m = re.exec(path)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

/** The UTF-8 size of `text` when it is over `maxBytes`, else undefined (counted only when it could be over). */
function oversize(text: string, maxBytes: number): number | undefined {
  if (text.length * 3 <= maxBytes) return undefined;
  const bytes = Buffer.byteLength(text, 'utf8');
  return bytes > maxBytes ? bytes : undefined;
}

/** The 1-based line of `offset`. */
function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

interface Located {
  readonly roots: readonly Node[];
  readonly multi: boolean;
  readonly lines: LineCounter;
  readonly aliases: ReadonlyMap<Alias, Node>;
  /** Each mapping's pairs by key, built on its first lookup, so locating every error stays linear. */
  readonly keyIndexes: Map<YAMLMap, Map<string, Pair>>;
}

function locatePath({ roots, multi, lines, aliases, keyIndexes }: Located, path: string): number | undefined {
  const parts = splitPath(path.replace(/\(.*?\)/g, ''));
  let node: Node | undefined;
  if (multi) {
    const first = parts.shift();
    if (typeof first !== 'number') return undefined;
    node = roots[first];
  } else {
    node = roots[0];
  }
  let last: Node | undefined = node;
  for (const part of parts) {
    if (node && yaml().isAlias(node)) node = aliases.get(node);
    if (!node) break;
    if (typeof part === 'number' && yaml().isSeq(node)) {
      const item: unknown = node.items[part];
      node = yaml().isPair(item) ? (item.key as Node) : (item as Node | undefined);
    } else if (typeof part === 'string' && yaml().isMap(node)) {
      const pair = keyIndex(keyIndexes, node).get(part);
      node = (pair?.value ?? pair?.key) as Node | undefined;
    } else node = undefined;
    if (node) last = node;
  }
  const range = last?.range;
  return range ? lines.linePos(range[0]).line : undefined;
}

function keyIndex(keyIndexes: Map<YAMLMap, Map<string, Pair>>, map: YAMLMap): Map<string, Pair> {
  let index = keyIndexes.get(map);
  if (!index) {
    index = new Map();
    for (const pair of map.items as Pair[]) {
      if (yaml().isScalar(pair.key)) {
        const key = pair.key.value === null ? '' : String(pair.key.value);
        if (!index.has(key)) index.set(key, pair);
      }
    }
    keyIndexes.set(map, index);
  }
  return index;
}
