// Reading a config file: never more than the size limit, never blocked on something that is not a file,
// never text that is not UTF-8.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConfigText } from './index.js';
import { garbageBytes } from '../../../test/support/hostile-config.js';

const dir = mkdtempSync(join(tmpdir(), 'xmesh-read-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a file over maxBytes is refused from its size, before it is read', { timeout: 20_000 }, async () => {
  const file = join(dir, 'huge.yaml');
  writeFileSync(file, '');
  truncateSync(file, 4 * 1024 * 1024 * 1024); // sparse: 4 GiB that reading would have to allocate
  await assert.rejects(readConfigText(file), { message: '4294967296 bytes is over the limit of 16777216 bytes (limit maxBytes)' });
  const small = join(dir, 'small.yaml');
  writeFileSync(small, 'a: 1\n'.repeat(100));
  await assert.rejects(readConfigText(small, 100), /500 bytes is over the limit of 100 bytes/);
  assert.equal(await readConfigText(small, 500), 'a: 1\n'.repeat(100));
});

test('a FIFO or a directory is refused without waiting for a writer', { timeout: 20_000 }, async () => {
  const fifo = join(dir, 'fifo.yaml');
  if (spawnSync('mkfifo', [fifo]).status === 0) await assert.rejects(readConfigText(fifo), { message: 'not a regular file' });
  const sub = join(dir, 'sub.yaml');
  mkdirSync(sub);
  await assert.rejects(readConfigText(sub), { message: 'not a regular file' });
});

test('bytes that are not UTF-8 are refused; a missing file rejects with the file system error', async () => {
  const file = join(dir, 'garbage.yaml');
  writeFileSync(file, garbageBytes(4096, 7));
  await assert.rejects(readConfigText(file), { message: 'not UTF-8 text' });
  await assert.rejects(readConfigText(join(dir, 'missing.yaml')), { code: 'ENOENT' });
  const bom = join(dir, 'bom.yaml');
  writeFileSync(bom, '\uFEFFa: 1\n');
  assert.equal(await readConfigText(bom), 'a: 1\n');
});
