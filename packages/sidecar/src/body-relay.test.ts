import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { BodyRelay } from './body-relay.js';

function collect(sink: PassThrough): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    sink.setEncoding('utf8');
    sink.on('data', (c: string) => (text += c));
    sink.on('end', () => resolve(text));
  });
}

test('a replayable body is sent whole to a second sink: kept chunks, then the live rest', async () => {
  const source = new PassThrough();
  const relay = new BodyRelay(source, true);
  const first = new PassThrough();
  const firstText = collect(first);
  assert.equal(relay.attach(first), true);
  source.write('ab');
  source.write('cd');
  await new Promise((r) => setImmediate(r));
  first.destroy();
  const second = new PassThrough();
  const secondText = collect(second);
  assert.equal(relay.attach(second), true);
  source.end('ef');
  assert.equal(await secondText, 'abcdef');
  void firstText;
});

test('a body attached after it ended is replayed and ended', async () => {
  const source = new PassThrough();
  const relay = new BodyRelay(source, true);
  const first = new PassThrough();
  const firstText = collect(first);
  relay.attach(first);
  source.end('whole');
  assert.equal(await firstText, 'whole');
  const second = new PassThrough();
  const secondText = collect(second);
  assert.equal(relay.attach(second), true);
  assert.equal(await secondText, 'whole');
});

test('past the limit, or without keeping, the body cannot be replayed', async () => {
  const source = new PassThrough();
  const relay = new BodyRelay(source, true, 4);
  const first = new PassThrough();
  const firstText = collect(first);
  relay.attach(first);
  source.end('12345');
  assert.equal(await firstText, '12345');
  assert.equal(relay.replayable, false);
  assert.equal(relay.attach(new PassThrough()), false);

  const streamed = new BodyRelay(new PassThrough(), false);
  assert.equal(streamed.replayable, true, 'nothing was read yet');
  streamed.attach(new PassThrough());
  assert.equal(streamed.replayable, false);
});

test('backpressure: a full sink pauses the source until it drains', async () => {
  const source = new PassThrough();
  const relay = new BodyRelay(source, false);
  const sink = new PassThrough({ highWaterMark: 4 });
  relay.attach(sink);
  source.write('123456789');
  await new Promise((r) => setImmediate(r));
  assert.equal(source.isPaused(), true);
  sink.resume();
  await new Promise((r) => setImmediate(r));
  assert.equal(source.isPaused(), false);
});
