/**
 * Reading a config file within the limits, for every reader of config files (`xmesh validate`, the
 * mesh and its watcher, the sidecar, the control plane's file source): a file over `maxBytes` is refused
 * from its size before it is read, a device or FIFO is never opened blocking nor read to its end, and
 * bytes that are not UTF-8 are refused before parsing. Shaped as a plain text reader, so it serves
 * wherever `fs.readFile(path, 'utf8')` did.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { DEFAULT_CONFIG_LIMITS } from './input-guard.js';

/**
 * The file's text. Rejects with an Error saying why it cannot be used, worded to follow "cannot read: "
 * (`not a regular file`, `20000000 bytes is over the limit of 16777216 bytes (limit maxBytes)`,
 * `not UTF-8 text`, or the file system's own message).
 */
export async function readConfigText(path: string, maxBytes = DEFAULT_CONFIG_LIMITS.maxBytes): Promise<string> {
  const overLimit = (size: number | string) => new Error(`${size} bytes is over the limit of ${maxBytes} bytes (limit maxBytes)`);
  // Non-blocking: opening a FIFO for reading would otherwise wait for a writer.
  const file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  let bytes: Buffer;
  try {
    const stat = await file.stat();
    if (!stat.isFile()) throw new Error('not a regular file');
    if (stat.size > maxBytes) throw overLimit(stat.size);
    // The size is a hint (the file may change while it is read, /proc files say 0): the buffer grows
    // as needed, up to one byte past the limit.
    let buffer = Buffer.allocUnsafe(Math.min(stat.size, maxBytes) + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > maxBytes) throw overLimit(`more than ${maxBytes}`);
        const bigger = Buffer.allocUnsafe(Math.min(buffer.length * 2, maxBytes + 1));
        buffer.copy(bigger, 0, 0, length);
        buffer = bigger;
      }
      const { bytesRead } = await file.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) throw overLimit(`more than ${maxBytes}`);
    bytes = buffer.subarray(0, length);
  } finally {
    await file.close();
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error('not UTF-8 text');
  }
}
