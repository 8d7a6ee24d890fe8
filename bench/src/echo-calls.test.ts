import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type { EchoClient } from '@xmesh/example-quickstart';
import { benchPayload, echoBidiCall, echoStreamCall, echoUnaryCall, stockEchoCalls } from './echo-calls.js';

/** A client whose ServerStream sends `replies` messages then the status `code`, and records the request. */
function fakeClient(replies: number, code: number, seen: unknown[] = []): EchoClient {
  return {
    /** Echoes each request written (at most `replies`), then the status `code` once ended. */
    bidi() {
      const stream = Object.assign(new EventEmitter(), {
        echoed: 0,
        write(request: unknown) {
          seen.push(request);
          if (stream.echoed++ < replies) setImmediate(() => stream.emit('data', {}));
        },
        end() {
          setImmediate(() => {
            if (code !== 0) stream.emit('error', new Error('boom'));
            stream.emit('status', { code, details: code === 0 ? 'OK' : 'boom' });
          });
        },
      });
      return stream;
    },
    serverStream(request: unknown) {
      seen.push(request);
      const stream = new EventEmitter();
      setImmediate(() => {
        for (let i = 0; i < replies; i++) stream.emit('data', {});
        if (code !== 0) stream.emit('error', new Error('boom'));
        stream.emit('status', { code, details: code === 0 ? 'OK' : 'boom' });
      });
      return stream;
    },
    echo(request: unknown, callback: (err: Error | null) => void) {
      seen.push(request);
      setImmediate(() => callback(null));
    },
  } as unknown as EchoClient;
}

test('a stream call resolves after exactly the asked number of replies and status OK', async () => {
  const seen: unknown[] = [];
  await echoStreamCall(fakeClient(3, 0, seen), benchPayload(7), 3)();
  assert.deepEqual(seen, [{ message: 'bench', payload: Buffer.from('aaaaaaa'), count: 3 }]);
});

test('a stream call rejects on a short stream or a failed status', async () => {
  await assert.rejects(echoStreamCall(fakeClient(2, 0), benchPayload(1), 3)(), /ServerStream: 2 of 3 replies/);
  await assert.rejects(echoStreamCall(fakeClient(3, 14), benchPayload(1), 3)(), /ServerStream ended with status 14: boom/);
});

test('a bidi call writes the asked number of requests, resolves after as many echoes and status OK, rejects otherwise', async () => {
  const seen: unknown[] = [];
  await echoBidiCall(fakeClient(3, 0, seen), benchPayload(2), 3)();
  assert.deepEqual(seen, [0, 1, 2].map(() => ({ message: 'bench', payload: Buffer.from('aa') })));
  await assert.rejects(echoBidiCall(fakeClient(2, 0), benchPayload(1), 3)(), /Bidi: 2 of 3 echoes/);
  await assert.rejects(echoBidiCall(fakeClient(3, 14), benchPayload(1), 3)(), /Bidi ended with status 14: boom/);
});

test('the stock call factory maps each workload to its call and payload size', async () => {
  const seen: { payload: Buffer; count?: number }[] = [];
  const calls = stockEchoCalls(fakeClient(4, 0, seen));
  await calls({ kind: 'unary', payloadBytes: 1024 })!();
  await calls({ kind: 'stream', payloadBytes: 100, messages: 4 })!();
  await calls({ kind: 'bidi', payloadBytes: 10, messages: 2 })!();
  assert.deepEqual(
    seen.map((r) => [r.payload.length, r.count]),
    [
      [1024, undefined],
      [100, 4],
      [10, undefined],
      [10, undefined],
    ],
  );
  await echoUnaryCall(fakeClient(0, 0), benchPayload(0))();
});
