/**
 * A config file and the files it names, as Envoy loads a bootstrap: the bootstrap (or a resource
 * file), then the files its `dynamic_resources` point at (`lds_config` / `cds_config` with
 * `path_config_source` or `path`), whose resources are read with the type known from where they are
 * named. One result for all of them; errors in a named file carry its path as `(<file>)` and their
 * line in that file. I/O is the caller's: it passes `read`.
 */
import type { FieldError } from '@xmesh/core';
import { buildSnapshot, type BuildOptions, type BuildResult } from './snapshot.js';
import { guardConfigValue } from './input-guard.js';
import { parseConfigText, withLines } from './text.js';
import type { ResourceTypeUrl } from './type-urls.js';

/** Reads a file as UTF-8 text (`fs.promises.readFile(path, 'utf8')`). */
export type ReadText = (path: string) => Promise<string>;

export interface LoadedConfig {
  readonly result: BuildResult;
  /** Every file the config consists of: the one given, then the files its dynamic_resources name. */
  readonly files: readonly string[];
}

export interface LoadOptions extends Pick<BuildOptions, 'version' | 'allowAds'> {
  /** The type of resources given without `@type` in the file itself (`xmesh validate --type`). */
  readonly resourceType?: ResourceTypeUrl;
}

/** Reads `path` and the files it names and builds one snapshot from them. */
export async function loadConfigFile(path: string, read: ReadText, options: LoadOptions = {}): Promise<LoadedConfig> {
  const main = await readParsed(path, read);
  if (!main.ok) return { result: { ok: false, errors: main.errors }, files: [path] };
  return loadConfigValue(main.value, read, { ...options, source: path, locate: main.locate });
}

/**
 * As loadConfigFile, for a config already parsed (an object given to createMesh): the files its
 * dynamic_resources name are read with `read`. `source`/`locate` place errors of the value itself.
 */
export async function loadConfigValue(
  value: unknown,
  read: ReadText,
  options: LoadOptions & { readonly source?: string; readonly locate?: (path: string) => number | undefined } = {},
): Promise<LoadedConfig> {
  const mainFiles = options.source === undefined ? [] : [options.source];
  // Objects from code may be hostile (getters that throw, cycles): read only their plain-data copy.
  const guarded = guardConfigValue(value);
  if (!guarded.ok) return { result: guarded, files: mainFiles };
  value = guarded.value;
  const named = namedFiles(value);
  const files: Record<string, unknown> = Object.create(null);
  const locators = new Map<string, (path: string) => number | undefined>();
  const readErrors: FieldError[] = [];
  for (const file of named) {
    const parsed = await readParsed(file, read);
    if (!parsed.ok) {
      readErrors.push(...parsed.errors);
      continue;
    }
    files[file] = parsed.value;
    locators.set(file, parsed.locate);
  }
  const allFiles = [...mainFiles, ...named];
  if (readErrors.length > 0) return { result: { ok: false, errors: readErrors }, files: allFiles };
  const result = buildSnapshot(value, {
    ...(options.version === undefined ? {} : { version: options.version }),
    ...(options.resourceType === undefined ? {} : { resourceType: options.resourceType }),
    ...(options.allowAds === undefined ? {} : { allowAds: options.allowAds }),
    files,
  });
  if (result.ok) return { result, files: allFiles };
  const errors = result.errors.map((e) => {
    const file = fileOf(e.path, locators);
    if (file !== undefined) return withLines([e], (p) => locators.get(file)!(p.slice(file.length + 2)))[0]!;
    return options.locate === undefined ? e : withLines([e], options.locate)[0]!;
  });
  return { result: { ok: false, errors }, files: allFiles };
}

async function readParsed(path: string, read: ReadText): Promise<
  | { ok: true; value: unknown; locate: (path: string) => number | undefined }
  | { ok: false; errors: readonly FieldError[] }
> {
  let text: string;
  try {
    text = await read(path);
  } catch (error) {
    return { ok: false, errors: [{ path, message: `cannot read: ${(error as Error).message}` }] };
  }
  const parsed = parseConfigText(text, path);
  return parsed.ok ? { ok: true, value: parsed.value, locate: parsed.locate } : parsed;
}

/** The file an error path `(<file>)...` belongs to. */
function fileOf(path: string, locators: ReadonlyMap<string, unknown>): string | undefined {
  if (!path.startsWith('(')) return undefined;
  for (const file of locators.keys()) if (path.startsWith(`(${file})`)) return file;
  return undefined;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const field = (o: Json, snake: string): unknown => o[snake] ?? o[snake.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())];

/** The files `lds_config` / `cds_config` name, read leniently (the decoder reports what is malformed). */
function namedFiles(value: unknown): string[] {
  if (!isObj(value)) return [];
  const dynamic = field(value, 'dynamic_resources');
  if (!isObj(dynamic)) return [];
  const out: string[] = [];
  for (const key of ['lds_config', 'cds_config']) {
    const source = field(dynamic, key);
    if (!isObj(source)) continue;
    const pathSource = field(source, 'path_config_source');
    const path = isObj(pathSource) ? field(pathSource, 'path') : field(source, 'path');
    if (typeof path === 'string' && path !== '' && !out.includes(path)) out.push(path);
  }
  return out;
}
