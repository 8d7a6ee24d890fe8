import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter } from '@xmesh/stats';
import type { CsrfPolicy } from '@xmesh/xds';
import { CsrfFilter, hostAndPort, type CsrfStats } from './csrf-filter.js';

const ALL = { numerator: 100, denominator: 100 };
const NONE = { numerator: 0, denominator: 100 };
const policy = (more: Partial<CsrfPolicy> = {}): CsrfPolicy => ({ filterEnabled: ALL, shadowEnabled: undefined, additionalOrigins: [], ...more });

function stats(): CsrfStats & { values(): number[] } {
  const s = { missingSourceOrigin: new Counter(), requestInvalid: new Counter(), requestValid: new Counter() };
  return { ...s, values: () => [s.missingSourceOrigin.value, s.requestInvalid.value, s.requestValid.value] };
}

function request(method: string, authority: string, headers: Record<string, string> = {}) {
  return { method, authority, path: '/form', headers: new Map(Object.entries(headers)) };
}

test('hostAndPort: the authority of an absolute URL (userinfo dropped); anything else as it is', () => {
  assert.equal(hostAndPort('https://example.com'), 'example.com');
  assert.equal(hostAndPort('https://example.com:8443/a?b#c'), 'example.com:8443');
  assert.equal(hostAndPort('http://user:pw@example.com/x'), 'example.com');
  assert.equal(hostAndPort('null'), 'null');
  assert.equal(hostAndPort(''), '');
  assert.equal(hostAndPort(undefined), '');
});

test('hostAndPort reads an origin as Envoy (GURL) does: only http(s), host lower-cased, default port dropped, "\\" ends the authority', () => {
  assert.equal(hostAndPort('http://APP.test'), 'app.test');
  assert.equal(hostAndPort('http://app.test:80/x'), 'app.test');
  assert.equal(hostAndPort('https://app.test:443'), 'app.test');
  assert.equal(hostAndPort('https://app.test:080'), 'app.test:80');
  assert.equal(hostAndPort('http://[::1]:8080/'), '[::1]:8080');
  assert.equal(hostAndPort('http://[0:0:0:0:0:0:0:1]'), '[::1]');
  // A scheme other than http(s) is not a URL to Envoy: the value stands whole and matches no host.
  assert.equal(hostAndPort('ftp://app.test'), 'ftp://app.test');
  assert.equal(hostAndPort('chrome-extension://app.test'), 'chrome-extension://app.test');
  // The authority ends at a backslash in a special scheme: the host here is evil.test, not app.test.
  assert.equal(hostAndPort('http://evil.test\\@app.test'), 'evil.test');
  assert.equal(hostAndPort('http://app.test:99999'), 'http://app.test:99999');
  assert.equal(hostAndPort('http://app.test:0'), 'http://app.test:0');
});

test('an origin that is the destination only by another scheme or a backslash trick is invalid; a default port or upper case is not a different origin', () => {
  const filter = new CsrfFilter(Math.random);
  const s = stats();
  assert.notEqual(filter.check(request('POST', 'app.test', { origin: 'ftp://app.test' }), policy(), s), undefined);
  assert.notEqual(filter.check(request('POST', 'app.test', { origin: 'http://evil.test\\@app.test' }), policy(), s), undefined);
  assert.equal(filter.check(request('POST', 'app.test', { origin: 'http://App.Test:80' }), policy(), s), undefined);
  assert.equal(filter.check(request('POST', 'app.test:443', { origin: 'https://app.test', ':scheme': 'https' }), policy(), s), undefined);
  assert.equal(filter.check(request('POST', '[::1]:8080', { origin: 'http://[::1]:8080' }), policy(), s), undefined);
  assert.deepEqual(s.values(), [0, 2, 3]);
});

test('a mutating request from its destination\'s origin passes; from another origin it is answered 403 "Invalid origin"', () => {
  const filter = new CsrfFilter(Math.random);
  const s = stats();
  assert.equal(filter.check(request('POST', 'app.test', { origin: 'http://app.test', ':scheme': 'http' }), policy(), s), undefined);
  const denied = filter.check(request('POST', 'app.test', { origin: 'http://evil.test' }), policy(), s);
  assert.equal(denied?.code, 'XMESH_DENIED');
  assert.deepEqual(denied?.reply, { status: 403, headers: [], body: 'Invalid origin' });
  // The port is part of the origin, as Envoy compares host and port.
  assert.notEqual(filter.check(request('PUT', 'app.test', { origin: 'http://app.test:8080' }), policy(), s), undefined);
  assert.deepEqual(s.values(), [0, 2, 1]);
});

