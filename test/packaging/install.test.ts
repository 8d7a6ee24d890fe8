// Installs xmesh as a user does: packs every package (scripts/pack.mjs), installs the tarballs into a
// fresh project outside the workspace with plain npm (third-party dependencies come from the
// registry), then runs a small app there as an ES module, as CommonJS (`require`), type-checks
// README's "Using it" snippet and a CommonJS TypeScript file with strict `tsc`, and runs the
// `xmesh` command the package installs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { bootstrap } from '../support/mesh-config.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** npm and node as a user's shell has them: this test's node first on PATH, no npm_* from an enclosing `npm test`. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key) && key !== 'NODE_OPTIONS') env[key] = value;
  env.PATH = [dirname(process.execPath), process.env.PATH].filter(Boolean).join(delimiter);
  return env;
}

interface Ran {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command without blocking this process (the upstream the app calls lives here); killed after `timeoutMs`. */
async function sh(command: string, args: readonly string[], cwd: string, timeoutMs = 300_000): Promise<Ran> {
  const child = spawn(command, args, { cwd, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [status, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { status, signal, stdout, stderr };
}

async function ok(running: Promise<Ran>, what: string): Promise<string> {
  const result = await running;
  assert.equal(result.status, 0, `${what} failed (${result.signal ?? `exit ${result.status}`})\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** The first ```ts block after README's "## Using it" heading. */
async function readmeSnippet(): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Using it'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(match, 'README has a ```ts block under "## Using it"');
  return match[1]!;
}

// The app, once as ESM and once as CommonJS: routes an HTTP call through the mesh to the upstream
// named in mesh.json, and a call to an unknown service, which must fail with a MeshError.
const APP_BODY = `
  const mesh = await createMesh({ config: 'mesh.json' });
  const response = await mesh.fetch('http://web.local/hello');
  const body = await response.text();
  let code = 'none';
  try {
    await mesh.unary('nowhere.local:50051', '/pkg.Service/Method', new Uint8Array(0), { timeoutMs: 5000 });
  } catch (error) {
    code = isMeshError(error) ? error.code : 'not a MeshError: ' + String(error);
  }
  await mesh.close();
  console.log(JSON.stringify({ status: response.status, body, code, errorCodes: Object.keys(ErrorCode).length }));
`;
const ESM_APP = `import { createMesh, isMeshError, ErrorCode } from 'xmesh';\n${APP_BODY}`;
const CJS_APP = `'use strict';\nconst { createMesh, isMeshError, ErrorCode } = require('xmesh');\n(async () => {${APP_BODY}})().catch((error) => { console.error(error); process.exitCode = 1; });\n`;

// The README snippet names a generated client and request bytes; declared here as an app has them.
const README_PRELUDE = `import type * as grpc from '@grpc/grpc-js';
declare class EchoClient extends (await import('@grpc/grpc-js')).Client {
  echo(request: object, callback: (error: grpc.ServiceError | null, reply?: object) => void): grpc.ClientUnaryCall;
}
declare const requestBytes: Uint8Array;
`;

// A CommonJS TypeScript module (`.cts`, compiled to require()) using the typed API.
const CJS_TS = `import { createMesh, isMeshError, type Mesh, type MeshEvents } from 'xmesh';
export async function start(): Promise<Mesh> {
  const mesh = await createMesh({ config: 'mesh.json' });
  const onApplied: MeshEvents['config.applied'] = (event) => console.log(event.version);
  mesh.on('config.applied', onApplied);
  return mesh;
}
export function codeOf(error: unknown): string | undefined {
  return isMeshError(error) ? error.code : undefined;
}
`;

test('the packed packages install with plain npm and run as ESM, as CommonJS and under strict TypeScript', { timeout: 600_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'xmesh-install-'));
  let upstream: Server | undefined;
  try {
    const tarballDir = join(dir, 'tarballs');
    await ok(sh(process.execPath, [join(ROOT, 'scripts', 'pack.mjs'), '--no-build', '--out', tarballDir], ROOT), 'scripts/pack.mjs');
    const tarballs = (await readdir(tarballDir)).filter((f) => f.endsWith('.tgz'));
    assert.ok(tarballs.includes('xmesh-0.1.0.tgz'), `xmesh tarball among ${tarballs.join(', ')}`);
    assert.ok(tarballs.length >= 16, tarballs.join(', '));

    // No tarball carries a workspace range or the source-only export condition.
    for (const tarball of tarballs) {
      const manifest = await ok(sh('tar', ['-xzOf', join(tarballDir, tarball), 'package/package.json'], dir), `tar ${tarball}`);
      assert.doesNotMatch(manifest, /workspace:/, tarball);
      assert.doesNotMatch(manifest, /xmesh-source/, tarball);
      assert.match(manifest, /"node": ">=22\.12\.0"/, `${tarball} engines`);
    }

    const app = join(dir, 'app');
    await mkdir(app);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'xmesh-user-app', version: '1.0.0', private: true, type: 'module' }, null, 2));
    await ok(
      sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs.map((t) => join(tarballDir, t)), 'typescript@~5.9.3', '@types/node@^22.20.7', '@grpc/grpc-js@~1.14.7', 'prom-client@^15.1.3'], app),
      'npm install',
    );

    upstream = createServer((request, response) => response.end(`hello from ${request.url}`));
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const port = (upstream.address() as AddressInfo).port;
    await writeFile(join(app, 'mesh.json'), JSON.stringify(bootstrap({ domains: ['web.local'], routes: [{ cluster: 'web' }], clusters: { web: [`127.0.0.1:${port}`] } })));

    await writeFile(join(app, 'app.mjs'), ESM_APP);
    await writeFile(join(app, 'app.cjs'), CJS_APP);
    for (const file of ['app.mjs', 'app.cjs']) {
      const out = await ok(sh(process.execPath, [file], app, 60_000), `node ${file}`);
      const result = JSON.parse(out.trim().split('\n').pop()!) as { status: number; body: string; code: string; errorCodes: number };
      assert.equal(result.status, 200, file);
      assert.equal(result.body, 'hello from /hello', file);
      assert.equal(result.code, 'XMESH_NO_ROUTE', file);
      assert.ok(result.errorCodes > 10, file);
    }

    await writeFile(join(app, 'readme.ts'), `${README_PRELUDE}\n${await readmeSnippet()}\nexport {};\n`);
    await writeFile(join(app, 'start.cts'), CJS_TS);
    await writeFile(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', noEmit: true, types: ['node'], skipLibCheck: false },
        files: ['readme.ts', 'start.cts'],
      }),
    );
    await ok(sh(process.execPath, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], app), 'tsc (strict) on the README snippet and a CommonJS module');

    const validate = await ok(sh(join(app, 'node_modules', '.bin', 'xmesh'), ['validate', 'mesh.json'], app, 60_000), 'xmesh validate');
    assert.match(validate, /mesh\.json: OK/);
  } finally {
    upstream?.close();
    await rm(dir, { recursive: true, force: true });
  }
});
