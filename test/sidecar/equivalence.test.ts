// One snapshot, three ways to send the same traffic: the embedded mesh, the mesh in sidecar mode
// through the xmesh sidecar, and a stock grpc-js client through the sidecar (a non-xmesh app).
// Each must see the same cluster split, the same retries against a flaky upstream and the same
// number of rate-limited calls.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { createMesh, type Mesh } from '@xmesh/client';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { runConcurrently, unary } from '../support/grpc-call.js';
import { equivalenceConfig, NUM_RETRIES, RATE_LIMIT_TOKENS } from './equivalence-config.js';
import { startFlakyServer, type FlakyServer } from './flaky-server.js';

const { EchoClient: EchoCtor } = loadEcho();
const TARGET = 'echo.default.svc:50051';
const SPLIT_CALLS = 10_000;
const FLAKY_CALLS = 600;
const LIMITED_CALLS = 1000;

type Way = 'embedded' | 'sidecar-mode' | 'stock-grpc-js';
const WAYS: readonly Way[] = ['embedded', 'sidecar-mode', 'stock-grpc-js'];

interface Observed {
  split: { stable: number; canary: number; failed: number };
  retries: number;
  flakyFailed: number;
  limited: number;
  limitedOther: string[];
  /** Rate-limited-route requests that reached a sidecar. */
  limitedAtSidecar: number;
}

function metadata(entries: Record<string, string>): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(entries)) md.set(k, v);
  return md;
}

describe('embedded and sidecar modes are equivalent from one snapshot', () => {
  let stable: EchoServer;
  let canary: EchoServer;
  let flaky: FlakyServer;
  /** One sidecar per way that uses one, so each way starts with a full rate-limit bucket. */
  const sidecars: Sidecar[] = [];
  const meshes: Mesh[] = [];
  const clients = new Map<Way, EchoClient>();
  const observed = new Map<Way, Observed>();
  const sidecarRequests = () => sidecars.reduce((sum, s) => sum + s.stats.downstream_rq_total, 0);

  before(async () => {
    stable = await startEchoServer('stable');
    canary = await startEchoServer('canary');
    flaky = await startFlakyServer();
    const config = equivalenceConfig({ stable: stable.address, canary: canary.address, flaky: flaky.address });
    for (let i = 0; i < 2; i++) sidecars.push(await startSidecar({ config, listen: '127.0.0.1:0', admin: false }));
    const embedded = await createMesh({ config, env: {} });
    const sidecarMode = await createMesh({ config, env: {}, mode: 'sidecar', sidecar: { address: sidecars[0]!.target } });
    meshes.push(embedded, sidecarMode);
    clients.set('embedded', embedded.grpcClient(EchoCtor, TARGET) as EchoClient);
    clients.set('sidecar-mode', sidecarMode.grpcClient(EchoCtor, TARGET) as EchoClient);
    clients.set('stock-grpc-js', new EchoCtor(sidecars[1]!.target, grpc.credentials.createInsecure(), { 'grpc.default_authority': TARGET }) as EchoClient);

    // The ways run one after the other so the flaky server's attempt count belongs to one way at a time.
    for (const way of WAYS) {
      const client = clients.get(way)!;
      const split = { stable: 0, canary: 0, failed: 0 };
      await runConcurrently(SPLIT_CALLS, 32, async (i) => {
        const md = i % 5 === 0 ? metadata({ 'x-canary': 'yes' }) : new grpc.Metadata();
        try {
          const reply = await unary(client, { message: 'split' }, {}, 'Echo', md);
          if (reply.server.startsWith('stable@')) split.stable++;
          else if (reply.server.startsWith('canary@')) split.canary++;
        } catch {
          split.failed++;
        }
      });
      const attemptsBefore = flaky.attempts;
      let flakyFailed = 0;
      await runConcurrently(FLAKY_CALLS, 32, (i) => unary(client, { message: `${way}:${i}` }, {}, 'Echo', metadata({ 'x-route': 'flaky' })).catch(() => flakyFailed++));
      const retries = flaky.attempts - attemptsBefore - FLAKY_CALLS;
      let limited = 0;
      const limitedOther: string[] = [];
      const arrivedBefore = sidecarRequests();
      await runConcurrently(LIMITED_CALLS, 32, () => unary(client, { message: 'l' }, {}, 'Echo', metadata({ 'x-route': 'limited' })).then(
        () => undefined,
        (e: grpc.ServiceError) => {
          // Envoy's local rate limit answers gRPC with UNAVAILABLE (HTTP 429 mapped).
          if (e.code === grpc.status.UNAVAILABLE && e.metadata.get('x-xmesh-error-code')[0] === 'XMESH_RATE_LIMITED') limited++;
          else limitedOther.push(`${e.code} ${e.details}`);
        },
      ));
      observed.set(way, { split, retries, flakyFailed, limited, limitedOther, limitedAtSidecar: sidecarRequests() - arrivedBefore });
    }
  });

  after(async () => {
    for (const client of clients.values()) client.close();
    await Promise.all(meshes.map((m) => m.close()));
    await Promise.all(sidecars.map((s) => s.close()));
    await Promise.all([stable.close(), canary.close(), flaky.close()]);
  });

  test('every call of the split succeeded, in every way', () => {
    for (const way of WAYS) assert.equal(observed.get(way)!.split.failed, 0, way);
  });

  test('the same clusters in the same proportions (±2 %): 20 % by header + 10 % of the rest to the canary', () => {
    const expectedCanary = 0.2 + 0.8 * 0.1;
    const shares = WAYS.map((way) => observed.get(way)!.split.canary / SPLIT_CALLS);
    for (const [i, share] of shares.entries()) assert.ok(Math.abs(share - expectedCanary) <= 0.02, `${WAYS[i]} canary share ${share}`);
    assert.ok(Math.max(...shares) - Math.min(...shares) <= 0.02, `canary shares ${shares}`);
  });

  test('the same retry counts against the flaky upstream, and every flaky call succeeded', () => {
    // Call i fails i % 3 times, within NUM_RETRIES: the retries are exactly the sum of i % 3.
    let expected = 0;
    for (let i = 0; i < FLAKY_CALLS; i++) expected += Math.min(i % 3, NUM_RETRIES);
    for (const way of WAYS) {
      const o = observed.get(way)!;
      assert.equal(o.flakyFailed, 0, `${way}: failed flaky calls`);
      assert.equal(o.retries, expected, `${way}: retries`);
    }
  });

  test('the same number of rate-limited calls (±2 %)', () => {
    const expected = LIMITED_CALLS - RATE_LIMIT_TOKENS;
    for (const way of WAYS) {
      const o = observed.get(way)!;
      assert.deepEqual(o.limitedOther, [], `${way}: unexpected errors`);
      assert.ok(Math.abs(o.limited - expected) <= LIMITED_CALLS * 0.02, `${way}: ${o.limited} rate-limited, expected ${expected}`);
    }
  });

  test('sidecar mode limits once, in the sidecar: every call reached it, none was refused by the app', () => {
    assert.equal(observed.get('embedded')!.limitedAtSidecar, 0);
    assert.equal(observed.get('sidecar-mode')!.limitedAtSidecar, LIMITED_CALLS);
    assert.equal(observed.get('stock-grpc-js')!.limitedAtSidecar, LIMITED_CALLS);
  });
});
