/**
 * Config text → parsed object. YAML (1.2, which includes JSON), one document or several (each a resource).
 * Pure: the caller reads the file. Errors carry 1-based lines; `locate` maps a field path back to its line.
 */
import { LineCounter, parseAllDocuments, isMap, isSeq, isScalar, type Document, type Node } from 'yaml';
import type { FieldError } from '@xmesh/core';

export type ParseResult =
  | { readonly ok: true; readonly value: unknown; readonly locate: (path: string) => number | undefined }
  | { readonly ok: false; readonly errors: readonly FieldError[] };

export function parseConfigText(text: string, source = '(input)'): ParseResult {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [];
  if (!Array.isArray(docs)) {
    return { ok: false, errors: [{ path: source, message: 'not a YAML/JSON document stream' }] };
  }
  const errors: FieldError[] = [];
  for (const doc of list) {
    for (const e of doc.errors) {
      const line = lineCounter.linePos(e.pos[0]).line;
      errors.push({ path: source, message: `${e.code}: ${e.message.split('\n')[0]}`, line });
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  const real = list.filter((d) => d.contents !== null);
  if (real.length === 0) return { ok: false, errors: [{ path: source, message: 'empty document' }] };
  const value = real.length === 1 ? real[0]!.toJS({ maxAliasCount: 100 }) : real.map((d) => d.toJS({ maxAliasCount: 100 }));
  const locate = (path: string) => locatePath(real, real.length > 1, path, lineCounter);
  return { ok: true, value, locate };
}

/** Adds `line` to each error whose path can be found in the parsed document. */
export function withLines(errors: readonly FieldError[], locate: (path: string) => number | undefined): FieldError[] {
  return errors.map((e) => {
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

function locatePath(docs: Document[], multi: boolean, path: string, lc: LineCounter): number | undefined {
  const parts = splitPath(path.replace(/\(.*?\)/g, ''));
  let node: Node | null | undefined;
  if (multi) {
    const first = parts.shift();
    if (typeof first !== 'number') return undefined;
    node = docs[first]?.contents;
  } else {
    node = docs[0]?.contents;
  }
  let last: Node | null | undefined = node;
  for (const part of parts) {
    if (!node) break;
    if (typeof part === 'number' && isSeq(node)) node = node.items[part] as Node | undefined;
    else if (typeof part === 'string' && isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === part);
      node = (pair?.value ?? pair?.key) as Node | undefined;
    } else node = undefined;
    if (node) last = node;
  }
  const range = last?.range;
  return range ? lc.linePos(range[0]).line : undefined;
}
