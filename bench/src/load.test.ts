import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closedLoop, openLoop } from './load.js';

/** A call that completes after one macrotask turn, like real I/O. */
const ioCall = () => new Promise<void>((resolve) => setImmediate(resolve));

function busyWait(ms: number): void {
  const end = process.hrtime.bigint() + BigInt(ms * 1e6);
  while (process.hrtime.bigint() < end);
}

test('closed loop runs `concurrency` calls at a time and stops on its deadline', async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const call = async () => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await ioCall();
    inFlight--;
  };
  const started = Date.now();
  const r = await closedLoop({ call, concurrency: 8, durationMs: 200 });
  const took = Date.now() - started;
  assert.equal(maxInFlight, 8);
  // Never before its deadline; the upper bound only catches a loop that does not stop.
  assert.ok(took >= 195 && took < 10_000, `took ${took} ms`);
  assert.ok(r.calls > 100, `calls ${r.calls}`);
  assert.equal(r.errors, 0);
  assert.equal(r.histogram.totalCount, r.calls);
  assert.ok(Number(r.elapsedNs) / 1e6 >= 195);
});

test('closed loop counts rejected calls as errors, not latencies', async () => {
  let n = 0;
  const call = async () => {
    await ioCall();
    if (++n % 2 === 0) throw new Error('boom');
  };
  const r = await closedLoop({ call, concurrency: 1, durationMs: 100 });
  assert.ok(Math.abs(r.calls - r.errors) <= 1, `calls ${r.calls} errors ${r.errors}`);
  assert.equal(r.histogram.totalCount, r.calls);
});

test('open loop issues calls at the scheduled rate', async () => {
  const r = await openLoop({ call: ioCall, ratePerSec: 1000, durationMs: 500 });
  assert.equal(r.errors, 0);
  // Exactly the 500 calls scheduled in 0.5 s, however late the event loop ran.
  assert.equal(r.calls, 500);
  // Never faster than the schedule (the last call is not issued before 499 ms); a busy machine only slows it.
  const rps = r.calls / (Number(r.elapsedNs) / 1e9);
  assert.ok(rps < 1010 && rps > 50, `rps ${rps}`);
});

test('open loop charges a stall to every call scheduled during it (coordinated omission corrected)', async () => {
  let first = true;
  const stallingCall = async () => {
    if (first) {
      first = false;
      busyWait(100); // the client cannot send anything for 100 ms
    }
    await ioCall();
  };
  const open = await openLoop({ call: stallingCall, ratePerSec: 1000, durationMs: 400 });
  // ~100 of ~400 calls were due during the stall: they waited 0-100 ms from their intended send time,
  // so the slowest tenth of all calls waited more than ~50 ms.
  const p90 = open.histogram.getValueAtPercentile(90);
  assert.ok(p90 >= 30_000, `open p90 ${p90} µs`);
  assert.ok(open.histogram.maxValue >= 90_000, `open max ${open.histogram.maxValue} µs`);

  first = true;
  const closed = await closedLoop({ call: stallingCall, concurrency: 1, durationMs: 400 });
  // The same stall seen by a closed loop hides in one call: leaving out its three slowest calls
  // (the stall, and room for a busy machine's pauses), none waited anywhere near 50 ms.
  const n = closed.histogram.totalCount;
  const allButSlowest = closed.histogram.getValueAtPercentile((100 * (n - 3)) / n);
  assert.ok(n > 3 && allButSlowest < 50_000, `closed loop: ${n} calls, all but the 3 slowest within ${allButSlowest} µs`);
  assert.ok(closed.histogram.maxValue >= 90_000, `closed max ${closed.histogram.maxValue} µs`);
});

test('open loop does not issue beyond maxOutstanding and counts the rest as errors', async () => {
  const never = () => new Promise<void>(() => undefined);
  const r = await openLoop({ call: never, ratePerSec: 1000, durationMs: 100, maxOutstanding: 10, drainMs: 20 });
  assert.equal(r.calls, 0);
  // 100 scheduled: 90 refused at the limit, the 10 issued never end.
  assert.equal(r.errors, 100);
});
