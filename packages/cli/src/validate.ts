/** `xmesh validate <file...>`: like `envoy --mode validate`. Exit 0 when every file is valid, 1 otherwise. */
import { formatFieldErrors, type FieldError } from '@xmesh/core';
import { buildSnapshotFromText, readConfigText, type MeshSnapshot } from '@xmesh/xds';
import { routingTable, summarize } from './summary.js';

export interface ValidateOutcome {
  readonly file: string;
  readonly snapshot?: MeshSnapshot;
  readonly errors: readonly FieldError[];
}

/** Never throws: a file that cannot be read, parsed or built is an outcome with its errors. */
export async function validateFile(file: string): Promise<ValidateOutcome> {
  let text: string;
  try {
    text = await readConfigText(file);
  } catch (err) {
    return { file, errors: [{ path: file, message: `cannot read: ${(err as Error).message}` }] };
  }
  const built = buildSnapshotFromText(text, file);
  return built.ok ? { file, snapshot: built.snapshot, errors: [] } : { file, errors: built.errors };
}

/** How `validate` prints an invalid file; `xmesh sidecar` and `xmesh control-plane` print a bad config the same way. */
export function formatInvalid(file: string, errors: readonly FieldError[]): string {
  const header = `${file}: INVALID (${errors.length} error${errors.length === 1 ? '' : 's'})`;
  return `${header}\n${formatFieldErrors(errors).replace(/^/gm, '  ')}`;
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
      out(formatInvalid(file, result.errors));
    }
    if (result.errors.length > 0) failed++;
  }
  return failed === 0 ? 0 : 1;
}
