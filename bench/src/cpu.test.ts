import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clockTicksPerSecond, processCpuTicks, processRssKb, startClientCpu, startProcessCpu } from './cpu.js';

function busyWait(ms: number): void {
  const end = process.hrtime.bigint() + BigInt(ms * 1e6);
  while (process.hrtime.bigint() < end);
}

test('clock ticks per second is a positive number (100 on Linux)', () => {
  assert.equal(clockTicksPerSecond(), 100);
});

test('client and /proc CPU meters both see a 300 ms busy loop', () => {
  const ticks = clockTicksPerSecond();
  const client = startClientCpu();
  const proc = startProcessCpu([process.pid], ticks);
  busyWait(300);
  const clientMs = client();
  const procMs = proc();
  // Wall time 300 ms: CPU can be far less on a shared machine, never much more. Both meters read the
  // same process, so they agree to within /proc's tick granularity.
  assert.ok(clientMs >= 100 && clientMs <= 450, `client ${clientMs} ms`);
  assert.ok(procMs <= 460, `proc ${procMs} ms`);
  assert.ok(Math.abs(clientMs - procMs) <= 3 * (1000 / ticks) + 15, `client ${clientMs} ms vs /proc ${procMs} ms`);
});

test('processCpuTicks and processRssKb read this process', () => {
  assert.ok(processCpuTicks(process.pid) > 0);
  const rss = processRssKb(process.pid);
  assert.ok(rss !== undefined && rss * 1024 > process.memoryUsage().heapUsed / 4, `rss ${rss} kB`);
});
