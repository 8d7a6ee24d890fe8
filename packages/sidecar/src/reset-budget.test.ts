import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type ServerHttp2Stream } from 'node:http2';
import { budgetResets, cancelUpstream, isRetired, RESET_BURST, upstreamClosed, upstreamOpened } from './reset-budget.js';

test('over the reset budget a cancelled stream is abandoned, never ended: the upstream never sees a truncated body as complete', async () => {
  // A stock node http2 server recording, per request, whether its body ended or the stream was aborted.
  const outcomes = new Map<string, 'ended' | 'aborted'>();
  const server = createServer();
  server.on('stream', (stream: ServerHttp2Stream, headers) => {
    const path = String(headers[':path']);
    stream.on('error', () => undefined);
    stream.resume();
    // Node ends the readable side of an aborted stream too: only a body the client ended counts.
    stream.on('end', () => {
      if (stream.aborted || stream.destroyed || stream.closed) return;
      outcomes.set(path, 'ended');
      stream.respond({ ':status': 200 }, { endStream: true });
    });
    stream.on('aborted', () => outcomes.set(path, outcomes.get(path) ?? 'aborted'));
    stream.on('close', () => outcomes.set(path, outcomes.get(path) ?? 'aborted'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const session = connect(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
  session.on('error', () => undefined);
  budgetResets(session);
  try {
    const open = (path: string) => {
      const stream = session.request({ ':method': 'POST', ':path': path }, { endStream: false });
      stream.on('error', () => undefined);
      upstreamOpened(stream);
      stream.once('close', () => upstreamClosed(stream, session));
      return stream;
    };
    // A call still running keeps the retired session open; the truncated one has sent half its body.
    const running = open('/running');
    const truncated = open('/truncated');
    truncated.write('half of the body');
    // Spend the budget (RST_STREAM each; it refills at RESETS_PER_SECOND while this runs) until a cancel finds none
    // left and retires the session. All in one tick: no time for a refill before the next cancel.
    let spent = 0;
    while (!isRetired(session) && spent < RESET_BURST * 20) cancelUpstream(open(`/spent/${spent++}`));
    assert.equal(isRetired(session), true, 'over the budget the session is retired');
    assert.ok(spent > RESET_BURST, `${spent} cancels`);
    cancelUpstream(truncated);
    assert.equal(truncated.writableEnded, false, 'the truncated request was not ended');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(outcomes.get('/truncated'), undefined, 'the upstream has not seen it end');
    // The running call ends; only the abandoned stream is left: the session is closed, and the upstream sees the abort.
    running.end();
    running.resume();
    await new Promise<void>((resolve) => session.once('close', () => resolve()));
    for (let i = 0; i < 200 && outcomes.get('/truncated') === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    assert.equal(outcomes.get('/truncated'), 'aborted');
  } finally {
    session.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
