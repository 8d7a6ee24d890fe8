/**
 * Connection-level interop: GOAWAY under load, a server killed and
 * restarted, and more concurrent calls than the server's stream limit,
 * against stock @grpc/grpc-js and @connectrpc/connect-node servers.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { LeanChannel } from './lean-channel.js';
import { GrpcStatus } from './status.js';
import { clientUnary, echoClient, fastUnary } from './testing/calls.js';
import { startConnectPeer } from './testing/connect-peer.js';
import { startGrpcJsPeer } from './testing/grpc-js-peer.js';
import { spawnPeer } from './testing/spawn-peer.js';

const PEERS = [
  { name: 'grpc-js', start: startGrpcJsPeer },
  { name: 'connect', start: startConnectPeer },
] as const;

/**
 * Runs `workers` loops of unary calls until `durationMs` passes (hrtime, not timers) and `until`
 * holds, or `maxMs` passes; returns each call's status code.
 */
async function load(channel: LeanChannel, workers: number, durationMs: number, until: (codes: readonly number[]) => boolean = () => true, maxMs = durationMs): Promise<number[]> {
  const codes: number[] = [];
  const started = process.hrtime.bigint();
  const minEnd = started + BigInt(durationMs) * 1_000_000n;
  const maxEnd = started + BigInt(maxMs) * 1_000_000n;
  const running = () => {
    const t = process.hrtime.bigint();
    return t < maxEnd && (t < minEnd || !until(codes));
  };
  const worker = async () => {
    while (running()) {
      const outcome = await fastUnary(channel, { message: 'sleep:2' });
      codes.push(outcome.error?.code ?? GrpcStatus.OK);
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  return codes;
}

for (const peerKind of PEERS) {
  describe(`lean connections against a ${peerKind.name} server`, () => {
    test('GOAWAY mid-load: in-flight calls finish, new calls move to a new connection', async () => {
      const peer = await peerKind.start(0, peerKind.name === 'grpc-js' ? { maxConnectionAgeMs: 150 } : {});
      const goaways = peerKind.name === 'connect' ? setInterval(() => peer.goawayAll(), 150) : null;
      const channel = new LeanChannel(`127.0.0.1:${peer.port}`);
      try {
        // At least 1.2 s of load, and on until 100 calls and three connections (two GOAWAYs) are
        // behind it however slow the machine is (at most 30 s).
        const codes = await load(channel, 16, 1200, (done) => done.length > 100 && channel.connectionStats().opened >= 3, 30_000);
        const failures = codes.filter((code) => code !== GrpcStatus.OK);
        assert.deepEqual(failures, [], `${failures.length} of ${codes.length} calls failed`);
        assert.ok(codes.length > 100, `only ${codes.length} calls completed`);
        assert.ok(channel.connectionStats().opened >= 3, `opened ${channel.connectionStats().opened} connections`);
      } finally {
        if (goaways !== null) clearInterval(goaways);
        channel.close();
        await peer.close();
      }
    });

    test('1000 concurrent calls over a server limit of 100 streams per connection', async () => {
      const peer = await peerKind.start(0, { maxConcurrentStreams: 100 });
      const channel = new LeanChannel(`127.0.0.1:${peer.port}`, { 'xmesh.lean.max_sessions': 8 });
      const client = echoClient(`127.0.0.1:${peer.port}`, { channelOverride: channel as unknown as grpc.Channel });
      try {
        const fast = await Promise.all(Array.from({ length: 1000 }, () => fastUnary(channel, { message: 'sleep:200' })));
        assert.deepEqual(fast.filter((o) => o.error !== null).map((o) => o.error?.message), []);
        // 1000 waiting calls need 10 connections of 100 streams; the pool opens more (one at a time,
        // while calls wait) up to its cap of 8. Early calls may finish before the last ones connect.
        const { opened } = channel.connectionStats();
        assert.ok(opened >= 2 && opened <= 8, `opened ${opened} connections`);
        const viaClient = await Promise.all(Array.from({ length: 1000 }, () => clientUnary(client, { message: 'sleep:10' })));
        assert.deepEqual(viaClient.filter((o) => o.error !== null).map((o) => o.error?.message), []);
      } finally {
        channel.close();
        await peer.close();
      }
    });

    test('server killed: calls fail with UNAVAILABLE, then recover once it is back', async () => {
      let server = await spawnPeer(peerKind.name);
      const channel = new LeanChannel(`127.0.0.1:${server.port}`, {
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 300,
      });
      try {
        assert.equal((await fastUnary(channel, { message: 'before' })).error, null);
        const inFlight = fastUnary(channel, { message: 'sleep:5000' });
        await new Promise((resolve) => setTimeout(resolve, 100));
        await server.kill();
        assert.equal((await inFlight).error?.code, GrpcStatus.UNAVAILABLE, 'the call in flight when the server died');
        for (let i = 0; i < 5; i++) {
          const outcome = await fastUnary(channel, { message: `down ${i}` });
          assert.equal(outcome.error?.code, GrpcStatus.UNAVAILABLE, outcome.error?.message);
        }
        server = await spawnPeer(peerKind.name, server.port);
        const deadline = Date.now() + 10_000;
        let recovered = false;
        while (!recovered && Date.now() < deadline) {
          const outcome = await fastUnary(channel, { message: 'after' });
          if (outcome.error === null) recovered = true;
          else {
            assert.equal(outcome.error.code, GrpcStatus.UNAVAILABLE, outcome.error.message);
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
        assert.ok(recovered, 'calls succeed again after the restart');
      } finally {
        channel.close();
        await server.kill();
      }
    });
  });
}
