/** `xmesh validate <file...>`: like `envoy --mode validate`. Exit 0 when every file is valid, 1 otherwise. */
import { readFile } from 'node:fs/promises';
import { formatFieldErrors, type FieldError } from '@xmesh/core';
import { buildSnapshot, parseConfigText, withLines, type MeshSnapshot } from '@xmesh/xds';
import { routingTable, summarize } from './summary.js';

export interface ValidateOutcome {
  readonly file: string;
  readonly snapshot?: MeshSnapshot;
  readonly errors: readonly FieldError[];
}

export async function validateFile(file: string): Promise<ValidateOutcome> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { file, errors: [{ path: file, message: `cannot read: ${(err as Error).message}` }] };
  }
  const parsed = parseConfigText(text, file);
  if (!parsed.ok) return { file, errors: parsed.errors };
  const built = buildSnapshot(parsed.value);
  if (!built.ok) return { file, errors: withLines(built.errors, parsed.locate) };
  return { file, snapshot: built.snapshot, errors: [] };
}

export interface ValidateOptions {
  readonly routes?: boolean;
  readonly json?: boolean;
}

export async function runValidate(files: string[], options: ValidateOptions, out: (line: string) => void): Promise<number> {
  let failed = 0;
  for (const file of files) {
    const result = await validateFile(file);
    if (options.json) {
      out(JSON.stringify({ file, ok: result.errors.length === 0, errors: result.errors, snapshot: result.snapshot }, null, 2));
    } else if (result.snapshot) {
      out(`${file}: OK`);
      out(summarize(result.snapshot));
      if (options.routes) out(routingTable(result.snapshot));
    } else {
      out(`${file}: INVALID (${result.errors.length} error${result.errors.length === 1 ? '' : 's'})`);
      out(formatFieldErrors(result.errors).replace(/^/gm, '  '));
    }
    if (result.errors.length > 0) failed++;
  }
  return failed === 0 ? 0 : 1;
}
