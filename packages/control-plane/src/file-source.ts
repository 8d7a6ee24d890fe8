/**
 * Serves a YAML/JSON resource file through a ControlPlane and watches it: each edit that parses,
 * encodes and (by default) validates as a whole snapshot becomes a new version for every connected
 * client; a bad edit — unreadable, over the size limit, an alias bomb, anything — is logged with every
 * error and its line, and the previous version keeps being served. Nothing a file holds can make a
 * reload throw or stop later reloads.
 */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { MeshError, formatFieldErrors, isMeshError, type FieldError } from '@xmesh/core';
import { buildSnapshotFromText, parseConfigText, readConfigText } from '@xmesh/xds';
import type { ControlPlane } from './control-plane.js';
import { resourceList } from './resources.js';

export interface FileSourceOptions {
  /** Serve to this node id only (default: the default snapshot). */
  readonly nodeId?: string;
  /** Check the resources form a complete, valid MeshSnapshot before serving (default true). */
  readonly validate?: boolean;
  /** Watch the file for edits (default true). */
  readonly watch?: boolean;
  /** Quiet period after a change event before reading, ms (default 50): editors write in bursts. */
  readonly debounceMs?: number;
}

export interface FileSource {
  /** The version currently served from this file (a hash of its content), or undefined before a good load. */
  readonly version: string | undefined;
  /** Reads the file now; resolves to the errors (empty when served or unchanged). */
  reload(): Promise<readonly FieldError[]>;
  close(): void;
}

/**
 * Loads `file` and serves it. Resolves after the first load; rejects with MeshError XMESH_CONFIG_INVALID
 * (every error in `errors`) if that load fails.
 */
export async function serveFile(plane: ControlPlane, file: string, options: FileSourceOptions = {}): Promise<FileSource> {
  const source = new WatchedFile(plane, path.resolve(file), options);
  const errors = await source.reload();
  if (errors.length > 0) throw new MeshError('XMESH_CONFIG_INVALID', `${file}: cannot serve:\n${formatFieldErrors(errors)}`, { errors });
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

  /** Never rejects: a load that fails for any reason resolves to its errors, and the next reload runs. */
  reload(): Promise<readonly FieldError[]> {
    this.loading = this.loading.then(() => this.load()).catch((error: unknown) => this.reject([{ path: this.file, message: `cannot be served: ${String(error)}` }]));
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
    // The directory went away or cannot be watched any more: keep serving what was loaded, and say so.
    this.watcher.on('error', (error: Error) => this.plane.logger.error(`${this.file}: no longer watched (${error.message}); still serving version "${this.version ?? ''}"`));
  }

  close(): void {
    this.watcher?.close();
    if (this.timer) clearTimeout(this.timer);
  }

  private async load(): Promise<readonly FieldError[]> {
    let text: string;
    try {
      text = await readConfigText(this.file);
    } catch (err) {
      return this.reject([{ path: this.file, message: `cannot read: ${(err as Error).message}` }]);
    }
    const version = createHash('sha256').update(text).digest('hex').slice(0, 12);
    if (version === this.version) return [];
    // Validated as `xmesh validate` does (every error with its line), then served as a resource list.
    const parsed = (this.options.validate ?? true) ? buildSnapshotFromText(text, this.file, { version }) : parseConfigText(text, this.file);
    if (!parsed.ok) return this.reject(parsed.errors);
    try {
      const resources = resourceList(parsed.value);
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
