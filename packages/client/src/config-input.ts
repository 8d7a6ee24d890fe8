/**
 * Turns what a user passes as config — a file path (YAML/JSON), a parsed object, or a MeshSnapshot —
 * into a validated snapshot or the full list of errors.
 */
import { readFile } from 'node:fs/promises';
import type { FieldError } from '@xmesh/core';
import { buildSnapshot, parseConfigText, withLines, type MeshSnapshot } from '@xmesh/xds';

/** A file path, an already parsed Envoy bootstrap / resource list, or a built snapshot. */
export type MeshConfigInput = string | MeshSnapshot | object;

export type LoadResult =
  | { readonly ok: true; readonly snapshot: MeshSnapshot; readonly source: string }
  | { readonly ok: false; readonly errors: readonly FieldError[]; readonly source: string };

export function isMeshSnapshot(value: unknown): value is MeshSnapshot {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.version === 'string' && isRecord(v.listeners) && isRecord(v.routeConfigs) && isRecord(v.clusters) && Array.isArray(v.ignored);
}

export async function loadConfig(input: MeshConfigInput): Promise<LoadResult> {
  if (typeof input === 'string') return loadFile(input);
  if (isMeshSnapshot(input)) return { ok: true, snapshot: input, source: '(snapshot)' };
  const built = buildSnapshot(input);
  return built.ok ? { ok: true, snapshot: built.snapshot, source: '(object)' } : { ok: false, errors: built.errors, source: '(object)' };
}

async function loadFile(path: string): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return { ok: false, errors: [{ path, message: `cannot read: ${(error as Error).message}` }], source: path };
  }
  const parsed = parseConfigText(text, path);
  if (!parsed.ok) return { ok: false, errors: parsed.errors, source: path };
  const built = buildSnapshot(parsed.value);
  if (!built.ok) return { ok: false, errors: withLines(built.errors, parsed.locate), source: path };
  return { ok: true, snapshot: built.snapshot, source: path };
}

function isRecord(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
