import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_DOWNSTREAM_PROTECTION } from '@xmesh/xds';
import { MeshError } from '@xmesh/core';
import { absoluteForm, checkUnderscores, http1Target, http2HeaderCountExceeded } from './request-hygiene.js';

test('absolute-form targets: authority (userinfo dropped) and path (query kept, "/" when empty); malformed ones refused', () => {
  assert.deepEqual(absoluteForm('http://b.svc/x?q=1'), { authority: 'b.svc', path: '/x?q=1' });
  assert.deepEqual(absoluteForm('HTTPS://user:pw@b.svc:8443'), { authority: 'b.svc:8443', path: '/' });
  assert.deepEqual(absoluteForm('http://b.svc?x'), { authority: 'b.svc', path: '/?x' });
  assert.deepEqual(absoluteForm('http://[::1]:80/p#frag'), { authority: '[::1]:80', path: '/p' });
  for (const bad of ['ftp://x/', 'http:///nohost', 'http://a,b/', 'nonsense', 'http//x']) assert.equal(absoluteForm(bad), undefined, bad);
});

test('HTTP/1.1 targets: Host for origin-form, the target authority (replacing Host) for absolute-form; duplicates, HTTP/1.0 and header counts refused', () => {
  const p = DEFAULT_DOWNSTREAM_PROTECTION;
  assert.deepEqual(http1Target({ host: 'a.svc' }, '/x', 1, 2, p), { authority: 'a.svc', path: '/x' });
  const headers: Record<string, string> = { host: 'a.svc' };
  assert.deepEqual(http1Target(headers, 'http://b.svc/y', 1, 2, p), { authority: 'b.svc', path: '/y' });
  assert.equal(headers.host, 'b.svc');
  assert.deepEqual(http1Target({ host: 'a.svc' }, 'http://b.svc/y', 1, 2, { ...p, allowAbsoluteUrl: false }), { authority: 'a.svc', path: 'http://b.svc/y' });
  const status = (result: unknown): number | undefined => (result instanceof MeshError ? result.httpStatus : undefined);
  assert.equal(status(http1Target({ host: 'a.svc, b.svc' }, '/x', 1, 4, p)), 400);
  assert.equal(status(http1Target({ host: 'a.svc' }, '/x', 0, 2, p)), 426);
  assert.deepEqual(http1Target({}, '/x', 0, 0, { ...p, acceptHttp10: true, defaultHostForHttp10: 'legacy.svc' }), { authority: 'legacy.svc', path: '/x' });
  assert.equal(status(http1Target({ host: 'a.svc' }, '/x', 1, 202, p)), 431);
  assert.equal(http1Target({ host: 'a.svc' }, '/x', 1, 200, p) instanceof MeshError, false);
  assert.equal(status(http1Target({ host: 'a.svc' }, 'x', 1, 2, p)), 400);
  assert.equal(http2HeaderCountExceeded(208, p), false);
  assert.equal(http2HeaderCountExceeded(210, p), true);
});

test('headers with underscores: rejected, or dropped from the request', () => {
  assert.equal(checkUnderscores({ 'x-ok': '1' }, 'reject'), undefined);
  assert.equal(checkUnderscores({ x_bad: '1' }, 'reject')?.httpStatus, 400);
  const headers: Record<string, string> = { x_bad: '1', 'x-ok': '2' };
  assert.equal(checkUnderscores(headers, 'drop'), undefined);
  assert.deepEqual(headers, { 'x-ok': '2' });
});
