// Trace ids: W3C format, never all zeros, unique across many calls; a caller's trace is continued.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { childTraceparent, requestIdOrNew } from './trace-context.js';

test('new roots: 00-<32 hex>-<16 hex>-00, distinct trace and span ids over 50 000 calls', () => {
  const traces = new Set<string>();
  const spans = new Set<string>();
  for (let i = 0; i < 50_000; i++) {
    const header = childTraceparent(undefined);
    assert.match(header, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    const [, trace, span] = header.split('-');
    assert.notEqual(trace, '0'.repeat(32));
    assert.notEqual(span, '0'.repeat(16));
    traces.add(trace!);
    spans.add(span!);
  }
  assert.equal(traces.size, 50_000);
  assert.equal(spans.size, 50_000);
});

test('a child keeps trace id and flags (also from upper case and padded input) with a new span id', () => {
  const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  for (const input of [parent, ` ${parent.toUpperCase()} `]) {
    const child = childTraceparent(input);
    assert.match(child, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    assert.notEqual(child.split('-')[2], '00f067aa0ba902b7');
  }
  assert.match(childTraceparent('ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'), /^00-(?!4bf92f35)[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  assert.match(childTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'), /^00-(?!4bf92f35)[0-9a-f]{32}-[0-9a-f]{16}-00$/);
});

test('x-request-id passes through, or is a new UUID v4', () => {
  assert.equal(requestIdOrNew('req-1'), 'req-1');
  const a = requestIdOrNew(undefined);
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(requestIdOrNew(''), a);
});

test('a new root is sampled (flags 01) when asked, unsampled by default; a child keeps its parent\'s flags either way', () => {
  assert.match(childTraceparent(undefined, true), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  assert.match(childTraceparent(undefined, false), /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  assert.match(childTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00', true), /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-00$/);
});
