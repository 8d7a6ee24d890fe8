/**
 * On-disk cache of the last good xDS resources, so a process restarted while the control plane is
 * down starts on the config it last ran. Written atomically (temp file + rename) after each applied
 * snapshot; read once at start.
 */
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';

export interface CachedResources {
  readonly version: string;
  /** Wall-clock ms when written. */
  readonly savedAt: number;
  readonly resources: readonly unknown[];
}

export function readCache(path: string): CachedResources | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const parsed = JSON.parse(text) as Partial<CachedResources>;
  if (typeof parsed.version !== 'string' || typeof parsed.savedAt !== 'number' || !Array.isArray(parsed.resources)) {
    throw new Error(`${path}: not an xmesh xDS cache file`);
  }
  return parsed as CachedResources;
}

export async function writeCache(path: string, entry: CachedResources): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(entry));
  await rename(tmp, path);
}
