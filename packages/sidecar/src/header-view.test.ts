import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderView } from './header-view.js';

test('an HTTP/1.1 view answers pseudo-headers from the request line and joins repeated headers', () => {
  const view = new HeaderView({ host: 'svc:80', 'x-a': '1', 'x-list': ['a', 'b'] }, { authority: 'svc:80', path: '/p?q', method: 'GET' });
  assert.equal(view.get(':authority'), 'svc:80');
  assert.equal(view.get(':path'), '/p?q');
  assert.equal(view.get(':method'), 'GET');
  assert.equal(view.get(':scheme'), 'http');
  assert.equal(view.get(':other'), undefined);
  assert.equal(view.get('x-list'), 'a,b');
  assert.equal(view.has('x-a'), true);
  assert.equal(view.has('x-missing'), false);
  assert.deepEqual([...view], [[':authority', 'svc:80'], [':path', '/p?q'], [':method', 'GET'], [':scheme', 'http'], ['host', 'svc:80'], ['x-a', '1'], ['x-list', 'a,b']]);
  assert.equal(view.size, 7);
});

test('an HTTP/2 view reads its own pseudo-headers', () => {
  const view = new HeaderView({ ':authority': 'svc', ':path': '/x', ':method': 'POST', 'content-type': 'application/grpc' }, undefined);
  assert.equal(view.get(':authority'), 'svc');
  assert.equal(view.get(':scheme'), undefined);
  assert.deepEqual([...view.keys()], [':authority', ':path', ':method', 'content-type']);
  const seen: string[] = [];
  view.forEach((value, key) => seen.push(`${key}=${value}`));
  assert.deepEqual(seen, [':authority=svc', ':path=/x', ':method=POST', 'content-type=application/grpc']);
});

test('an upstream HTTP/2 response view gives :status (a number from node) as text, so route header matchers can read it', () => {
  const view = new HeaderView({ ':status': 503 as unknown as string, 'grpc-status': '14' }, undefined);
  assert.equal(view.get(':status'), '503');
  assert.equal(view.has(':status'), true);
  assert.equal(view.get('grpc-status'), '14');
});
