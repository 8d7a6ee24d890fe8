import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSoak, slope, type SoakResult } from './soak.js';

test('slope is the least-squares rate of change, 0 for flat or single points', () => {
  assert.equal(slope([]), 0);
  assert.equal(slope([{ x: 1, y: 5 }]), 0);
  assert.equal(slope([{ x: 0, y: 3 }, { x: 1, y: 3 }, { x: 2, y: 3 }]), 0);
  assert.ok(Math.abs(slope([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }, { x: 3, y: 7 }]) - 2) < 1e-12);
  // Noise around a line keeps the line's slope.
  assert.ok(Math.abs(slope([{ x: 0, y: 10.5 }, { x: 1, y: 10.5 }, { x: 2, y: 11.5 }, { x: 3, y: 11.5 }]) - 0.4) < 1e-12);
});

test('formatSoak prints one row per target with the first and last samples and the slopes', () => {
  const result: SoakResult = {
    target: 'sidecar', maxCallsPerSec: 1000, rateCallsPerSec: 800, minutes: 10, calls: 480_000, errors: 0, p99Us: 4000,
    samples: [{ atMin: 0, heapMiB: 20, rssMiB: 100 }, { atMin: 10, heapMiB: 21, rssMiB: 110 }],
    heapSlopeMiBPerMin: 0.1, rssSlopeMiBPerMin: 1, handlesBefore: 6, handlesAfter: 6, firstError: undefined,
  };
  const lines = formatSoak([result]).split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[2]!, /^sidecar\s+800\/1000\s+10\.0\s+480000\s+0\s+4000\s+20\.0 → 21\.0\s+0\.100\s+100\.0 → 110\.0\s+1\.000\s+6 → 6$/);
});
