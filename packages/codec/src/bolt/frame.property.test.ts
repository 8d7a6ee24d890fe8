/** Property tests: Bolt frames in arbitrary chunkings decode to the same frames; garbage fails only through the error callback. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isMeshError, type MeshError } from '@xmesh/core';
import { BoltDecoder, encodeBoltHeartbeat, encodeBoltHeartbeatAck, encodeBoltRequest, encodeBoltResponse, type BoltFrame } from './frame.js';
import { decodeBoltHeaders, encodeBoltHeaders } from './headers.js';
import { chunk } from '../testing/chunks.js';

const text = fc.string({ maxLength: 20 });
const frameArb = fc.oneof(
  fc.record({
    kind: fc.constant('request' as const),
    id: fc.nat(),
    codec: fc.constantFrom(1, 11),
    timeout: fc.nat({ max: 100_000 }),
    className: fc.string({ maxLength: 60 }),
    headers: fc.array(fc.tuple(text, text), { maxLength: 5 }),
    content: fc.uint8Array({ maxLength: 300 }),
    oneway: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('response' as const),
    id: fc.nat(),
    codec: fc.constantFrom(1, 11),
    status: fc.nat({ max: 0x12 }),
    className: fc.string({ maxLength: 60 }),
    headers: fc.array(fc.tuple(text, text), { maxLength: 5 }),
    content: fc.uint8Array({ maxLength: 300 }),
  }),
  fc.record({ kind: fc.constant('heartbeat' as const), id: fc.nat(), codec: fc.constantFrom(1, 11) }),
  fc.record({ kind: fc.constant('heartbeat_ack' as const), id: fc.nat(), codec: fc.constantFrom(1, 11) }),
);
type FrameSpec = typeof frameArb extends fc.Arbitrary<infer T> ? T : never;

function encode(spec: FrameSpec): Buffer {
  switch (spec.kind) {
    case 'request':
      return encodeBoltRequest({ ...spec, className: Buffer.from(spec.className, 'latin1'), header: encodeBoltHeaders(spec.headers) });
    case 'response':
      return encodeBoltResponse({ ...spec, className: Buffer.from(spec.className, 'latin1'), header: encodeBoltHeaders(spec.headers) });
    case 'heartbeat':
      return encodeBoltHeartbeat(spec.id, spec.codec);
    case 'heartbeat_ack':
      return encodeBoltHeartbeatAck(spec.id, spec.codec);
  }
}

function summary(frame: BoltFrame): unknown {
  return { kind: frame.kind, id: frame.id, codec: frame.codec, content: [...frame.content], headers: [...decodeBoltHeaders(frame.header)] };
}

test('random Bolt frames in random chunkings decode to the same frames, fields and raw bytes', () => {
  fc.assert(
    fc.property(fc.array(frameArb, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 25 }), (specs, cuts) => {
      const encoded = specs.map(encode);
      const stream = Buffer.concat(encoded);
      const got: BoltFrame[] = [];
      const errors: MeshError[] = [];
      const decoder = new BoltDecoder((f) => got.push(f), (e) => errors.push(e));
      for (const piece of chunk(stream, cuts)) decoder.push(piece);
      decoder.end();
      assert.deepEqual(errors, []);
      assert.equal(got.length, specs.length);
      got.forEach((frame, i) => {
        const spec = specs[i]!;
        assert.deepEqual([...frame.raw], [...encoded[i]!]);
        assert.equal(frame.kind, spec.kind);
        assert.equal(frame.id, spec.id);
        assert.equal(frame.codec, spec.codec);
        if (spec.kind === 'request') {
          assert.equal(frame.timeout, spec.timeout);
          assert.equal(frame.type, spec.oneway ? 2 : 1);
          assert.equal(frame.className.toString('latin1'), spec.className);
        }
        if (spec.kind === 'response') assert.equal(frame.status, spec.status);
        if (spec.kind === 'request' || spec.kind === 'response') {
          assert.deepEqual([...frame.content], [...spec.content]);
          assert.deepEqual(decodeBoltHeaders(frame.header), new Map(spec.headers));
        }
      });
      assert.ok(got.every((f) => summary(f) !== undefined));
    }),
    { numRuns: 300 },
  );
});

test('random garbage never throws out of push: one typed error at most, bounded frames, nothing buffered past the limit', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(), { maxLength: 10 }), fc.boolean(), (bytes, cuts, boltPrefix) => {
      // Half the cases start like a Bolt frame so the decoder gets past the first byte.
      const buf = Buffer.from(bytes);
      if (boltPrefix && buf.length > 1) {
        buf[0] = 1;
        buf[1] = buf[1]! % 3;
      }
      const errors: unknown[] = [];
      let frames = 0;
      let frameBytes = 0;
      const decoder = new BoltDecoder((f) => { frames++; frameBytes += f.raw.length; }, (e) => errors.push(e), { maxFrameSize: 256 });
      for (const piece of chunk(buf, cuts)) decoder.push(piece);
      decoder.end();
      assert.ok(errors.length <= 1, 'at most one error');
      for (const e of errors) assert.ok(isMeshError(e) && (e.code === 'XMESH_PROTOCOL' || e.code === 'XMESH_MESSAGE_TOO_LARGE'), String(e));
      assert.ok(frameBytes <= buf.length && frames * 20 <= buf.length, 'every frame is backed by input bytes');
      assert.equal(errors.length === 0, decoder.idle && !decoder.failed);
    }),
    { numRuns: 1000 },
  );
});

test('random header maps round-trip; truncated or corrupted maps fail with XMESH_PROTOCOL only', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.string(), fc.string()), { maxLength: 8 }), fc.nat(), fc.nat({ max: 255 }), (entries, cut, byte) => {
      const encoded = encodeBoltHeaders(entries);
      assert.deepEqual(decodeBoltHeaders(encoded), new Map(entries));
      const damaged = Buffer.from(encoded.subarray(0, encoded.length === 0 ? 0 : cut % encoded.length));
      if (damaged.length > 0) damaged[cut % damaged.length] = byte;
      try {
        decodeBoltHeaders(damaged);
      } catch (error) {
        assert.ok(isMeshError(error) && error.code === 'XMESH_PROTOCOL', String(error));
      }
    }),
    { numRuns: 500 },
  );
});
