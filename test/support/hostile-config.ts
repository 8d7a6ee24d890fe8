/**
 * Config texts and objects that attack a config loader: alias bombs, deep nesting, wide mappings,
 * binary garbage, and objects whose shape throws when read.
 */

/**
 * The YAML "billion laughs": nine levels of nine aliases each, 9^9 (387 million) strings once expanded,
 * in under 500 bytes. Each line is a top-level key, so the first alias that crosses a limit has a line.
 */
export function aliasBomb(): string {
  const names = 'abcdefghi';
  const lines = [`a: &a [${Array(9).fill('"lol"').join(', ')}]`];
  for (let i = 1; i < names.length; i++) lines.push(`${names[i]}: &${names[i]} [${Array(9).fill(`*${names[i - 1]}`).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

/** `levels` nested flow sequences on one line: `[[[...]]]`. */
export function deepFlow(levels: number): string {
  return `${'['.repeat(levels)}${']'.repeat(levels)}\n`;
}

/** `levels` nested block mappings, each key one space deeper than its parent. */
export function deepBlock(levels: number): string {
  let out = '';
  for (let i = 0; i < levels - 1; i++) out += `${' '.repeat(i)}k:\n`;
  return `${out}${' '.repeat(levels - 1)}k: leaf\n`;
}

/** A JSON object nested `levels` deep: `{"k": {"k": ... 1}}`. */
export function deepObject(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = { k: value };
  return value;
}

/** An Envoy bootstrap whose one cluster has `keys` unknown fields, as YAML (one key a line). */
export function wideClusterYaml(keys: number, prefix = 'field_'): string {
  const lines = ['static_resources:', '  clusters:', '  - name: wide'];
  for (let i = 0; i < keys; i++) lines.push(`    ${prefix}${i}: ${i}`);
  return `${lines.join('\n')}\n`;
}

/** Deterministic pseudo-random bytes (xorshift32), so a garbage case is the same on every run. */
export function garbageBytes(length: number, seed = 0x9e3779b9): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
