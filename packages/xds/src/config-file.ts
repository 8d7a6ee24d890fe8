/**
 * Reading a config file within the limits: the one place that touches the file system for config text,
 * shared by `xmesh validate`, the mesh (`createMesh({config: path})`, its watcher, the sidecar) and the
 * control plane's file source. A file over `maxBytes` is refused from its size, before it is read; a
 * device or FIFO is never read to its end; bytes that are not UTF-8 are refused before parsing.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FieldError } from '@xmesh/core';
import { messageOf, resolveLimits } from './input-guard.js';
import { buildSnapshotFromText, type TextBuildResult } from './text.js';
import type { BuildOptions } from './snapshot.js';

export type ConfigFileText = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly errors: readonly FieldError[] };

export type ConfigFileResult = TextBuildResult;

/** The file's text, or why it cannot be used (`path: cannot read: ...`, over the size limit, not UTF-8). Never throws. */
export async function readConfigFile(path: string, maxBytes = resolveLimits(undefined).maxBytes): Promise<ConfigFileText> {
  const refuse = (message: string): ConfigFileText => ({ ok: false, errors: [{ path, message }] });
  let bytes: Buffer;
  try {
    // Non-blocking: opening a FIFO for reading would otherwise wait for a writer.
    const file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const stat = await file.stat();
      if (!stat.isFile()) return refuse('cannot read: not a regular file');
      if (stat.size > maxBytes) return refuse(`is ${stat.size} bytes, over the limit of ${maxBytes} bytes (limit maxBytes)`);
      // The size is a hint (the file may change while it is read, /proc files say 0): the buffer grows
      // as needed, up to one byte past the limit.
      let buffer = Buffer.allocUnsafe(Math.min(stat.size, maxBytes) + 1);
      let length = 0;
      for (;;) {
        if (length === buffer.length) {
          if (length > maxBytes) return refuse(`is over the limit of ${maxBytes} bytes (limit maxBytes)`);
          const bigger = Buffer.allocUnsafe(Math.min(buffer.length * 2, maxBytes + 1));
          buffer.copy(bigger, 0, 0, length);
          buffer = bigger;
        }
        const { bytesRead } = await file.read(buffer, length, buffer.length - length, length);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
      if (length > maxBytes) return refuse(`is over the limit of ${maxBytes} bytes (limit maxBytes)`);
      bytes = buffer.subarray(0, length);
    } finally {
      await file.close();
    }
  } catch (error) {
    return refuse(`cannot read: ${messageOf(error)}`);
  }
  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return refuse('is not UTF-8 text');
  }
}

/** Reads, parses and builds `path`; errors carry the file's lines. Never throws. */
export async function loadConfigFile(path: string, options: BuildOptions = {}): Promise<ConfigFileResult> {
  const read = await readConfigFile(path, resolveLimits(options.limits).maxBytes);
  if (!read.ok) return read;
  return buildSnapshotFromText(read.text, path, options);
}