test('only POST, PUT, DELETE and PATCH are checked', () => {
  const filter = new CsrfFilter(Math.random);
  const s = stats();
  for (const method of ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'post']) {
    assert.equal(filter.check(request(method, 'app.test', { origin: 'http://evil.test' }), policy(), s), undefined, method);
  }
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
    assert.notEqual(filter.check(request(method, 'app.test', { origin: 'http://evil.test' }), policy(), s), undefined, method);
  }
  assert.deepEqual(s.values(), [0, 4, 0]);
});

test('the Referer stands in for a missing Origin; with neither the request is both missing its origin and invalid', () => {
  const filter = new CsrfFilter(Math.random);
  const s = stats();
  assert.equal(filter.check(request('POST', 'app.test', { referer: 'http://app.test/page?x=1' }), policy(), s), undefined);
  assert.notEqual(filter.check(request('POST', 'app.test', { referer: 'http://evil.test/page' }), policy(), s), undefined);
  assert.notEqual(filter.check(request('POST', 'app.test'), policy(), s), undefined);
  assert.deepEqual(s.values(), [1, 2, 1]);
});

test('the destination is the Host under the request\'s scheme; "null" origins are invalid', () => {
  const filter = new CsrfFilter(Math.random);
  const s = stats();
  assert.equal(filter.check(request('POST', 'app.test:8443', { origin: 'https://app.test:8443', ':scheme': 'https' }), policy(), s), undefined);
  assert.notEqual(filter.check(request('POST', 'app.test', { origin: 'null' }), policy(), s), undefined);
  assert.deepEqual(s.values(), [0, 1, 1]);
});

test('additional_origins are string matchers on the source origin (host and port)', () => {
  const filter = new CsrfFilter(Math.random);
  const s = stats();
  const p = policy({ additionalOrigins: [{ kind: 'exact', value: 'partner.test', ignoreCase: false }, { kind: 'safe_regex', regex: '.*\\.corp\\.test' }] });
  assert.equal(filter.check(request('POST', 'app.test', { origin: 'https://partner.test' }), p, s), undefined);
  assert.equal(filter.check(request('POST', 'app.test', { origin: 'https://a.corp.test' }), p, s), undefined);
  assert.notEqual(filter.check(request('POST', 'app.test', { origin: 'https://partner.test:444' }), p, s), undefined);
  assert.deepEqual(s.values(), [0, 1, 2]);
});

test('shadow_enabled without filter_enabled counts and lets every request through; neither: nothing is counted', () => {
  const filter = new CsrfFilter(Math.random);
  const s = stats();
  const shadow = policy({ filterEnabled: NONE, shadowEnabled: ALL });
  assert.equal(filter.check(request('POST', 'app.test', { origin: 'http://evil.test' }), shadow, s), undefined);
  assert.equal(filter.check(request('POST', 'app.test'), shadow, s), undefined);
  assert.deepEqual(s.values(), [1, 2, 0]);
  const off = stats();
  assert.equal(filter.check(request('POST', 'app.test', { origin: 'http://evil.test' }), policy({ filterEnabled: NONE }), off), undefined);
  assert.deepEqual(off.values(), [0, 0, 0]);
});

test('filter_enabled at 25 % enforces about a quarter of the requests (seeded draws)', () => {
  let seed = 7;
  const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
  const filter = new CsrfFilter(random);
  const p = policy({ filterEnabled: { numerator: 25, denominator: 100 } });
  let denied = 0;
  for (let i = 0; i < 10_000; i++) if (filter.check(request('POST', 'app.test', { origin: 'http://evil.test' }), p, stats()) !== undefined) denied++;
  // One standard deviation is 0.43 %: ±3 % is seven of them.
  assert.ok(Math.abs(denied / 10_000 - 0.25) <= 0.03, `enforced on ${denied} of 10 000`);
});
