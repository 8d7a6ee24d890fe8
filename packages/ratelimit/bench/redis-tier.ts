/**
 * The cluster-wide tier measured against bottleneck's Redis clustering, on a real redis-server
 * started here (127.0.0.1, a free port, no persistence) and stopped at the end.
 * - latency of one admission decision (sequential, one client);
 * - semantics: two instances sharing a budget of 10, 30 calls offered at once — how many are
 *   admitted, how many rejected, how many left waiting after 1 s.
 * Run: node --conditions=xmesh-source --import tsx packages/ratelimit/bench/redis-tier.ts
 */
import { spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';
import Bottleneck from 'bottleneck';
import { RedisRateLimiter } from '../src/redis-rate-limiter.js';

const DECISIONS = 2000;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(port: number): Promise<void> {
  for (let i = 0; i < 250; i++) {
    const ok = await new Promise<boolean>((r) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => { c.destroy(); r(true); });
      c.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('redis-server did not start');
}

const port = await freePort();
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
try {
  await waitFor(port);
  const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))]!.toFixed(3);

  // --- latency: Lua token bucket
  const lua = new RedisRateLimiter({ host: '127.0.0.1', port, bucket: { maxTokens: 1e9, tokensPerFill: 1, fillIntervalMs: 1000 }, failureMode: 'open', commandTimeoutMs: 200 });
  await lua.ready();
  for (let i = 0; i < 200; i++) await lua.consume('warm');
  const luaTimes: number[] = [];
  for (let i = 0; i < DECISIONS; i++) {
    const t = performance.now();
    await lua.consume('k');
    luaTimes.push(performance.now() - t);
  }

  // --- latency: bottleneck clustered limiter (reservoir in Redis)
  const bn = new Bottleneck({ id: `bench-${port}`, datastore: 'ioredis', clearDatastore: true, clientOptions: { host: '127.0.0.1', port }, reservoir: 1e9 });
  await bn.ready();
  for (let i = 0; i < 200; i++) await bn.schedule(() => Promise.resolve());
  const bnTimes: number[] = [];
  for (let i = 0; i < DECISIONS; i++) {
    const t = performance.now();
    await bn.schedule(() => Promise.resolve());
    bnTimes.push(performance.now() - t);
  }
  await bn.disconnect(true);

  console.log(`redis-server on 127.0.0.1:${port}; ${DECISIONS} sequential decisions, one client`);
  console.log('| limiter | p50 ms | p90 ms | p99 ms |');
  console.log('|---|---:|---:|---:|');
  console.log(`| Lua token bucket (ioredis, EVALSHA) | ${pct(luaTimes, 0.5)} | ${pct(luaTimes, 0.9)} | ${pct(luaTimes, 0.99)} |`);
  console.log(`| bottleneck 2.19.5 clustered (ioredis) | ${pct(bnTimes, 0.5)} | ${pct(bnTimes, 0.9)} | ${pct(bnTimes, 0.99)} |`);

  // --- semantics: shared budget of 10 across two instances, 30 calls at once
  const a = new RedisRateLimiter({ host: '127.0.0.1', port, bucket: { maxTokens: 10, tokensPerFill: 10, fillIntervalMs: 60_000 }, failureMode: 'closed', keyPrefix: 'sem:' });
  const b = new RedisRateLimiter({ host: '127.0.0.1', port, bucket: { maxTokens: 10, tokensPerFill: 10, fillIntervalMs: 60_000 }, failureMode: 'closed', keyPrefix: 'sem:' });
  await Promise.all([a.ready(), b.ready()]);
  const verdicts = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).consume('shared')));
  console.log(`Lua bucket: admitted ${verdicts.filter((v) => v.allowed).length}, rejected ${verdicts.filter((v) => !v.allowed).length} of 30 (decided at once)`);
  await a.close();
  await b.close();

  const id = `sem-${port}`;
  const opts = { id, datastore: 'ioredis' as const, clientOptions: { host: '127.0.0.1', port }, reservoir: 10 };
  const bn1 = new Bottleneck({ ...opts, clearDatastore: true });
  await bn1.ready();
  const bn2 = new Bottleneck({ ...opts });
  await bn2.ready();
  let done = 0;
  let dropped = 0;
  for (let i = 0; i < 30; i++) {
    (i % 2 ? bn1 : bn2).schedule(() => Promise.resolve()).then(() => void done++, () => void dropped++);
  }
  await new Promise((r) => setTimeout(r, 1000));
  console.log(`bottleneck: after 1 s, ${done} ran, ${dropped} dropped, ${30 - done - dropped} still queued (it queues, it cannot reject)`);
  await bn1.disconnect(false);
  await bn2.disconnect(false);
} finally {
  redis.kill('SIGTERM');
}
process.exit(0);
