/**
 * Turns what a user passes as config — a file path (YAML/JSON), a parsed object, or a MeshSnapshot —
 * into a validated snapshot or the full list of errors.
 */
import type { FieldError } from '@xmesh/core';
import { loadConfigFile, loadConfigValue, readConfigText, type AdsBootstrap, type LoadedConfig, type MeshSnapshot } from '@xmesh/xds';

/** A file path, an already parsed Envoy bootstrap / resource list, or a built snapshot. */
export type MeshConfigInput = string | MeshSnapshot | object;

export type LoadResult =
  | {
      readonly ok: true;
      readonly snapshot: MeshSnapshot;
      readonly source: string;
      /** Files the bootstrap's dynamic_resources name: watched, as Envoy watches them. */
      readonly dynamicFiles?: readonly string[];
      /** The bootstrap takes its listeners and clusters from this ADS server (`snapshot` is empty then). */
      readonly ads?: AdsBootstrap;
    }
  | { readonly ok: false; readonly errors: readonly FieldError[]; readonly source: string };

/** A snapshot `buildSnapshot` made: deep-frozen, with the shape of MeshSnapshot. */
export function isMeshSnapshot(value: unknown): value is MeshSnapshot {
  if (typeof value !== 'object' || value === null || !Object.isFrozen(value)) return false;
  const v = value as Record<string, unknown>;
  return typeof v.version === 'string' && isRecord(v.listeners) && isRecord(v.routeConfigs) && isRecord(v.clusters) && Array.isArray(v.ignored);
}

/** Never throws: whatever `input` is (a hostile object included), the result is a snapshot or a list of errors. */
export async function loadConfig(input: MeshConfigInput): Promise<LoadResult> {
  if (typeof input === 'string') return fromLoaded(await loadConfigFile(input, readText, { allowAds: true }), input);
  let snapshot = false;
  try {
    snapshot = isMeshSnapshot(input);
  } catch {
    // a getter or proxy trap threw: not a snapshot; buildSnapshot reports it with its path
  }
  if (snapshot) return { ok: true, snapshot: input as MeshSnapshot, source: '(snapshot)' };
  return fromLoaded(await loadConfigValue(input, readText, { allowAds: true }), '(object)');
}

/** Bounded, non-blocking, UTF-8-checked reads (see readConfigText). */
function readText(path: string): Promise<string> {
  return readConfigText(path);
}

function fromLoaded(loaded: LoadedConfig, source: string): LoadResult {
  const { result } = loaded;
  if (!result.ok) return { ok: false, errors: result.errors, source };
  const dynamicFiles = source === '(object)' ? loaded.files : loaded.files.slice(1);
  return {
    ok: true,
    snapshot: result.snapshot,
    source,
    ...(dynamicFiles.length > 0 ? { dynamicFiles } : {}),
    ...(result.ads === undefined ? {} : { ads: result.ads }),
  };
}

function isRecord(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
