// Routing decisions at volume through the real router, balancer and discovery: weighted split,
// header-based canary, config swaps under load, and draining a removed endpoint.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMesh, type Mesh } from '@xmesh/client';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { bootstrap } from '../support/mesh-config.js';
import { runConcurrently, unary } from '../support/grpc-call.js';
import { waitFor } from '../support/wait.js';
import * as grpc from '@grpc/grpc-js';

const { EchoClient: EchoCtor } = loadEcho();
const TARGET = 'echo.default.svc:50051';

describe('traffic through the mesh', () => {
  let stable: EchoServer;
  let canary: EchoServer;
  let mesh: Mesh;
  let echo: EchoClient;
  const split = (weights: Record<string, number>) => bootstrap({
    routes: [
      { prefix: '/', headers: { 'x-canary': 'yes' }, cluster: 'canary' },
      { prefix: '/', weighted: weights },
    ],
    clusters: { stable: [stable.address], canary: [canary.address] },
  });

  before(async () => {
    stable = await startEchoServer('stable');
    canary = await startEchoServer('canary');
    mesh = await createMesh({ config: split({ stable: 80, canary: 20 }) });
    echo = mesh.grpcClient(EchoCtor, TARGET) as EchoClient;
  });

  after(async () => {
    echo.close();
    await mesh.close();
    await Promise.all([stable.close(), canary.close()]);
  });

  test('weighted clusters split 80/20 within 3 % over 5 000 calls', async () => {
    const replies = await runConcurrently(5000, 32, () => unary(echo, { message: 'w' }));
    const toStable = replies.filter((r) => r.server.startsWith('stable@')).length;
    const share = toStable / replies.length;
    assert.ok(Math.abs(share - 0.8) <= 0.03, `stable share ${share}`);
    assert.equal(replies.length - toStable, replies.filter((r) => r.server.startsWith('canary@')).length);
  });

  test('a header routes to the canary cluster', async () => {
    const md = new grpc.Metadata();
    md.set('x-canary', 'yes');
    const replies = await runConcurrently(50, 8, () => unary(echo, { message: 'c' }, {}, 'Echo', md.clone()));
    assert.ok(replies.every((r) => r.server.startsWith('canary@')));
  });

  test('swapping configs every few ms under load loses no call', async () => {
    const configs = [split({ stable: 100, canary: 0 }), split({ stable: 0, canary: 100 })];
    let swaps = 0;
    let running = true;
    let swapFailed = false;
    const swapper = (async () => {
      while (running) {
        await mesh.update(configs[swaps % 2]!);
        swaps++;
        await new Promise((r) => setTimeout(r, 3));
      }
    })().catch((error: unknown) => {
      swapFailed = true;
      throw error;
    });
    // At least 2000 calls and 10 swaps under them, whichever takes longer on this machine.
    const outcomes: string[] = [];
    await runConcurrently(32, 32, async () => {
      while (!swapFailed && (outcomes.length < 2000 || swaps < 10)) {
        outcomes.push(await unary(echo, { message: 's' }).then((r) => r.server, (e: grpc.ServiceError) => `error ${e.code} ${e.details}`));
      }
    });
    running = false;
    await swapper;
    const errors = outcomes.filter((o) => o.startsWith('error'));
    assert.deepEqual(errors, []);
    assert.ok(swaps >= 10, `only ${swaps} swaps`);
    const servers = new Set(outcomes.map((o) => o.split('@')[0]));
    assert.deepEqual([...servers].sort(), ['canary', 'stable']);
  });

  test('removing an endpoint drains its in-flight call, then closes its channel', async () => {
    await mesh.update(split({ stable: 100, canary: 0 }));
    // Held by the upstream until released: in flight for as long as the test needs.
    const slow = unary(echo, { message: 'hold' });
    await waitFor(() => stable.held === 1, 'the call to reach the stable endpoint');
    const closedBefore = stable.calls;
    // The stable endpoint leaves the snapshot while the slow call is in flight.
    await mesh.update(bootstrap({ routes: [{ prefix: '/', cluster: 'canary' }], clusters: { canary: [canary.address] } }));
    const internals = mesh as unknown as { pool: { get(id: string): { hasGrpcChannel: boolean } | undefined } };
    assert.equal(internals.pool.get(stable.address)?.hasGrpcChannel, true, 'kept while the call is in flight');
    stable.release();
    const reply = await slow;
    assert.equal(reply.server, `stable@${stable.address}`);
    assert.equal(reply.message, 'hold');
    const after = await unary(echo, { message: 'after' });
    assert.equal(after.server, `canary@${canary.address}`);
    assert.equal(stable.calls, closedBefore);
    // Drained: the endpoint's transports are gone from the pool (their channel was closed).
    assert.equal(internals.pool.get(stable.address), undefined);
  });
});
