/**
 * A session's stream limit follows the server's SETTINGS for the whole connection, not only the
 * first frame: against a stock node:http2 server that lowers MAX_CONCURRENT_STREAMS mid-connection.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Http2Session, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { LeanCallError } from './call-error.js';
import { LeanChannel } from './lean-channel.js';

/** An empty gRPC reply message (flag 0, length 0). */
const EMPTY_MESSAGE = Buffer.alloc(5);

function unary(channel: LeanChannel): Promise<LeanCallError | null> {
  return new Promise((resolve) => channel.unary('/test.Svc/Call', Buffer.alloc(0), undefined, undefined, (error) => resolve(error)));
}

test('a SETTINGS frame lowering MAX_CONCURRENT_STREAMS mid-connection sends the calls past it to another connection', async () => {
  const active = new Map<Http2Session, number>();
  const peak = new Map<Http2Session, number>();
  const sessions: Http2Session[] = [];
  const server = createServer({ settings: { maxConcurrentStreams: 100 } });
  server.on('session', (session) => sessions.push(session));
  server.on('stream', (stream: ServerHttp2Stream) => {
    const session = stream.session!;
    const now = (active.get(session) ?? 0) + 1;
    active.set(session, now);
    peak.set(session, Math.max(peak.get(session) ?? 0, now));
    stream.on('error', () => undefined);
    stream.on('data', () => undefined);
    stream.on('end', () => {
      // Held a little, so calls sent together overlap when the client lets them.
      setTimeout(() => {
        active.set(session, active.get(session)! - 1);
        if (stream.destroyed) return;
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(EMPTY_MESSAGE);
      }, 20);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const channel = new LeanChannel(`127.0.0.1:${(server.address() as AddressInfo).port}`);
  try {
    assert.equal(await unary(channel), null);
    const first = sessions[0]!;
    // The callback runs once the client acknowledged the new SETTINGS.
    await new Promise<void>((resolve, reject) => first.settings({ maxConcurrentStreams: 1 }, (error) => (error ? reject(error) : resolve())));
    peak.set(first, active.get(first) ?? 0);
    const errors = await Promise.all(Array.from({ length: 4 }, () => unary(channel)));
    assert.deepEqual(errors, [null, null, null, null]);
    assert.equal(peak.get(first), 1, 'the first connection carried more than one stream at a time after its server lowered the limit to 1');
    // The calls the first connection had no room for went to another one (the pool saw the new limit,
    // rather than leaving node:http2 to hold them back on the full connection).
    assert.ok(sessions.length >= 2, `all ${errors.length} calls went to the one connection whose limit is 1`);
  } finally {
    channel.close();
    for (const session of sessions) session.destroy();
    server.close();
  }
});
