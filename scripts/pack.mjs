// Packs every public package (packages/*) into npm tarballs that install with plain `npm install`:
// `pnpm pack` writes each `workspace:*` range as the exact version and applies `publishConfig`
// (the published `exports` carry no `xmesh-source` condition). Builds first unless `--no-build`.
//   node scripts/pack.mjs [--no-build] [--out DIR]     (default DIR: packed/)
// Then, in any project: npm install DIR/*.tgz   (or only xmesh-*.tgz plus what it depends on)
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reexecOnSupportedNode } from './node-runtime.mjs';
import { build, pnpmSpec, root, run } from './setup.mjs';

/** Packs every package under packages/ into `outDir` (emptied first); returns the tarballs' paths. */
export function packPackages(outDir) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  run('npx', ['-y', pnpmSpec(), '--recursive', '--filter', './packages/**', 'pack', '--pack-destination', outDir], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, npm_config_yes: 'true' },
  });
  return readdirSync(outDir).filter((f) => f.endsWith('.tgz')).map((f) => join(outDir, f)).sort();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  reexecOnSupportedNode(fileURLToPath(import.meta.url));
  const args = process.argv.slice(2);
  const out = args.includes('--out') ? args[args.indexOf('--out') + 1] : 'packed';
  const outDir = isAbsolute(out) ? out : resolve(root, out);
  if (!args.includes('--no-build')) build();
  const tarballs = packPackages(outDir);
  for (const t of tarballs) console.log(t);
  console.log(`${tarballs.length} packages in ${outDir}`);
}
