/**
 * Where a TLS context's secrets come from, kept current:
 *
 * - the snapshot's secrets (`static_resources.secrets`, `Secret` resources over ADS), replaced at each config apply;
 * - SDS files (`sds_config.path_config_source`): a file of Secret resources (YAML or JSON, as Envoy reads it),
 *   read when first referenced and re-read when anything changes in its directory (atomic renames and Kubernetes
 *   `..data` symlink swaps included);
 * - certificate provider instances of the xDS bootstrap (gRFC A29 `file_watcher`: certificate, key and CA files
 *   polled every `refresh_interval`).
 *
 * Listeners registered with `onChange` hear when a watched source's content changed; the TLS contexts then rebuild
 * their material, and keep the last good one when the new one is incomplete (a key written before its certificate).
 */
import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { FieldError } from '@xmesh/core';
import { buildSnapshot, parseConfigText, type Dict, type SdsRef, type SecretConfig } from '@xmesh/xds';
import { readText } from './data-source.js';

/** gRFC A29 `file_watcher` plugin config, as in a gRPC xDS bootstrap's `certificate_providers`. */
export interface FileWatcherProvider {
  readonly certificateFile: string | undefined;
  readonly privateKeyFile: string | undefined;
  readonly caCertificateFile: string | undefined;
  /** Default 600 s (gRPC's). */
  readonly refreshIntervalMs: number;
}

/** What a certificate provider instance currently holds. */
export interface ProviderMaterial {
  readonly certificate: string | undefined;
  readonly privateKey: string | undefined;
  readonly ca: string | undefined;
}

export const DEFAULT_PROVIDER_REFRESH_MS = 600_000;

export interface TlsSecretsOptions {
  /** Certificate provider instances by name (`certificate_providers` of the xDS bootstrap). */
  readonly providers?: Readonly<Record<string, FileWatcherProvider>>;
  /** A watched source failed to load; the last good content stays in use. */
  readonly onError?: (error: FieldError) => void;
}

export class TlsSecrets {
  private snapshotSecrets: Dict<SecretConfig> = {};
  private providerConfigs: Readonly<Record<string, FileWatcherProvider>>;
  private readonly files = new Map<string, SdsFile>();
  private readonly providers = new Map<string, ProviderInstance>();
  private readonly listeners = new Set<() => void>();
  private closed = false;

  constructor(private readonly options: TlsSecretsOptions = {}) {
    this.providerConfigs = options.providers ?? {};
  }

  /** Adds certificate provider instances (an xDS bootstrap's `certificate_providers`, known once it is read). */
  addProviders(providers: Readonly<Record<string, FileWatcherProvider>>): void {
    this.providerConfigs = { ...this.providerConfigs, ...providers };
  }

  /** The secrets of the snapshot being applied. */
  setSnapshotSecrets(secrets: Dict<SecretConfig> | undefined): void {
    this.snapshotSecrets = secrets ?? {};
  }

  /** Calls `listener` after a watched file or provider changed content. Returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The secret `ref` names, or a FieldError at `path`. */
  secret(ref: SdsRef, path: string): SecretConfig | FieldError {
    if (ref.source.kind !== 'file') {
      const found = this.snapshotSecrets[ref.name];
      return found ?? { path, message: `secret "${ref.name}" is not defined` };
    }
    let file = this.files.get(ref.source.path);
    if (file === undefined) {
      if (this.closed) return { path, message: 'the mesh is closed' };
      file = new SdsFile(ref.source.path, () => this.changed(), this.options.onError);
      this.files.set(ref.source.path, file);
    }
    const loaded = file.current();
    if ('path' in loaded) return { path, message: `${ref.source.path}: ${loaded.message}` };
    return loaded.get(ref.name) ?? { path, message: `${ref.source.path} defines no secret "${ref.name}"` };
  }

  /** The current material of certificate provider `name`, or a FieldError at `path`. */
  provider(name: string, path: string): ProviderMaterial | FieldError {
    let instance = this.providers.get(name);
    if (instance === undefined) {
      const config = Object.hasOwn(this.providerConfigs, name) ? this.providerConfigs[name] : undefined;
      if (config === undefined) return { path, message: `certificate provider instance "${name}" is not defined in the bootstrap's certificate_providers` };
      if (this.closed) return { path, message: 'the mesh is closed' };
      instance = new ProviderInstance(name, config, () => this.changed(), this.options.onError);
      this.providers.set(name, instance);
    }
    return instance.current(path);
  }

