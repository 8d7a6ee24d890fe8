// Reading a config file: never more than the size limit, never blocked on something that is not a file,
// never an exception.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, readConfigFile } from './index.js';
import { aliasBomb, garbageBytes } from '../../../test/support/hostile-config.js';

const dir = mkdtempSync(join(tmpdir(), 'xmesh-config-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a file over maxBytes is refused from its size, before it is read', { timeout: 20_000 }, async () => {
  const file = join(dir, 'huge.yaml');
  writeFileSync(file, '');
  truncateSync(file, 4 * 1024 * 1024 * 1024); // sparse: 4 GiB that reading would have to allocate
  const read = await readConfigFile(file);
  assert.deepEqual(read, { ok: false, errors: [{ path: file, message: 'is 4294967296 bytes, over the limit of 16777216 bytes (limit maxBytes)' }] });
  const small = join(dir, 'small.yaml');
  writeFileSync(small, 'a: 1\n'.repeat(100));
  assert.match((await readConfigFile(small, 100)).ok ? '' : 'refused', /refused/);
  assert.ok((await readConfigFile(small, 500)).ok);
});

test('a FIFO or a directory is refused without waiting for a writer', { timeout: 20_000 }, async () => {
  const fifo = join(dir, 'fifo.yaml');
  const made = spawnSync('mkfifo', [fifo]);
  if (made.status === 0) assert.deepEqual(await readConfigFile(fifo), { ok: false, errors: [{ path: fifo, message: 'cannot read: not a regular file' }] });
  const sub = join(dir, 'sub.yaml');
  mkdirSync(sub);
  assert.deepEqual(await readConfigFile(sub), { ok: false, errors: [{ path: sub, message: 'cannot read: not a regular file' }] });
});

test('bytes that are not UTF-8 are refused before parsing; a missing file is an error', async () => {
  const file = join(dir, 'garbage.yaml');
  writeFileSync(file, garbageBytes(4096, 7));
  assert.deepEqual(await readConfigFile(file), { ok: false, errors: [{ path: file, message: 'is not UTF-8 text' }] });
  const missing = join(dir, 'missing.yaml');
  const read = await readConfigFile(missing);
  assert.equal(read.ok, false);
  assert.match(read.ok ? '' : read.errors[0]!.message, /^cannot read: ENOENT/);
});

test('loadConfigFile gives errors with lines for an alias bomb, and a snapshot for a good file', async () => {
  const bomb = join(dir, 'bomb.yaml');
  writeFileSync(bomb, aliasBomb());
  const refused = await loadConfigFile(bomb);
  assert.equal(refused.ok, false);
  assert.ok(!refused.ok && refused.errors.every((e) => typeof e.line === 'number'));
  const good = join(dir, 'good.yaml');
  writeFileSync(good, '\uFEFF[]\n'.replace('[]', JSON.stringify({ static_resources: {} })));
  const loaded = await loadConfigFile(good);
  assert.ok(loaded.ok, JSON.stringify(loaded));
});
