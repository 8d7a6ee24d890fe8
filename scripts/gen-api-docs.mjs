// Generates the API reference of the `xmesh` package (the @xmesh/client API it re-exports) as
// Markdown into docs/api/ with TypeDoc (+ typedoc-plugin-markdown), from the sources' doc comments.
// Run after changing the public API (the packages must be built: node scripts/setup.mjs):
//   node scripts/gen-api-docs.mjs            writes docs/api/
//   node scripts/gen-api-docs.mjs --check    exits 1 when docs/api/ differs from what it would write
// The output is checked in so the reference reads on any Git host and API changes show in review.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reexecOnSupportedNode } from './node-runtime.mjs';
import { root, run } from './setup.mjs';

reexecOnSupportedNode(fileURLToPath(import.meta.url));

const check = process.argv.includes('--check');
const target = join(root, 'docs', 'api');
const out = check ? mkdtempSync(join(tmpdir(), 'xmesh-api-')) : target;

if (!check) rmSync(target, { recursive: true, force: true });
run(process.execPath, [
  join(root, 'node_modules', 'typedoc', 'bin', 'typedoc'),
  '--plugin', 'typedoc-plugin-markdown',
  '--entryPoints', 'packages/client/src/index.ts',
  '--tsconfig', 'packages/client/tsconfig.json',
  '--name', 'xmesh',
  '--readme', 'none',
  '--out', out,
  '--excludePrivate', '--excludeInternal',
  '--disableSources',
  '--hideGenerator',
  '--logLevel', 'Error',
]);

if (check) {
  const files = (dir) => readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? files(full) : [full];
  });
  const want = new Map(files(out).map((f) => [relative(out, f), readFileSync(f, 'utf8')]));
  const have = new Map(files(target).map((f) => [relative(target, f), readFileSync(f, 'utf8')]));
  const stale = [...new Set([...want.keys(), ...have.keys()])].filter((f) => want.get(f) !== have.get(f));
  rmSync(out, { recursive: true, force: true });
  if (stale.length > 0) {
    console.error(`docs/api is out of date (${stale.length} files differ, e.g. ${stale.slice(0, 5).join(', ')}): run node scripts/gen-api-docs.mjs`);
    process.exit(1);
  }
  console.log(`docs/api is up to date (${want.size} files)`);
} else {
  console.log(`docs/api: ${readdirSync(target, { recursive: true }).length} entries`);
}
