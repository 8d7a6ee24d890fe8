/** Property tests: arbitrary chunkings decode to the same messages; garbage fails only through the error callback. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isMeshError, type MeshError } from '@xmesh/core';
import { encodeFrame, FrameDecoder } from './framing.js';
import { chunk } from './testing/chunks.js';

test('random frames in random chunkings decode to the same messages', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ payload: fc.uint8Array({ maxLength: 300 }), compressed: fc.boolean() }), { maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      (frames, cuts) => {
        const stream = Buffer.concat(frames.map((f) => encodeFrame(f.payload, f.compressed)));
        const got: { payload: number[]; compressed: boolean }[] = [];
        const errors: MeshError[] = [];
        const decoder = new FrameDecoder((p, compressed) => got.push({ payload: [...p], compressed }), (e) => errors.push(e));
        for (const piece of chunk(stream, cuts)) decoder.push(piece);
        decoder.end();
        assert.deepEqual(errors, []);
        assert.deepEqual(got, frames.map((f) => ({ payload: [...f.payload], compressed: f.compressed })));
      },
    ),
    { numRuns: 300 },
  );
});

test('random garbage never throws out of push: typed errors only, at most one, in bounded time', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
      const errors: unknown[] = [];
      let messages = 0;
      let payloadBytes = 0;
      const decoder = new FrameDecoder((p) => { messages++; payloadBytes += p.length; }, (e) => errors.push(e), { maxMessageSize: 256 });
      const buf = Buffer.from(bytes);
      for (const piece of chunk(buf, cuts)) decoder.push(piece);
      decoder.end();
      assert.ok(errors.length <= 1, 'at most one error');
      for (const e of errors) assert.ok(isMeshError(e) && (e.code === 'XMESH_PROTOCOL' || e.code === 'XMESH_MESSAGE_TOO_LARGE'), String(e));
      // Every delivered message is backed by input bytes: no loop re-emitting.
      assert.ok(messages * 5 + payloadBytes <= buf.length);
      assert.equal(errors.length === 0, decoder.idle && !decoder.failed);
    }),
    { numRuns: 500 },
  );
});
