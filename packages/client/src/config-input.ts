/**
 * Turns what a user passes as config — a file path (YAML/JSON), a parsed object, or a MeshSnapshot —
 * into a validated snapshot or the full list of errors.
 */
import type { FieldError } from '@xmesh/core';
import { buildSnapshot, buildSnapshotFromText, readConfigText, type MeshSnapshot } from '@xmesh/xds';

/** A file path, an already parsed Envoy bootstrap / resource list, or a built snapshot. */
export type MeshConfigInput = string | MeshSnapshot | object;

export type LoadResult =
  | { readonly ok: true; readonly snapshot: MeshSnapshot; readonly source: string }
  | { readonly ok: false; readonly errors: readonly FieldError[]; readonly source: string };

/** A snapshot `buildSnapshot` made: deep-frozen, with the shape of MeshSnapshot. */
export function isMeshSnapshot(value: unknown): value is MeshSnapshot {
  if (typeof value !== 'object' || value === null || !Object.isFrozen(value)) return false;
  const v = value as Record<string, unknown>;
  return typeof v.version === 'string' && isRecord(v.listeners) && isRecord(v.routeConfigs) && isRecord(v.clusters) && Array.isArray(v.ignored);
}

/** Never throws: whatever `input` is (a hostile object included), the result is a snapshot or a list of errors. */
export async function loadConfig(input: MeshConfigInput): Promise<LoadResult> {
  if (typeof input === 'string') return loadFile(input);
  let snapshot = false;
  try {
    snapshot = isMeshSnapshot(input);
  } catch {
    // a getter or proxy trap threw: not a snapshot; buildSnapshot reports it with its path
  }
  if (snapshot) return { ok: true, snapshot: input as MeshSnapshot, source: '(snapshot)' };
  const built = buildSnapshot(input);
  return built.ok ? { ok: true, snapshot: built.snapshot, source: '(object)' } : { ok: false, errors: built.errors, source: '(object)' };
}

async function loadFile(path: string): Promise<LoadResult> {
  let text: string;
  try {
    text = await readConfigText(path);
  } catch (error) {
    return { ok: false, errors: [{ path, message: `cannot read: ${(error as Error).message}` }], source: path };
  }
  const built = buildSnapshotFromText(text, path);
  return built.ok ? { ok: true, snapshot: built.snapshot, source: path } : { ok: false, errors: built.errors, source: path };
}

function isRecord(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
