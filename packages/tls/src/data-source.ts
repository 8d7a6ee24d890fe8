/**
 * Reads `DataSource`s: files when the config applies (and again when a watched source changes), environment
 * variables, inline text. A failure is a FieldError at the config path that named the source; the bytes of a key
 * never appear in it.
 */
import { readFileSync } from 'node:fs';
import type { FieldError } from '@xmesh/core';
import type { DataSource, SensitiveDataSource } from '@xmesh/xds';

/** Key and certificate files are small; a bigger file is a mistake (or an attack on memory). */
export const MAX_DATA_SOURCE_BYTES = 1024 * 1024;

export type Loaded = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly error: FieldError };

export function loadDataSource(source: DataSource | SensitiveDataSource, path: string, env: NodeJS.ProcessEnv = process.env): Loaded {
  switch (source.kind) {
    case 'inline':
      return { ok: true, text: typeof source.text === 'string' ? source.text : source.text.reveal() };
    case 'env': {
      const value = env[source.name];
      if (value === undefined || value === '') return fail(path, `environment variable ${source.name} is not set`);
      return { ok: true, text: value };
    }
    case 'file':
      return readText(source.path, path);
  }
}

/** A file's text, bounded; errors name the file, never its contents. */
export function readText(file: string, path: string): Loaded {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    return fail(path, `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (bytes.length > MAX_DATA_SOURCE_BYTES) return fail(path, `${file} is larger than ${MAX_DATA_SOURCE_BYTES} bytes`);
  return { ok: true, text: bytes.toString('utf8') };
}

function fail(path: string, message: string): Loaded {
  return { ok: false, error: { path, message } };
}
