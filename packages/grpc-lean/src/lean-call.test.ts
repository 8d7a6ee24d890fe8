import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { LeanChannel } from './lean-channel.js';
import { echoClient, type EchoClient } from './testing/calls.js';
import { decodeReply, encodeRequest } from './testing/echo-proto.js';
import { startGrpcJsPeer } from './testing/grpc-js-peer.js';
import type { EchoPeer } from './testing/peer.js';

let peer: EchoPeer;
let channel: LeanChannel;
let client: EchoClient;

before(async () => {
  peer = await startGrpcJsPeer(0);
  channel = new LeanChannel(`127.0.0.1:${peer.port}`);
  client = echoClient(`127.0.0.1:${peer.port}`, { channelOverride: channel as unknown as grpc.Channel });
});

after(async () => {
  channel.close();
  await peer.close();
});

test('a paused grpc-js reader holds messages back (one per startRead) and gets the status last', async () => {
  const payload = Buffer.alloc(64 * 1024, 1);
  const stream = client.ServerStream(encodeRequest({ message: 'm', count: 40, payload }), { highWaterMark: 1 } as never);
  stream.pause();
  await new Promise((resolve) => setTimeout(resolve, 200));
  // The Client asks for one message per startRead(); the rest wait in the transport (its HTTP/2 stream paused).
  assert.ok(stream.readableLength <= 2, `buffered ${stream.readableLength} messages while paused`);
  const events: string[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (bytes: Buffer) => events.push(decodeReply(bytes).message));
    stream.on('status', (status: grpc.StatusObject) => {
      events.push(`status ${status.code}`);
      resolve();
    });
    stream.on('error', reject);
    stream.resume();
  });
  assert.equal(events.length, 41);
  assert.equal(events[39], 'm#39');
  assert.equal(events[40], `status ${grpc.status.OK}`);
});

test('getPeer and call numbers come from the lean channel', () => {
  const call = channel.createCall('/xmesh.echo.Echo/Echo', Infinity, undefined, null, 0);
  assert.equal(call.getPeer(), `127.0.0.1:${peer.port}`);
  const next = channel.createCall('/xmesh.echo.Echo/Echo', Infinity, undefined, null, 0);
  assert.equal(next.getCallNumber(), call.getCallNumber() + 1);
  call.cancelWithStatus(grpc.status.CANCELLED, 'unused');
  next.cancelWithStatus(grpc.status.CANCELLED, 'unused');
});
