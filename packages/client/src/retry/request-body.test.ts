// Request bodies kept for retries: fixed bodies by size, streamed bodies teed between attempts
// within the buffer limit, the caller's stream stopped when the call ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { requestBodyOf } from './request-body.js';

async function drain(body: unknown): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

test('bytes, strings and no body are sent as they are; kept for a retry only within the limit and when the route retries', () => {
  const none = requestBodyOf(undefined, true, 10);
  assert.equal(none.forAttempt(), null);
  assert.equal(none.replayable, true);
  assert.equal(requestBodyOf(null, false, 10), none, 'one shared object for calls without a body');
  const bytes = Buffer.from('0123456789');
  assert.equal(requestBodyOf(bytes, true, 10).forAttempt(), bytes);
  assert.equal(requestBodyOf(bytes, true, 10).replayable, true);
  assert.equal(requestBodyOf(bytes, true, 9).replayable, false, 'over the limit');
  assert.equal(requestBodyOf(bytes, false, 10).replayable, false, 'the route does not retry');
  assert.equal(requestBodyOf('héllo', true, 5).replayable, false, 'the limit counts bytes, not characters');
  assert.equal(requestBodyOf('héllo', true, 6).replayable, true);
});

test('a stream without retries passes through untouched', () => {
  const stream = Readable.from(['a']);
  const body = requestBodyOf(stream, false, 1024);
  assert.equal(body.forAttempt(), stream);
  assert.equal(body.replayable, false);
});

test('a streamed body flows to the first attempt as it arrives, and a retry gets the kept chunks then the rest', async () => {
  const source = new PassThrough();
  const body = requestBodyOf(source, true, 1024);
  const first = (body.forAttempt() as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  source.write('ab');
  assert.equal(String((await first.next()).value), 'ab', 'not buffered ahead of the upstream');
  source.write('cd');
  assert.equal(String((await first.next()).value), 'cd');
  // The first attempt is given up while it waits for more; the retry must still get every byte.
  const abandoned = first.next();
  const retry = drain(body.forAttempt());
  source.end('ef');
  assert.equal(String(await retry), 'abcdef');
  assert.equal(String((await abandoned).value), 'ef', 'the abandoned attempt saw the same chunk, it was not taken from the retry');
  assert.equal(body.replayable, true);
  assert.equal(String(await drain(body.forAttempt())), 'abcdef', 'a third attempt too');
});

test('past the limit the body is still sent whole, but no longer replayable', async () => {
  const body = requestBodyOf(Readable.from([Buffer.alloc(6, 1), Buffer.alloc(6, 2), Buffer.alloc(6, 3)]), true, 10);
  assert.equal(body.replayable, true);
  const sent = await drain(body.forAttempt());
  assert.equal(sent.length, 18);
  assert.deepEqual([...new Set(sent)], [1, 2, 3]);
  assert.equal(body.replayable, false);
});

test('the caller\'s body failing is recorded (never retried); close() stops a Node stream or an async generator', async () => {
  const failing = new Readable({ read() {} });
  const body = requestBodyOf(failing, true, 1024);
  const sending = drain(body.forAttempt());
  failing.destroy(new Error('caller gave up'));
  await assert.rejects(sending, /caller gave up/);
  assert.equal(body.sourceError?.message, 'caller gave up');
  assert.equal(body.replayable, false);

  const stream = new PassThrough();
  requestBodyOf(stream, true, 1024).close(new Error('answered locally'));
  assert.equal(stream.destroyed, true);
  let finished = false;
  const generator = (async function* () {
    try {
      yield Buffer.from('x');
      await new Promise(() => {});
    } finally {
      finished = true;
    }
  })();
  const teed = requestBodyOf(generator, true, 1024);
  const reader = (teed.forAttempt() as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  await reader.next();
  teed.close(new Error('answered locally'));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(finished, true, 'the generator was asked to return');
  assert.equal(teed.replayable, false);
});
