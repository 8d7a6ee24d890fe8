// Config fuzzing (fast-check): structure-aware Envoy configs, mutated real configs, YAML with aliases,
// raw and edited text. Every input ends as a snapshot or as XMESH_CONFIG_INVALID-style errors (a
// non-empty list, each with a path) — never an exception — and a mesh fed bad updates keeps serving
// its last good snapshot. A fixed seed runs the same cases every time; a few random runs explore more
// (fast-check prints the seed and the shrunk case of a failure, to replay it with `seed`/`path`).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { hasCode } from '@xmesh/core';
import { buildSnapshot, buildSnapshotFromText, parseConfigText, type BuildResult, type TextBuildResult } from '@xmesh/xds';
import { createMesh, type Mesh } from '@xmesh/client';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { bootstrap } from '../support/mesh-config.js';
import { unary } from '../support/grpc-call.js';
import { editedText, envoyConfig, garbageText, mutate, mutations, toJson, toYaml } from './config-arbitraries.js';

const SEED = 20_240_611;
const root = join(import.meta.dirname, '..', '..');

/** Real configs to mutate (each names its source). */
const REAL = ['test/fixtures/every-field.yaml', 'examples/front-proxy/envoy.yaml', 'examples/istio-sidecar/resources.yaml'].map((file) => {
  const parsed = parseConfigText(readFileSync(join(root, file), 'utf8'), file);
  assert.ok(parsed.ok, file);
  return parsed.value;
});

/** A result is a frozen snapshot, or a non-empty list of errors, each with a path and a message. */
function wellFormed(result: BuildResult | TextBuildResult | ReturnType<typeof parseConfigText>, what: string): void {
  if (result.ok) {
    if ('snapshot' in result) assert.ok(Object.isFrozen(result.snapshot), `${what}: snapshot frozen`);
    return;
  }
  assert.ok(Array.isArray(result.errors) && result.errors.length > 0, `${what}: errors listed`);
  for (const e of result.errors) {
    assert.equal(typeof e.path, 'string', `${what}: error path`);
    assert.equal(typeof e.message, 'string', `${what}: error message`);
    assert.doesNotMatch(e.message, /^internal error/, `${what}: a decoder threw: ${e.path}: ${e.message}`);
    if (e.line !== undefined) assert.ok(Number.isInteger(e.line) && e.line > 0, `${what}: line ${e.line}`);
  }
}

/**
 * A lower value limit than the default 2,000,000 keeps each alias-bomb case to milliseconds; the
 * default limits are exercised by the mesh below and by the unit tests of each limit.
 */
const OPTIONS = { limits: { maxValues: 100_000 } } as const;

/** Builds `value` as an object, as JSON text and as YAML text (aliases for shared parts); checks each outcome. */
function checkEveryForm(value: unknown): void {
  const fromObject = buildSnapshot(value, OPTIONS);
  wellFormed(fromObject, 'object');
  const json = toJson(value);
  if (json !== undefined) {
    const fromJson = buildSnapshotFromText(json, 'fuzz.json', OPTIONS);
    wellFormed(fromJson, 'JSON text');
    // JSON text holds the same data as the object, unless the object had values JSON cannot keep.
    if (!/null|e[+-]?\d/.test(json)) assert.equal(fromJson.ok, fromObject.ok, `object and JSON text agree: ${json.slice(0, 300)}`);
  }
  wellFormed(buildSnapshotFromText(toYaml(value), 'fuzz.yaml', OPTIONS), 'YAML text');
}

function checkText(text: string): void {
  wellFormed(parseConfigText(text, 'fuzz.yaml', OPTIONS.limits), 'parse');
  wellFormed(buildSnapshotFromText(text, 'fuzz.yaml', OPTIONS), 'build');
}

/** Cases per property: 1,000 with the fixed seed over the three, 75 with random seeds. */
const RUNS = { shaped: 350, mutated: 350, text: 300 } as const;
const RANDOM_RUNS = 25;

describe('config fuzzing: never an exception, always a result or errors with paths', () => {
  for (const fixed of [true, false]) {
    const name = fixed ? 'fixed seed' : 'random seed';
    const params = (runs: number) => (fixed ? { seed: SEED, numRuns: runs } : { numRuns: RANDOM_RUNS });

    test(`Envoy-shaped configs as objects, JSON and YAML (${name})`, () => {
      fc.assert(fc.property(envoyConfig, (value) => checkEveryForm(value)), params(RUNS.shaped));
    });

    test(`real configs mutated: wrong types, deletions, unknown fields, shared and cyclic parts, deep nesting, alias bombs (${name})`, () => {
      fc.assert(fc.property(fc.constantFrom(...REAL), mutations, (base, list) => checkEveryForm(mutate(base, list))), params(RUNS.mutated));
    });

    test(`raw garbage and edited config text (${name})`, () => {
      const edited = editedText(fc.oneof(envoyConfig.map(toYaml), fc.constantFrom(...REAL).map((v) => JSON.stringify(v, null, 2)), fc.constantFrom(...REAL).map(toYaml)));
      fc.assert(fc.property(fc.oneof(garbageText, edited), (text) => checkText(text)), params(RUNS.text));
    });
  }
});

describe('a mesh fed fuzzed updates keeps serving its last good snapshot', () => {
  let upstream: EchoServer;
  let mesh: Mesh;
  let echo: EchoClient;
  const good = () => bootstrap({ routes: [{ prefix: '/', cluster: 'up' }], clusters: { up: [upstream.address] } });

  before(async () => {
    upstream = await startEchoServer('up');
    mesh = await createMesh({ config: good() });
    echo = mesh.grpcClient(loadEcho().EchoClient, 'echo:1') as EchoClient;
  });
  after(async () => {
    echo.close();
    await mesh.close();
    await upstream.close();
  });

  test('bad updates are rejected with XMESH_CONFIG_INVALID and config.rejected; a real call succeeds after each (fixed seed)', async () => {
    const version = mesh.snapshot.version;
    let rejected = 0;
    mesh.on('config.rejected', () => rejected++);
    const bad = fc.oneof(envoyConfig, fc.tuple(fc.constantFrom(...REAL), mutations).map(([base, list]) => mutate(base, list)))
      .filter((value) => !buildSnapshot(value).ok);
    let cases = 0;
    await fc.assert(fc.asyncProperty(bad, async (value) => {
      cases++;
      const before = rejected;
      const error = await mesh.update(value as object).then(() => undefined, (e: unknown) => e);
      assert.ok(hasCode(error, 'XMESH_CONFIG_INVALID'), `rejected with ${String(error)}`);
      assert.ok(error.errors.length > 0 && error.errors.every((e) => typeof e.path === 'string'));
      assert.equal(rejected, before + 1, 'config.rejected fired');
      assert.equal(mesh.snapshot.version, version);
      assert.equal((await unary(echo, { message: 'still' }, { deadline: Date.now() + 10_000 })).server, `up@${upstream.address}`);
    }), { seed: SEED, numRuns: 100 });
    assert.equal(cases, 100);
  });
});
