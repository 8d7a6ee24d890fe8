import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clockTicksPerSecond, processCpuTicks, processRssKb, startClientCpu, startProcessCpu } from './cpu.js';

/** Spins until this process has used `ms` of CPU (not of wall time: a busy machine only makes it take longer). */
function burnCpu(ms: number): void {
  const before = process.cpuUsage();
  const wallCap = Date.now() + 30_000;
  for (;;) {
    const used = process.cpuUsage(before);
    if ((used.user + used.system) / 1000 >= ms || Date.now() > wallCap) return;
  }
}

test('clock ticks per second is a positive number (100 on Linux)', () => {
  assert.equal(clockTicksPerSecond(), 100);
});

test('client and /proc CPU meters both see a busy loop of 300 ms of CPU', () => {
  const ticks = clockTicksPerSecond();
  const client = startClientCpu();
  const proc = startProcessCpu([process.pid], ticks);
  burnCpu(300);
  const clientMs = client();
  const procMs = proc();
  // 300 ms of CPU however long it took on a shared machine. Both meters read the same process, so
  // they agree to within /proc's tick granularity.
  assert.ok(clientMs >= 300 && clientMs <= 450, `client ${clientMs} ms`);
  assert.ok(procMs <= 460, `proc ${procMs} ms`);
  assert.ok(Math.abs(clientMs - procMs) <= 3 * (1000 / ticks) + 15, `client ${clientMs} ms vs /proc ${procMs} ms`);
});

test('processCpuTicks and processRssKb read this process', () => {
  assert.ok(processCpuTicks(process.pid) > 0);
  const rss = processRssKb(process.pid);
  assert.ok(rss !== undefined && rss * 1024 > process.memoryUsage().heapUsed / 4, `rss ${rss} kB`);
});
