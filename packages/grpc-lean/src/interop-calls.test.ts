/**
 * Conformance-style suite of the lean transport against two servers nobody
 * here wrote: stock @grpc/grpc-js and @connectrpc/connect-node (gRPC protocol).
 * Every case runs on the fast path; the grpc-js `Client` path (LeanChannel as
 * `channelOverride`) runs where the Client layer changes the behaviour.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { LeanChannel } from './lean-channel.js';
import { decodeMetadata } from './metadata.js';
import { GrpcStatus } from './status.js';
import { clientUnary, echoClient, fastStream, fastUnary, BIDI_PATH, CLIENT_STREAM_PATH, ECHO_PATH, SERVER_STREAM_PATH, type EchoClient } from './testing/calls.js';
import { startConnectPeer } from './testing/connect-peer.js';
import { decodeReply, decodeStatusDetails, encodeRequest, type EchoReplyShape } from './testing/echo-proto.js';
import { startGrpcJsPeer } from './testing/grpc-js-peer.js';
import type { EchoPeer } from './testing/peer.js';

const PEERS = [
  { name: 'grpc-js', start: startGrpcJsPeer },
  { name: 'connect', start: startConnectPeer },
] as const;

for (const peerKind of PEERS) {
  describe(`lean transport against a ${peerKind.name} server`, () => {
    let peer: EchoPeer;
    let channel: LeanChannel;
    let client: EchoClient;
    let target: string;

    before(async () => {
      peer = await peerKind.start(0);
      target = `127.0.0.1:${peer.port}`;
      channel = new LeanChannel(target);
      client = echoClient(target, { channelOverride: channel as unknown as grpc.Channel });
    });

    after(async () => {
      channel.close();
      await peer.close();
    });

    test('unary on the fast path and through a grpc-js Client', async () => {
      const payload = Buffer.from([0, 1, 2, 3, 254, 255]);
      const fast = await fastUnary(channel, { message: 'hello', payload });
      assert.equal(fast.error, null);
      assert.equal(fast.reply?.message, 'hello');
      assert.deepEqual(Buffer.from(fast.reply!.payload), payload);
      assert.equal(fast.reply?.server, `${peerKind.name}|enc=identity`);
      const viaClient = await clientUnary(client, { message: 'hello client', payload });
      assert.equal(viaClient.error, null);
      assert.equal(viaClient.reply?.message, 'hello client');
      assert.equal(viaClient.status?.code, grpc.status.OK);
    });

    test('server streaming delivers every message in order, then the status', async () => {
      const outcome = await fastStream(channel, SERVER_STREAM_PATH, [{ message: 'm', count: 5 }]);
      assert.deepEqual(outcome.replies.map((r) => r.message), ['m#0', 'm#1', 'm#2', 'm#3', 'm#4']);
      assert.equal(outcome.code, GrpcStatus.OK);
      const failing = await fastStream(channel, SERVER_STREAM_PATH, [{ message: 'fail-after', count: 2 }]);
      assert.equal(failing.replies.length, 2);
      assert.equal(failing.code, GrpcStatus.ABORTED);

      const messages: string[] = [];
      const stream = client.ServerStream(encodeRequest({ message: 'c', count: 3 }));
      const status = await new Promise<grpc.StatusObject>((resolve, reject) => {
        stream.on('data', (bytes: Buffer) => messages.push(decodeReply(bytes).message));
        stream.on('status', resolve);
        stream.on('error', reject);
      });
      assert.deepEqual(messages, ['c#0', 'c#1', 'c#2']);
      assert.equal(status.code, grpc.status.OK);
    });

    test('client streaming sends every message before the reply', async () => {
      const outcome = await fastStream(channel, CLIENT_STREAM_PATH, [{ message: 'a' }, { message: 'b' }, { message: 'c' }]);
      assert.equal(outcome.code, GrpcStatus.OK);
      assert.deepEqual(outcome.replies.map((r) => r.message), ['a,b,c']);

      const reply = await new Promise<EchoReplyShape>((resolve, reject) => {
        const call = client.ClientStream((error: grpc.ServiceError | null, bytes: Buffer) => (error ? reject(error) : resolve(decodeReply(bytes))));
        for (const message of ['x', 'y']) call.write(encodeRequest({ message }));
        call.end();
      });
      assert.equal(reply.message, 'x,y');
    });

    test('bidi streaming answers each message before the next is sent', async () => {
      const received: string[] = [];
      const status = await new Promise<number>((resolve) => {
        let sent = 0;
        const stream = channel.stream(BIDI_PATH, undefined, undefined, {
          onMessage(bytes) {
            received.push(decodeReply(bytes).message);
            if (++sent < 3) stream.write(encodeRequest({ message: `ping${sent}` }));
            else stream.end();
          },
          onStatus: (code) => resolve(code),
        });
        stream.write(encodeRequest({ message: 'ping0' }));
      });
      assert.equal(status, GrpcStatus.OK);
      assert.deepEqual(received, ['ping0', 'ping1', 'ping2']);

      const viaClient: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const duplex = client.Bidi();
        duplex.on('data', (bytes: Buffer) => {
          viaClient.push(decodeReply(bytes).message);
          if (viaClient.length < 2) duplex.write(encodeRequest({ message: 'second' }));
          else duplex.end();
        });
        duplex.on('status', () => resolve());
        duplex.on('error', reject);
        duplex.write(encodeRequest({ message: 'first' }));
      });
      assert.deepEqual(viaClient, ['first', 'second']);
    });

    test('request and response metadata round trip, including -bin values', async () => {
      const blob = Buffer.from([0, 1, 2, 250, 255]);
      const outcome = await fastStream(channel, ECHO_PATH, [{ message: 'meta' }], { 'x-token': 'abc', 'x-blob-bin': blob });
      assert.equal(outcome.code, GrpcStatus.OK);
      const headers = decodeMetadata(outcome.headers!);
      assert.deepEqual(headers['x-echo-token'], ['abc']);
      assert.deepEqual(headers['x-echo-blob-bin'], [blob]);
      assert.deepEqual(decodeMetadata(outcome.trailers!)['x-trailer'], ['done']);

      const metadata = new grpc.Metadata();
      metadata.set('x-token', 'from-client');
      metadata.set('x-blob-bin', blob);
      const viaClient = await clientUnary(client, { message: 'meta' }, metadata);
      assert.deepEqual(viaClient.headers?.get('x-echo-token'), ['from-client']);
      assert.deepEqual(viaClient.headers?.get('x-echo-blob-bin'), [blob]);
      assert.deepEqual(viaClient.status?.metadata.get('x-trailer'), ['done']);
      assert.deepEqual(viaClient.status?.metadata.get('grpc-status'), []);
    });

    test('a deadline that passes ends the call with DEADLINE_EXCEEDED', async () => {
      const started = Date.now();
      // The server would answer after 30 s: only the deadlines can end these calls, however late their timers run.
      const fast = await fastUnary(channel, { message: 'sleep:30000' }, undefined, Date.now() + 150);
      assert.equal(fast.error?.code, GrpcStatus.DEADLINE_EXCEEDED);
      const viaClient = await clientUnary(client, { message: 'sleep:30000' }, undefined, { deadline: Date.now() + 150 });
      assert.equal(viaClient.error?.code, grpc.status.DEADLINE_EXCEEDED);
      assert.ok(Date.now() - started < 10_000, 'deadlines fire long before the server would answer');
      const inTime = await fastUnary(channel, { message: 'sleep:10' }, undefined, Date.now() + 5000);
      assert.equal(inTime.error, null);
    });

    test('client cancellation resets the stream and the server sees it', async () => {
      const seen = new Promise<void>((resolve) => (peer.events.onCancelled = resolve));
      const before = peer.events.cancelledCalls;
      const outcome = new Promise<number>((resolve) => {
        const call = channel.unary(ECHO_PATH, encodeRequest({ message: 'hang' }), undefined, undefined, (error) => resolve(error?.code ?? 0));
        setTimeout(() => call.cancel(GrpcStatus.CANCELLED, 'Cancelled on client'), 50);
      });
      assert.equal(await outcome, GrpcStatus.CANCELLED);
      await seen;
      assert.equal(peer.events.cancelledCalls, before + 1);

      const seenAgain = new Promise<void>((resolve) => (peer.events.onCancelled = resolve));
      const viaClient = await new Promise<grpc.ServiceError>((resolve) => {
        const call = client.Echo(encodeRequest({ message: 'hang' }), (error: grpc.ServiceError) => resolve(error));
        setTimeout(() => call.cancel(), 50);
      });
      assert.equal(viaClient.code, grpc.status.CANCELLED);
      await seenAgain;
      assert.equal(peer.events.cancelledCalls, before + 2);
    });

    test('cancelling a bidi stream mid-call reaches the server', async () => {
      const seen = new Promise<void>((resolve) => (peer.events.onCancelled = resolve));
      const code = await new Promise<number>((resolve) => {
        const stream = channel.stream(BIDI_PATH, undefined, undefined, {
          onMessage: () => stream.cancelCall(),
          onStatus: (status) => resolve(status),
        });
        stream.write(encodeRequest({ message: 'first' }));
      });
      assert.equal(code, GrpcStatus.CANCELLED);
      await seen;

      const seenAgain = new Promise<void>((resolve) => (peer.events.onCancelled = resolve));
      const viaClient = await new Promise<grpc.StatusObject>((resolve) => {
        const duplex = client.Bidi();
        duplex.on('data', () => duplex.cancel());
        duplex.on('error', () => {});
        duplex.on('status', resolve);
        duplex.write(encodeRequest({ message: 'first' }));
      });
      assert.equal(viaClient.code, grpc.status.CANCELLED);
      await seenAgain;
    });

    test('server cancellation reaches the client as CANCELLED', async () => {
      const fast = await fastUnary(channel, { message: 'cancel' });
      assert.equal(fast.error?.code, GrpcStatus.CANCELLED);
      assert.equal(fast.error?.details, 'cancelled by server');
      const viaClient = await clientUnary(client, { message: 'cancel' });
      assert.equal(viaClient.error?.code, grpc.status.CANCELLED);
    });

    // grpc-js answers a failure before any message with a trailers-only response;
    // connect-node sends response headers, then trailers. Both must give the same status.
    test('every status code arrives with details, trailers and status details', async () => {
      for (let code = 1; code <= 16; code++) {
        const details = `failure ${code}`;
        const outcome = await fastStream(channel, ECHO_PATH, [{ message: `fail:${code}:${details}` }]);
        assert.equal(outcome.code, code, `code ${code}`);
        assert.equal(outcome.details, details);
        if (peerKind.name === 'grpc-js') assert.equal(outcome.headers, null, 'trailers-only: no separate response headers');
        assert.equal(outcome.replies.length, 0);
        const trailers = decodeMetadata(outcome.trailers!);
        assert.deepEqual(trailers['x-trailer'], ['failed']);
        const statusDetails = decodeStatusDetails(trailers['grpc-status-details-bin']![0] as Buffer);
        assert.equal(statusDetails.code, code);
        assert.equal(statusDetails.details[0]?.type_url, 'type.googleapis.com/xmesh.echo.EchoReply');
        assert.equal(decodeReply(statusDetails.details[0]!.value).message, 'detail');
      }
      const viaClient = await clientUnary(client, { message: 'fail:7:denied' });
      assert.equal(viaClient.error?.code, grpc.status.PERMISSION_DENIED);
      assert.equal(viaClient.error?.details, 'denied');
      const detailsBin = viaClient.error?.metadata.get('grpc-status-details-bin')[0] as Buffer;
      assert.equal(decodeStatusDetails(detailsBin).code, 7);
    });

    test('grpc-message is percent-decoded', async () => {
      const details = 'naïve 100% done: ✓ tab\there';
      const fast = await fastUnary(channel, { message: `fail:9:${details}` });
      assert.equal(fast.error?.code, GrpcStatus.FAILED_PRECONDITION);
      assert.equal(fast.error?.details, details);
      const detailsBin = fast.error?.statusDetailsBin();
      assert.ok(detailsBin !== undefined && decodeStatusDetails(detailsBin).code === 9);
    });

    test('gzip request messages are accepted by the server', async () => {
      const gzipChannel = new LeanChannel(target, { 'grpc.default_compression_algorithm': 2 });
      try {
        const payload = Buffer.alloc(64 * 1024, 'a');
        const outcome = await fastUnary(gzipChannel, { message: 'echo', payload });
        assert.equal(outcome.error, null);
        assert.equal(outcome.reply?.payload.length, payload.length);
        if (peerKind.name === 'connect') assert.equal(outcome.reply?.server, 'connect|enc=gzip');
        const stream = await fastStream(gzipChannel, CLIENT_STREAM_PATH, [{ message: 'g1', payload }, { message: 'g2', payload }]);
        assert.equal(stream.replies[0]?.message, 'g1,g2');
      } finally {
        gzipChannel.close();
      }
    });

    test('gzip response messages are inflated', async (t) => {
      if (peerKind.name === 'grpc-js') {
        // grpc-js servers never compress responses (server-interceptors.ts: "response compression is
        // currently not supported"); compressed responses are covered by connect here and by the raw
        // HTTP/2 peer in stream-call.test.ts.
        t.skip('grpc-js servers do not compress responses');
        return;
      }
      const compressing = await peerKind.start(0, { compressResponses: true });
      const gzipChannel = new LeanChannel(`127.0.0.1:${compressing.port}`);
      try {
        const outcome = await fastStream(gzipChannel, ECHO_PATH, [{ message: 'big:100000' }]);
        assert.equal(outcome.code, GrpcStatus.OK);
        assert.equal(outcome.headers?.['grpc-encoding'], 'gzip');
        assert.deepEqual(Buffer.from(outcome.replies[0]!.payload), Buffer.alloc(100000, 'x'));
      } finally {
        gzipChannel.close();
        await compressing.close();
      }
    });

    test('oversized messages end with RESOURCE_EXHAUSTED on either side', async () => {
      const limited = new LeanChannel(target, { 'grpc.max_receive_message_length': 1024, 'grpc.max_send_message_length': 2048 });
      try {
        const tooBigReply = await fastUnary(limited, { message: 'big:4096' });
        assert.equal(tooBigReply.error?.code, GrpcStatus.RESOURCE_EXHAUSTED);
        const tooBigRequest = await fastUnary(limited, { message: 'echo', payload: Buffer.alloc(4096) });
        assert.equal(tooBigRequest.error?.code, GrpcStatus.RESOURCE_EXHAUSTED);
        assert.match(tooBigRequest.error!.details, /Sent message larger than max/);
        const fits = await fastUnary(limited, { message: 'big:512' });
        assert.equal(fits.error, null);
      } finally {
        limited.close();
      }
      const overServerLimit = await fastUnary(channel, { message: 'echo', payload: Buffer.alloc(5 * 1024 * 1024) });
      assert.equal(overServerLimit.error?.code, GrpcStatus.RESOURCE_EXHAUSTED);
    });
  });
}
