import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loopLabel, parseBenchArgs } from './args.js';
import { workloadLabel } from './workload.js';

const ALL = ['direct', 'embedded', 'sidecar-haproxy'];

test('defaults: every scenario, unary 100 B and 1 KB plus a 10×100 B stream, c=1/16/64 closed, one open loop, 2 rounds', () => {
  const o = parseBenchArgs([], ALL);
  assert.notEqual(o, 'help');
  if (o === 'help') return;
  assert.deepEqual(o.scenarios, ALL);
  assert.deepEqual(o.workloads, [
    { kind: 'unary', payloadBytes: 100 },
    { kind: 'unary', payloadBytes: 1024 },
    { kind: 'stream', payloadBytes: 100, messages: 10 },
  ]);
  assert.deepEqual(o.workloads.map(workloadLabel), ['unary 100 B', 'unary 1024 B', 'stream 10×100 B']);
  assert.deepEqual(o.loops.map(loopLabel), ['c=1', 'c=16', 'c=64', 'open 500/s']);
  assert.equal(o.rounds, 2);
  assert.equal(o.durationMs, 1250);
  assert.equal(o.warmupMs, 500);
});

test('--workload, --payload and the stream shape select the workloads', () => {
  const unaryOnly = parseBenchArgs(['--workload', 'unary', '--payload', '0,64,4096'], ALL);
  if (unaryOnly === 'help') return assert.fail('help');
  assert.deepEqual(unaryOnly.workloads.map(workloadLabel), ['unary 0 B', 'unary 64 B', 'unary 4096 B']);
  const streamOnly = parseBenchArgs(['--workload', 'stream', '--stream-messages', '3', '--stream-payload', '1024'], ALL);
  if (streamOnly === 'help') return assert.fail('help');
  assert.deepEqual(streamOnly.workloads, [{ kind: 'stream', payloadBytes: 1024, messages: 3 }]);
  const bidi = parseBenchArgs(['--workload', 'stream,bidi', '--stream-messages', '4'], ALL);
  if (bidi === 'help') return assert.fail('help');
  assert.deepEqual(bidi.workloads.map(workloadLabel), ['stream 4×100 B', 'bidi 4×100 B']);
  assert.throws(() => parseBenchArgs(['--workload', 'duplex'], ALL), /--workload: expected unary, stream and\/or bidi, got "duplex"/);
  assert.throws(() => parseBenchArgs(['--payload', '100,1.5'], ALL), /--payload: expected integers >= 0/);
  assert.throws(() => parseBenchArgs(['--payload', '100,100'], ALL), /--payload: repeated size/);
  assert.throws(() => parseBenchArgs(['--stream-messages', '0'], ALL), /--stream-messages: expected integers >= 1/);
});

test('--quick shortens slices and rounds; explicit flags win', () => {
  const o = parseBenchArgs(['--quick', '--scenarios', 'direct,embedded', '--concurrency', '4', '--rate', '0', '--rounds', '2'], ALL);
  if (o === 'help') return assert.fail('help');
  assert.deepEqual(o.scenarios, ['direct', 'embedded']);
  assert.deepEqual(o.loops, [{ kind: 'closed', concurrency: 4 }]);
  assert.equal(o.rounds, 2);
  assert.equal(o.durationMs, 150);
  assert.equal(o.warmupMs, 100);
});

test('bad flags name themselves', () => {
  assert.throws(() => parseBenchArgs(['--scenarios', 'direct,nope'], ALL), /--scenarios: unknown nope/);
  assert.throws(() => parseBenchArgs(['--concurrency', '0'], ALL), /--concurrency/);
  assert.throws(() => parseBenchArgs(['--duration', '-1'], ALL), /--duration/);
  assert.throws(() => parseBenchArgs(['--rounds', '1.5'], ALL), /--rounds/);
  assert.equal(parseBenchArgs(['--help'], ALL), 'help');
});
