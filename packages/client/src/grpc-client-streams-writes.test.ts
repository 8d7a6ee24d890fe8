// How the request side of a bidi call hands its writes to the call: the first at once, and those the
// stream buffered while it was in flight together, in one turn, so the transport sends them at once.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type * as grpc from '@grpc/grpc-js';
import { bidiStreamCall } from './grpc-client-streams.js';

type CallStream = grpc.experimental.CallStream;
type MessageContext = Parameters<CallStream['sendMessageWithContext']>[0];

/** A call that records what it is sent; write callbacks run when the test says. */
function recordingChannel(): { channel: grpc.ChannelInterface; sent: { message: string; context: MessageContext }[]; ops: string[] } {
  const sent: { message: string; context: MessageContext }[] = [];
  const ops: string[] = [];
  const call = {
    start: () => ops.push('start'),
    sendMessageWithContext: (context: MessageContext, message: Buffer) => {
      ops.push(`message ${message.toString()}`);
      sent.push({ message: message.toString(), context });
    },
    halfClose: () => ops.push('halfClose'),
    startRead: () => undefined,
    cancelWithStatus: (code: number) => ops.push(`cancel ${code}`),
    getPeer: () => 'test',
  } as unknown as CallStream;
  const channel = { createCall: () => call } as unknown as grpc.ChannelInterface;
  return { channel, sent, ops };
}

const method = {
  path: '/xmesh.test.Streams/Echo',
  serialize: (value: unknown) => {
    if (value === 'unserializable') throw new Error('no bytes for that');
    return Buffer.from(String(value));
  },
  deserialize: (bytes: Buffer) => bytes.toString(),
};

describe('bidi request writes', () => {
  test('writes buffered behind one in flight reach the call together, in order, the last carrying the callback', () => {
    const { channel, sent, ops } = recordingChannel();
    const stream = bidiStreamCall(channel, method, undefined, {});
    const called: string[] = [];
    for (const word of ['a', 'b', 'c', 'd']) stream.write(word, () => called.push(word));
    stream.end();
    assert.deepEqual(ops, ['start', 'message a'], 'the first write goes out; the others wait for its callback');
    sent[0]!.context.callback!();
    assert.deepEqual(ops, ['start', 'message a', 'message b', 'message c', 'message d'], 'the buffered writes, in one turn');
    assert.equal(sent[1]!.context.callback, undefined);
    assert.equal(sent[2]!.context.callback, undefined);
    assert.equal(typeof sent[3]!.context.callback, 'function');
    sent[3]!.context.callback!();
    assert.deepEqual(called, ['a', 'b', 'c', 'd']);
    assert.equal(ops.at(-1), 'halfClose');
  });

  test('a message that fails to serialize in a batch cancels the call with INTERNAL; the rest of the batch is not sent', () => {
    const { channel, sent, ops } = recordingChannel();
    const stream = bidiStreamCall(channel, method, undefined, {});
    stream.on('error', () => undefined);
    for (const word of ['a', 'b', 'unserializable', 'c']) stream.write(word);
    sent[0]!.context.callback!();
    assert.deepEqual(ops, ['start', 'message a', 'message b', 'cancel 13']);
  });
});
