// The per-mesh deadline scheduler on a fake clock: entries fire at their due time in due order,
// cancelled ones never fire, and a stream of calls does not re-arm the clock timer per call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '@xmesh/core';
import { FakeClock } from '../../../../test/support/fake-clock.js';
import { DeadlineScheduler, type DeadlineEntry } from './deadline-scheduler.js';

/** A FakeClock that counts the timers it was asked for. */
class CountingClock extends FakeClock {
  armed = 0;
  override setTimeout(fn: () => void, ms: number) {
    this.armed++;
    return super.setTimeout(fn, ms);
  }
}

function entry(log: string[], name: string, clock: FakeClock, onFire?: () => void): DeadlineEntry {
  return { deadlineDue: 0, deadlineSlot: -1, onDeadline: () => { log.push(`${name}@${clock.now()}`); onFire?.(); } };
}

test('entries fire at exactly their due time, in due order, whatever the scheduling order', () => {
  const clock = new FakeClock(1000);
  const deadlines = new DeadlineScheduler(clock);
  const log: string[] = [];
  const dues = [1500, 1100, 1300, 1100.5, 2000, 1200];
  dues.forEach((due, i) => deadlines.schedule(entry(log, `e${i}`, clock), due));
  assert.equal(deadlines.size, 6);
  clock.advance(99);
  assert.deepEqual(log, []);
  clock.advance(1);
  assert.deepEqual(log, ['e1@1100']);
  clock.advance(1000);
  assert.deepEqual(log, ['e1@1100', 'e3@1100.5', 'e5@1200', 'e2@1300', 'e0@1500', 'e4@2000']);
  assert.equal(deadlines.size, 0);
  assert.equal(deadlines.timerArmed, false, 'no timer left once every entry fired');
  assert.equal(clock.pendingTimers, 0);
});

test('a cancelled entry never fires; cancelling twice or an unscheduled entry is a no-op', () => {
  const clock = new FakeClock(0);
  const deadlines = new DeadlineScheduler(clock);
  const log: string[] = [];
  const entries = Array.from({ length: 50 }, (_, i) => entry(log, `e${i}`, clock));
  entries.forEach((e, i) => deadlines.schedule(e, 100 + ((i * 37) % 50)));
  for (let i = 0; i < 50; i += 2) deadlines.cancel(entries[i]!);
  deadlines.cancel(entries[0]!);
  deadlines.cancel(entry(log, 'never-scheduled', clock));
  assert.equal(deadlines.size, 25);
  clock.advance(200);
  const fired = log.map((line) => Number(line.slice(1, line.indexOf('@'))));
  assert.deepEqual([...fired].sort((a, b) => a - b), Array.from({ length: 25 }, (_, i) => 2 * i + 1));
  const times = log.map((line) => Number(line.slice(line.indexOf('@') + 1)));
  assert.deepEqual(times, [...times].sort((a, b) => a - b), 'in due order');
  for (const line of log) {
    const i = Number(line.slice(1, line.indexOf('@')));
    assert.equal(Number(line.slice(line.indexOf('@') + 1)), 100 + ((i * 37) % 50), `${line} fired at its due time`);
  }
});

test('a steady stream of calls (schedule, then cancel on completion) arms the clock timer once', () => {
  const clock = new CountingClock(0);
  const deadlines = new DeadlineScheduler(clock);
  const log: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const e = entry(log, `c${i}`, clock);
    deadlines.schedule(e, clock.now() + 15_000);
    clock.advance(1);
    deadlines.cancel(e);
  }
  assert.equal(clock.armed, 1);
  assert.equal(deadlines.size, 0);
  assert.equal(deadlines.timerArmed, true, 'kept armed after the last entry went');
  clock.advance(15_000);
  assert.deepEqual(log, []);
  assert.equal(deadlines.timerArmed, false, 'fired once with nothing due, and stopped');
  assert.equal(clock.armed, 1);
});

test('an earlier deadline re-arms the timer; a later one does not', () => {
  const clock = new CountingClock(0);
  const deadlines = new DeadlineScheduler(clock);
  const log: string[] = [];
  deadlines.schedule(entry(log, 'late', clock), 15_000);
  deadlines.schedule(entry(log, 'later', clock), 20_000);
  assert.equal(clock.armed, 1);
  deadlines.schedule(entry(log, 'early', clock), 50);
  assert.equal(clock.armed, 2);
  assert.equal(clock.pendingTimers, 1, 'the earlier timer replaced the armed one');
  clock.advance(20_000);
  assert.deepEqual(log, ['early@50', 'late@15000', 'later@20000']);
});

test('an entry scheduled or cancelled from onDeadline is honoured', () => {
  const clock = new FakeClock(0);
  const deadlines = new DeadlineScheduler(clock);
  const log: string[] = [];
  const victim = entry(log, 'victim', clock);
  const follower = entry(log, 'follower', clock);
  deadlines.schedule(
    entry(log, 'first', clock, () => {
      deadlines.cancel(victim);
      deadlines.schedule(follower, clock.now() + 5);
    }),
    10,
  );
  deadlines.schedule(victim, 12);
  clock.advance(100);
  assert.deepEqual(log, ['first@10', 'follower@15']);
  assert.equal(clock.pendingTimers, 0);
});

test('close drops every entry and the timer', () => {
  const clock = new FakeClock(0);
  const deadlines = new DeadlineScheduler(clock);
  const log: string[] = [];
  const e = entry(log, 'e', clock);
  deadlines.schedule(e, 10);
  deadlines.close();
  assert.equal(e.deadlineSlot, -1);
  assert.equal(clock.pendingTimers, 0);
  clock.advance(100);
  assert.deepEqual(log, []);
});

test('the timer is unref’d: a pending deadline never keeps a process alive', () => {
  const clock = new FakeClock(0);
  const deadlines = new DeadlineScheduler(clock);
  deadlines.schedule(entry([], 'e', clock), 15_000);
  assert.equal(clock.pendingTimers, 1);
  assert.equal(clock.pendingRefedTimers, 0);
});

test('real clock: short deadlines behind a pending 15 s one fire on their own time (never early, never held for the 15 s one)', async () => {
  const deadlines = new DeadlineScheduler(systemClock);
  const long = { deadlineDue: 0, deadlineSlot: -1, onDeadline: () => assert.fail('the 15 s deadline must not fire') };
  deadlines.schedule(long, systemClock.now() + 15_000);
  const lateness: number[] = [];
  const dues = [120, 30, 75, 10, 160, 45, 90, 30];
  // The scheduler's timer is unref'd; in a mesh the calls' sockets keep the process up, here this does.
  const keepAlive = setTimeout(() => assert.fail('deadlines did not fire within 10 s'), 10_000);
  await new Promise<void>((resolve) => {
    let left = dues.length;
    for (const ms of dues) {
      const due = systemClock.now() + ms;
      deadlines.schedule({ deadlineDue: 0, deadlineSlot: -1, onDeadline: () => {
        lateness.push(systemClock.now() - due);
        if (--left === 0) resolve();
      } }, due);
    }
  });
  clearTimeout(keepAlive);
  deadlines.cancel(long);
  deadlines.close();
  assert.equal(lateness.length, dues.length);
  for (const late of lateness) {
    assert.ok(late >= 0, `fired ${-late} ms early`);
    // How late a timer runs depends on the machine's load, not on the scheduler (the fake-clock
    // tests above pin the exact times); this bound only shows none waited for the 15 s deadline.
    assert.ok(late < 5_000, `fired ${late.toFixed(1)} ms late`);
  }
});
