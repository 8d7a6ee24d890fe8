/**
 * Serves a YAML/JSON resource file through a ControlPlane and watches it: each edit that parses,
 * encodes and (by default) validates as a whole snapshot becomes a new version for every connected
 * client; a bad edit — unreadable, over the size limit, an alias bomb, anything — is logged with every
 * error and its line, and the previous version keeps being served. Nothing a file holds can make a
 * reload throw or stop later reloads. Certificate files that `Secret` resources name are read, served
 * inline and watched too: rewriting one (a rotation) pushes a new version.
 */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { MeshError, formatFieldErrors, isMeshError, type FieldError } from '@xmesh/core';
import { buildSnapshot, parseConfigText, readConfigText, withLines } from '@xmesh/xds';
import type { ControlPlane } from './control-plane.js';
import { resourceList } from './resources.js';
import { inlineSecretFiles } from './secret-files.js';
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
  /** Directories of the certificate files Secrets name, with the file names watched in each. */
  private readonly secretWatchers = new Map<string, { watcher: FSWatcher; names: Set<string> }>();
  private debounceMs: number | undefined;
  /** The certificate files the last load read. */
  private secretFiles: readonly string[] = [];
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
    this.debounceMs = debounceMs;
    const base = path.basename(this.file);
    // The directory is watched, not the file: editors that replace the file would end a file watch.
    this.watcher = watch(path.dirname(this.file), (_event, name) => {
      if (name !== null && name !== base) return;
      this.scheduleReload();
    });
    // The directory went away or cannot be watched any more: keep serving what was loaded, and say so.
    this.watcher.on('error', (error: Error) => this.plane.logger.error(`${this.file}: no longer watched (${error.message}); still serving version "${this.version ?? ''}"`));
    this.watchSecretFiles(this.secretFiles);
  }

  private scheduleReload(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload(), this.debounceMs ?? 50);
  }

  /** Watches the directories of the certificate files served (once watching started). */
  private watchSecretFiles(files: readonly string[]): void {
    this.secretFiles = files;
    if (this.debounceMs === undefined) return;
    for (const file of files) {
      const dir = path.dirname(path.resolve(file));
      let entry = this.secretWatchers.get(dir);
      if (!entry) {
        const names = new Set<string>();
        // Kubernetes secret mounts swap a `..data` symlink: any dot-entry change may be ours too.
        const watcher = watch(dir, (_event, name) => {
          if (name === null || names.has(name) || name.startsWith('..')) this.scheduleReload();
        });
        watcher.on('error', () => undefined);
        this.secretWatchers.set(dir, (entry = { watcher, names }));
      }
      entry.names.add(path.basename(file));
    }
  }

  close(): void {
    this.watcher?.close();
    for (const { watcher } of this.secretWatchers.values()) watcher.close();
    this.secretWatchers.clear();
    if (this.timer) clearTimeout(this.timer);
  }

  private async load(): Promise<readonly FieldError[]> {
    let text: string;
    try {
      text = await readConfigText(this.file);
    } catch (err) {
      return this.reject([{ path: this.file, message: `cannot read: ${(err as Error).message}` }]);
    }
    const parsed = parseConfigText(text, this.file);
    if (!parsed.ok) return this.reject(parsed.errors);
    try {
      const secrets = inlineSecretFiles(resourceList(parsed.value));
      this.watchSecretFiles(secrets.files);
      if (secrets.errors.length > 0) return this.reject(withLines(secrets.errors, parsed.locate));
      let resources = secrets.resources;
      // The version covers the certificate files too: a rotated certificate is a new version.
      const version = createHash('sha256').update(text).update(JSON.stringify(resources)).digest('hex').slice(0, 12);
      if (version === this.version) return [];
      const built = buildSnapshot(resources, { version });
      if (!built.ok && (this.options.validate ?? true)) return this.reject(withLines(built.errors, parsed.locate));
      if (built.ok) {
        const registryBacked = Object.values(built.snapshot.clusters).filter((c) => c.registry !== undefined).map((c) => c.name);
        if (registryBacked.length > 0 && !this.options.registry) {
          return this.reject([{ path: this.file, message: `clusters ${registryBacked.map((n) => `"${n}"`).join(', ')} take their endpoints from a registry: serve this file with a registry (xmesh control-plane --registry etcd://... or zookeeper://...)` }]);
        }
        resources = registryClustersAsEds(resources, built.snapshot);
      }
      this.plane.setSnapshot(version, resources, this.options.nodeId === undefined ? {} : { nodeId: this.options.nodeId });
      this.version = version;
      this.plane.logger.info(`serving ${this.file} as version "${version}"`);
      return [];
    } catch (err) {
      return this.reject(isMeshError(err) && err.errors.length > 0 ? err.errors : [{ path: this.file, message: (err as Error).message }]);
    }
  }

  private reject(errors: readonly FieldError[]): readonly FieldError[] {
    const still = this.version === undefined ? 'nothing served yet' : `still serving version "${this.version}"`;
    this.plane.logger.error(`${this.file} not served (${still}):\n${formatFieldErrors(errors)}`);
    return errors;
  }
}