  /** Stops every watcher and timer. */
  close(): void {
    this.closed = true;
    for (const file of this.files.values()) file.close();
    for (const provider of this.providers.values()) provider.close();
    this.files.clear();
    this.providers.clear();
    this.listeners.clear();
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

/** One SDS file: its secrets by name, re-read on changes in its directory. */
class SdsFile {
  private text: string | undefined = undefined;
  private secrets: ReadonlyMap<string, SecretConfig> | FieldError = { path: '', message: 'not read' };
  private readonly watcher: FSWatcher | undefined;

  constructor(
    private readonly file: string,
    private readonly onChange: () => void,
    private readonly onError: ((error: FieldError) => void) | undefined,
  ) {
    this.reload();
    this.watcher = watchDirectory(file, () => {
      if (this.reload()) this.onChange();
    });
  }

  current(): ReadonlyMap<string, SecretConfig> | FieldError {
    return this.secrets;
  }

  /** Re-reads the file; true when its secrets changed. A bad read keeps the last good secrets. */
  private reload(): boolean {
    const read = readText(this.file, this.file);
    if (!read.ok) return this.failed(read.error);
    if (read.text === this.text) return false;
    const parsed = parseConfigText(read.text, this.file);
    if (!parsed.ok) return this.failed(parsed.errors[0]!);
    const built = buildSnapshot(parsed.value);
    if (!built.ok) return this.failed(built.errors[0]!);
    this.text = read.text;
    this.secrets = new Map(Object.entries(built.snapshot.secrets ?? {}));
    return true;
  }

  private failed(error: FieldError): boolean {
    if ('path' in this.secrets) {
      this.secrets = { path: this.file, message: `${error.path === this.file ? '' : `${error.path}: `}${error.message}` };
      return false;
    }
    this.onError?.({ path: this.file, message: `kept the last good secrets: ${error.message}` });
    return false;
  }

  close(): void {
    this.watcher?.close();
  }
}

/** A `file_watcher` certificate provider instance: its files polled every refresh interval. */
class ProviderInstance {
  private material: ProviderMaterial | FieldError;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly name: string,
    private readonly config: FileWatcherProvider,
    private readonly onChange: () => void,
    private readonly onError: ((error: FieldError) => void) | undefined,
  ) {
    this.material = this.read();
    this.timer = setInterval(() => this.poll(), Math.max(10, config.refreshIntervalMs));
    this.timer.unref();
  }

  current(path: string): ProviderMaterial | FieldError {
    return 'path' in this.material ? { path, message: this.material.message } : this.material;
  }

  private poll(): void {
    const next = this.read();
    if ('path' in next) {
      if (!('path' in this.material)) this.onError?.({ path: `certificate_providers.${this.name}`, message: `kept the last good certificates: ${next.message}` });
      else this.material = next;
      return;
    }
    const previous = this.material;
    this.material = next;
    if ('path' in previous || previous.certificate !== next.certificate || previous.privateKey !== next.privateKey || previous.ca !== next.ca) this.onChange();
  }

  private read(): ProviderMaterial | FieldError {
    const at = `certificate_providers.${this.name}`;
    const out: { certificate?: string; privateKey?: string; ca?: string } = {};
    for (const [key, file] of [['certificate', this.config.certificateFile], ['privateKey', this.config.privateKeyFile], ['ca', this.config.caCertificateFile]] as const) {
      if (file === undefined) continue;
      const read = readText(file, at);
      if (!read.ok) return read.error;
      out[key] = read.text;
    }
    return { certificate: out.certificate, privateKey: out.privateKey, ca: out.ca };
  }

  close(): void {
    clearInterval(this.timer);
  }
}

/** Changes in a directory arriving within this window are read once. */
const SETTLE_MS = 10;

/**
 * Watches the directory holding `file` (renames, editors' temp files and Kubernetes `..data` symlink swaps replace
 * the file itself, so the file alone cannot be watched); `onEvent` runs once per burst of changes. Undefined when
 * the directory cannot be watched.
 */
function watchDirectory(file: string, onEvent: () => void): FSWatcher | undefined {
  let pending: NodeJS.Timeout | undefined;
  try {
    const watcher = watch(dirname(file), { persistent: false }, () => {
      if (pending !== undefined) return;
      pending = setTimeout(() => {
        pending = undefined;
        onEvent();
      }, SETTLE_MS);
      pending.unref();
    });
    watcher.on('error', () => watcher.close());
    watcher.on('close', () => clearTimeout(pending));
    return watcher;
  } catch {
    return undefined;
  }
}
