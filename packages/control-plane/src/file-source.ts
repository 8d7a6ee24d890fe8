/**
 * Serves a YAML/JSON resource file through a ControlPlane and watches it: each edit that parses,
 * encodes and (by default) validates as a whole snapshot becomes a new version for every connected
 * client; a bad edit is logged with every error and the previous version keeps being served.
 */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { formatFieldErrors, isMeshError, type FieldError } from '@xmesh/core';
import { buildSnapshot, parseConfigText, withLines } from '@xmesh/xds';
import type { ControlPlane } from './control-plane.js';
import { resourceList } from './resources.js';
import { registryClustersAsEds } from './registry-feed.js';

export interface FileSourceOptions {
  /** Serve to this node id only (default: the default snapshot). */
  readonly nodeId?: string;
  /** Check the resources form a complete, valid MeshSnapshot before serving (default true). */
  readonly validate?: boolean;
  /** Watch the file for edits (default true). */
  readonly watch?: boolean;
  /** Quiet period after a change event before reading, ms (default 50): editors write in bursts. */
  readonly debounceMs?: number;
  /**
   * A registry feeds this control plane (`serveRegistry`): registry-backed clusters are served as plain
   * EDS clusters whose endpoints it provides. Without it such clusters are refused.
   */
  readonly registry?: boolean;
}

export interface FileSource {
  /** The version currently served from this file (a hash of its content), or undefined before a good load. */
  readonly version: string | undefined;
  /** Reads the file now; resolves to the errors (empty when served or unchanged). */
  reload(): Promise<readonly FieldError[]>;
  close(): void;
}

/** Loads `file` and serves it. Resolves after the first load; rejects if that load fails. */
export async function serveFile(plane: ControlPlane, file: string, options: FileSourceOptions = {}): Promise<FileSource> {
  const source = new WatchedFile(plane, path.resolve(file), options);
  const errors = await source.reload();
  if (errors.length > 0) throw new Error(`${file}: cannot serve:\n${formatFieldErrors(errors)}`);
  if (options.watch ?? true) source.startWatching(options.debounceMs ?? 50);
  return source;
}

class WatchedFile implements FileSource {
  version: string | undefined;
  private watcher: FSWatcher | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private loading: Promise<readonly FieldError[]> = Promise.resolve([]);

  constructor(
    private readonly plane: ControlPlane,
    private readonly file: string,
    private readonly options: FileSourceOptions,
  ) {}

  reload(): Promise<readonly FieldError[]> {
    this.loading = this.loading.then(() => this.load());
    return this.loading;
  }

  startWatching(debounceMs: number): void {
    const base = path.basename(this.file);
    // The directory is watched, not the file: editors that replace the file would end a file watch.
    this.watcher = watch(path.dirname(this.file), (_event, name) => {
      if (name !== null && name !== base) return;
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.reload(), debounceMs);
    });
  }

  close(): void {
    this.watcher?.close();
    if (this.timer) clearTimeout(this.timer);
  }

  private async load(): Promise<readonly FieldError[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      return this.reject([{ path: this.file, message: `cannot read: ${(err as Error).message}` }]);
    }
    const version = createHash('sha256').update(text).digest('hex').slice(0, 12);
    if (version === this.version) return [];
    const parsed = parseConfigText(text, this.file);
    if (!parsed.ok) return this.reject(parsed.errors);
    try {
      let resources = resourceList(parsed.value);
      const built = buildSnapshot(resources, { version });
      if (!built.ok && (this.options.validate ?? true)) return this.reject(withLines(built.errors, parsed.locate));
      if (built.ok) {
        const registryBacked = Object.values(built.snapshot.clusters).filter((c) => c.registry !== undefined).map((c) => c.name);
        if (registryBacked.length > 0 && !this.options.registry) {
          return this.reject([{ path: this.file, message: `clusters ${registryBacked.map((n) => `"${n}"`).join(', ')} take their endpoints from a registry: serve this file with a registry (xmesh control-plane --registry etcd://...)` }]);
        }
        resources = registryClustersAsEds(resources, built.snapshot);
      }
      this.plane.setSnapshot(version, resources, this.options.nodeId === undefined ? {} : { nodeId: this.options.nodeId });
    } catch (err) {
      return this.reject(isMeshError(err) && err.errors.length > 0 ? err.errors : [{ path: this.file, message: (err as Error).message }]);
    }
    this.version = version;
    this.plane.logger.info(`serving ${this.file} as version "${version}"`);
    return [];
  }

  private reject(errors: readonly FieldError[]): readonly FieldError[] {
    const still = this.version === undefined ? 'nothing served yet' : `still serving version "${this.version}"`;
    this.plane.logger.error(`${this.file} not served (${still}):\n${formatFieldErrors(errors)}`);
    return errors;
  }
}
