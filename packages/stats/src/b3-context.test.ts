// B3 propagation as Envoy's Zipkin tracer writes it: the caller's context from the single `b3`
// header or the multi headers, a shared or a child span, new roots, malformed contexts left alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b3Headers, type B3Settings } from './b3-context.js';

const read = (headers: Record<string, string>, name: string): string | undefined => headers[name];
const CHILD: B3Settings = { traceId128Bit: false, sharedSpanContext: false };
const SHARED: B3Settings = { traceId128Bit: false, sharedSpanContext: true };
const yes = () => true;
const no = () => false;

const TRACE = '463ac35c9f6413ad48485a3953bb6124';
const SPAN = 'a2fb4a1d1a96d312';
const PARENT = '0020000000000001';

test('multi headers, a span of its own: same trace id, new span id, the caller\'s span as parent, the caller\'s flag', () => {
  const out = b3Headers({ 'x-b3-traceid': TRACE, 'x-b3-spanid': SPAN, 'x-b3-parentspanid': PARENT, 'x-b3-sampled': '0' }, read, CHILD, yes)!;
  assert.equal(out['x-b3-traceid'], TRACE);
  assert.match(out['x-b3-spanid'], /^[0-9a-f]{16}$/);
  assert.notEqual(out['x-b3-spanid'], SPAN);
  assert.equal(out['x-b3-parentspanid'], SPAN);
  assert.equal(out['x-b3-sampled'], '0');
});

test('multi headers, a shared span (Envoy\'s default inbound): the caller\'s ids go on; no parent when the caller had none', () => {
  assert.deepEqual(b3Headers({ 'x-b3-traceid': TRACE, 'x-b3-spanid': SPAN, 'x-b3-parentspanid': PARENT, 'x-b3-sampled': 'true' }, read, SHARED, no),
    { 'x-b3-traceid': TRACE, 'x-b3-spanid': SPAN, 'x-b3-parentspanid': PARENT, 'x-b3-sampled': '1' });
  assert.deepEqual(b3Headers({ 'x-b3-traceid': 'ABC', 'x-b3-spanid': 'F' }, read, SHARED, yes),
    { 'x-b3-traceid': '0000000000000abc', 'x-b3-spanid': '000000000000000f', 'x-b3-sampled': '1' }, 'ids are written as 16 lower-case digits');
  assert.equal(b3Headers({ 'x-b3-traceid': `0000000000000000${SPAN}`, 'x-b3-spanid': SPAN }, read, SHARED, yes)!['x-b3-traceid'], SPAN, 'a zero high half is a 64-bit id');
});

test('the single b3 header: every length Envoy reads, its sampling flag (d is sampled), 128-bit ids', () => {
  assert.deepEqual(b3Headers({ b3: `${TRACE}-${SPAN}-1-${PARENT}` }, read, SHARED, no), { 'x-b3-traceid': TRACE, 'x-b3-spanid': SPAN, 'x-b3-parentspanid': PARENT, 'x-b3-sampled': '1' });
  assert.deepEqual(b3Headers({ b3: `${SPAN}-${PARENT}-d` }, read, SHARED, no), { 'x-b3-traceid': SPAN, 'x-b3-spanid': PARENT, 'x-b3-sampled': '1' });
  assert.deepEqual(b3Headers({ b3: `${TRACE}-${SPAN}` }, read, SHARED, no), { 'x-b3-traceid': TRACE, 'x-b3-spanid': SPAN, 'x-b3-sampled': '0' }, 'no flag: the tracing decision');
  const child = b3Headers({ b3: `${TRACE}-${SPAN}-0`, 'x-b3-sampled': '1' }, read, CHILD, yes)!;
  assert.deepEqual([child['x-b3-traceid'], child['x-b3-parentspanid'], child['x-b3-sampled']], [TRACE, SPAN, '0'], 'the single header wins over x-b3-sampled');
});

test('no caller context: a new root (trace id = span id, or 128 bits), no parent; a sampling-only b3 or x-b3-sampled decides the flag', () => {
  const spans = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const root = b3Headers({}, read, CHILD, yes)!;
    assert.match(root['x-b3-spanid'], /^[0-9a-f]{16}$/);
    assert.equal(root['x-b3-traceid'], root['x-b3-spanid']);
    assert.equal(root['x-b3-parentspanid'], undefined);
    assert.equal(root['x-b3-sampled'], '1');
    spans.add(root['x-b3-spanid']);
  }
  assert.equal(spans.size, 1000);
  const wide = b3Headers({}, read, { traceId128Bit: true, sharedSpanContext: true }, no)!;
  assert.match(wide['x-b3-traceid'], /^[0-9a-f]{32}$/);
  assert.equal(wide['x-b3-traceid'].slice(16), wide['x-b3-spanid']);
  assert.equal(b3Headers({ b3: '0' }, read, CHILD, yes)!['x-b3-sampled'], '0');
  assert.equal(b3Headers({ b3: 'd' }, read, CHILD, no)!['x-b3-sampled'], '1');
  assert.equal(b3Headers({ 'x-b3-sampled': '1', 'x-b3-spanid': SPAN }, read, CHILD, no)!['x-b3-parentspanid'], undefined, 'a span id without a trace id is no context');
});

test('a malformed caller context writes nothing (Envoy\'s null span)', () => {
  for (const headers of [
    { b3: 'x' },
    { b3: `${TRACE}-${SPAN}-x` },
    { b3: `${TRACE}-${SPAN}-1-${PARENT}0` },
    { b3: `${TRACE.slice(0, 20)}-${SPAN}` },
    { b3: `${SPAN}_${SPAN}` },
    { 'x-b3-traceid': 'not-hex', 'x-b3-spanid': SPAN },
    { 'x-b3-traceid': TRACE, 'x-b3-spanid': `${SPAN}00` },
    { 'x-b3-traceid': TRACE, 'x-b3-spanid': SPAN, 'x-b3-parentspanid': 'zz' },
  ]) assert.equal(b3Headers(headers, read, CHILD, yes), undefined, JSON.stringify(headers));
});
