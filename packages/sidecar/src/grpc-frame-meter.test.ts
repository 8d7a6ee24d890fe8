import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GrpcFrameMeter } from './grpc-frame-meter.js';

function message(length: number, fill = 0x61): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(length, 1);
  return Buffer.concat([prefix, Buffer.alloc(length, fill)]);
}

test('messages within the limit pass, whatever the chunking; the boundary is tracked', () => {
  const stream = Buffer.concat([message(0), message(10), message(1024), message(3)]);
  for (const size of [1, 2, 3, 5, 7, 64, stream.length]) {
    const meter = new GrpcFrameMeter(1024);
    for (let offset = 0; offset < stream.length; offset += size) {
      const chunk = stream.subarray(offset, offset + size);
      assert.equal(meter.scan(chunk), -1, `chunk size ${size} at ${offset}`);
    }
    assert.equal(meter.atBoundary, true, `chunk size ${size}`);
  }
  const meter = new GrpcFrameMeter(1024);
  meter.scan(message(10).subarray(0, 7));
  assert.equal(meter.atBoundary, false);
});

test('an oversized prefix is found at its offset; a prefix split over chunks is reported as such', () => {
  const good = message(3);
  const bad = message(0).fill(0xff, 1, 5);
  const whole = new GrpcFrameMeter(1024);
  assert.equal(whole.scan(Buffer.concat([good, bad])), good.length);
  assert.equal(whole.splitPrefix, false);
  const split = new GrpcFrameMeter(1024);
  assert.equal(split.scan(Buffer.concat([good, bad.subarray(0, 2)])), -1);
  assert.equal(split.scan(bad.subarray(2)), 0);
  assert.equal(split.splitPrefix, true);
  // Exactly the limit is allowed; one more byte is not.
  assert.equal(new GrpcFrameMeter(1024).scan(message(1024).subarray(0, 5)), -1);
  assert.equal(new GrpcFrameMeter(1024).scan(message(1025).subarray(0, 5)), 0);
  // A 4 GiB prefix is refused from its five bytes alone.
  const huge = Buffer.from([0, 0xff, 0xff, 0xff, 0xff]);
  assert.equal(new GrpcFrameMeter(4 * 1024 * 1024).scan(huge), 0);
});
