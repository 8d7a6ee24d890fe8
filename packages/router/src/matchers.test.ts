import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasCode } from '@xmesh/core';
import type { HeaderMatcher, RouteMatch } from '@xmesh/xds';
import { compileHeaderMatcher } from './header-matcher.js';
import { compilePathMatch } from './path-matcher.js';
import { compileRouteMatch } from './route-matcher.js';
import { queryParameter } from './query.js';
import { header, request } from '../test/fixtures.js';

function headerMatches(m: HeaderMatcher, headers: Record<string, string>): boolean {
  return compileHeaderMatcher(m, 'h')(request('svc', '/', headers));
}

test('string header matchers, with and without ignore_case', () => {
  const exact = header('x-env', { kind: 'string', match: { kind: 'exact', value: 'Canary', ignoreCase: false } });
  assert.equal(headerMatches(exact, { 'x-env': 'Canary' }), true);
  assert.equal(headerMatches(exact, { 'x-env': 'canary' }), false);
  const exactIc = header('x-env', { kind: 'string', match: { kind: 'exact', value: 'Canary', ignoreCase: true } });
  assert.equal(headerMatches(exactIc, { 'x-env': 'cANARY' }), true);
  assert.equal(headerMatches(exactIc, { 'x-env': 'canaryx' }), false);

  const prefix = header('ua', { kind: 'string', match: { kind: 'prefix', value: 'Mozilla', ignoreCase: true } });
  assert.equal(headerMatches(prefix, { ua: 'mozilla/5.0' }), true);
  assert.equal(headerMatches(prefix, { ua: 'curl/8' }), false);
  const suffix = header('ua', { kind: 'string', match: { kind: 'suffix', value: '.EXE', ignoreCase: false } });
  assert.equal(headerMatches(suffix, { ua: 'a.EXE' }), true);
  assert.equal(headerMatches(suffix, { ua: 'a.exe' }), false);
  const contains = header('ua', { kind: 'string', match: { kind: 'contains', value: 'bot', ignoreCase: true } });
  assert.equal(headerMatches(contains, { ua: 'GoogleBOT/2' }), true);
  assert.equal(headerMatches(contains, { ua: 'bo t' }), false);
});

test('regex header match must cover the whole value', () => {
  const m = header('x-id', { kind: 'string', match: { kind: 'safe_regex', regex: '\\d{3}' } });
  assert.equal(headerMatches(m, { 'x-id': '123' }), true);
  assert.equal(headerMatches(m, { 'x-id': '1234' }), false);
  assert.equal(headerMatches({ ...m, invertMatch: true }, { 'x-id': '1234' }), true);
});

test('present match, inverted, and with a missing header', () => {
  const present = header('x-debug', { kind: 'present', present: true });
  assert.equal(headerMatches(present, { 'x-debug': '' }), true);
  assert.equal(headerMatches(present, {}), false);
  assert.equal(headerMatches({ ...present, invertMatch: true }, {}), true);
  assert.equal(headerMatches({ ...present, invertMatch: true }, { 'x-debug': '1' }), false);
  const absent = header('x-debug', { kind: 'present', present: false });
  assert.equal(headerMatches(absent, {}), true);
  assert.equal(headerMatches(absent, { 'x-debug': '1' }), false);
});

test('range match takes whole base-10 integers in [start, end)', () => {
  const m = header('x-n', { kind: 'range', start: -10, end: 0 });
  assert.equal(headerMatches(m, { 'x-n': '-1' }), true);
  assert.equal(headerMatches(m, { 'x-n': '-10' }), true);
  assert.equal(headerMatches(m, { 'x-n': '0' }), false);
  assert.equal(headerMatches(m, { 'x-n': '-1x' }), false);
  assert.equal(headerMatches(m, { 'x-n': '-0.5' }), false);
  assert.equal(headerMatches(m, { 'x-n': '' }), false);
  assert.equal(headerMatches(m, { 'x-n': '-' }), false);
  assert.equal(headerMatches({ ...m, invertMatch: true }, { 'x-n': '-1' }), false);
  assert.equal(headerMatches({ ...m, invertMatch: true }, { 'x-n': '5' }), true);
});

test('a missing header never matches unless treated as empty (Envoy documented examples)', () => {
  const range = header('header1', { kind: 'range', start: 0, end: 10 }, { invertMatch: true });
  assert.equal(headerMatches(range, {}), false);
  assert.equal(headerMatches({ ...range, treatMissingHeaderAsEmpty: true }, {}), true);
  const empty = header('header3', { kind: 'string', match: { kind: 'safe_regex', regex: '^$' } });
  assert.equal(headerMatches(empty, {}), false);
  assert.equal(headerMatches({ ...empty, treatMissingHeaderAsEmpty: true }, {}), true);
});

test('pseudo-headers fall back to the request fields', () => {
  const m = header(':authority', { kind: 'string', match: { kind: 'prefix', value: 'svc', ignoreCase: false } });
  assert.equal(headerMatches(m, {}), true);
  const method = header(':method', { kind: 'string', match: { kind: 'exact', value: 'GET', ignoreCase: false } });
  assert.equal(headerMatches(method, {}), false);
});

test('path specifiers and case sensitivity', () => {
  const prefix = compilePathMatch({ kind: 'prefix', value: '/API' }, true, 'p');
  assert.equal(prefix('/API/x'), true);
  assert.equal(prefix('/api/x'), false);
  assert.equal(compilePathMatch({ kind: 'prefix', value: '/API' }, false, 'p')('/api/x'), true);
  const path = compilePathMatch({ kind: 'path', value: '/a/b' }, true, 'p');
  assert.equal(path('/a/b'), true);
  assert.equal(path('/a/b/'), false);
  assert.equal(compilePathMatch({ kind: 'path', value: '/a/b' }, false, 'p')('/A/B'), true);
  const regex = compilePathMatch({ kind: 'safe_regex', regex: '/users/[0-9]+' }, false, 'p');
  assert.equal(regex('/users/42'), true);
  assert.equal(regex('/users/42/x'), false);
  assert.equal(regex('/USERS/42'), false, 'case_sensitive does not apply to regex');
  const separated = compilePathMatch({ kind: 'path_separated_prefix', value: '/api' }, true, 'p');
  assert.equal(separated('/api'), true);
  assert.equal(separated('/api/v1'), true);
  assert.equal(separated('/apiv1'), false);
});

test('an invalid regex fails at compile time with XMESH_CONFIG_INVALID and its path', () => {
  assert.throws(
    () => compilePathMatch({ kind: 'safe_regex', regex: '(unclosed' }, true, 'routes[3]'),
    (e: unknown) => hasCode(e, 'XMESH_CONFIG_INVALID') && e.errors[0]?.path === 'routes[3].safe_regex',
  );
  // RE2 rejects backreferences, a backtracking-only feature
  assert.throws(() => compilePathMatch({ kind: 'safe_regex', regex: '(a)\\1' }, true, 'r'), (e: unknown) => hasCode(e, 'XMESH_CONFIG_INVALID'));
});

test('query parameters: first occurrence, valueless, compared as sent', () => {
  assert.equal(queryParameter('a=1&b=2&a=3', 'a'), '1');
  assert.equal(queryParameter('a=1&b=2', 'b'), '2');
  assert.equal(queryParameter('debug&x=1', 'debug'), '');
  assert.equal(queryParameter('ab=1', 'a'), undefined);
  assert.equal(queryParameter('', 'a'), undefined);
  assert.equal(queryParameter('a=1=2', 'a'), '1=2');
  assert.equal(queryParameter('a=1=2', 'a=1'), undefined, 'a name ends at its first "="');
});

test('query parameters are not percent-decoded (Envoy parseQueryString, decode_params=false)', () => {
  assert.equal(queryParameter('&&q=a%20b', 'q'), 'a%20b');
  assert.equal(queryParameter('q=a+b', 'q'), 'a+b');
  assert.equal(queryParameter('%71=1', 'q'), undefined, 'names are not decoded either');
  const byQuery = compileRouteMatch(routeMatch({ queryParameters: [{ name: 'q', match: { kind: 'exact', value: 'a b', ignoreCase: false } }] }), 'r');
  assert.equal(byQuery(request('svc'), '/', 'q=a%20b', Math.random), false);
  const raw = compileRouteMatch(routeMatch({ queryParameters: [{ name: 'q', match: { kind: 'exact', value: 'a%20b', ignoreCase: false } }] }), 'r');
  assert.equal(raw(request('svc'), '/', 'q=a%20b', Math.random), true);
});

test('a query parameter lookup stays linear in the query length', () => {
  const query = 'a&'.repeat(1_000_000);
  // CPU time, not wall time: other processes on a busy machine do not count against it.
  const started = process.cpuUsage();
  assert.equal(queryParameter(query, 'zz'), undefined);
  const used = process.cpuUsage(started);
  const elapsedMs = (used.user + used.system) / 1000;
  // scanning ahead for "=" from every segment took seconds here (quadratic); one pass takes well under 100 ms
  assert.ok(elapsedMs < 1500, `took ${elapsedMs.toFixed(0)} ms of CPU`);
});

function routeMatch(match: Partial<RouteMatch>): RouteMatch {
  return { path: { kind: 'prefix', value: '/' }, caseSensitive: true, headers: [], queryParameters: [], runtimeFraction: undefined, grpcOnly: false, ...match };
}

test('route match: grpc only, query parameters, runtime fraction', () => {
  const grpcOnly = compileRouteMatch(routeMatch({ grpcOnly: true }), 'r');
  assert.equal(grpcOnly(request('svc', '/', {}, true), '/', '', Math.random), true);
  assert.equal(grpcOnly(request('svc', '/', {}, false), '/', '', Math.random), false);

  const byQuery = compileRouteMatch(
    routeMatch({
      queryParameters: [
        { name: 'version', match: { kind: 'exact', value: 'v2', ignoreCase: false } },
        { name: 'debug', match: undefined },
      ],
    }),
    'r',
  );
  const req = request('svc');
  assert.equal(byQuery(req, '/', 'version=v2&debug', Math.random), true);
  assert.equal(byQuery(req, '/', 'version=v2', Math.random), false);
  assert.equal(byQuery(req, '/', 'version=v1&debug=1', Math.random), false);

  const tenth = compileRouteMatch(routeMatch({ runtimeFraction: { numerator: 10, denominator: 100 } }), 'r');
  assert.equal(tenth(req, '/', '', () => 0.0999), true);
  assert.equal(tenth(req, '/', '', () => 0.1), false);
  const millionth = compileRouteMatch(routeMatch({ runtimeFraction: { numerator: 1, denominator: 1_000_000 } }), 'r');
  assert.equal(millionth(req, '/', '', () => 0.0000009), true);
  assert.equal(millionth(req, '/', '', () => 0.000001), false);
});

test('connect_matcher matches CONNECT requests only (with its other conditions); path specifiers never match a CONNECT, which has no path', () => {
  const connectReq = (headers: Record<string, string> = {}) => ({ ...request('example.test:443', '', headers), method: 'CONNECT' });
  const connect = compileRouteMatch(routeMatch({ path: { kind: 'connect' } }), 'r');
  assert.equal(connect(connectReq(), '', '', Math.random), true);
  assert.equal(connect(request('svc', '/'), '/', '', Math.random), false, 'a POST is not a CONNECT');
  const withHeader = compileRouteMatch(routeMatch({ path: { kind: 'connect' }, headers: [header('x-tenant', { kind: 'present', present: true })] }), 'r');
  assert.equal(withHeader(connectReq({ 'x-tenant': 'a' }), '', '', Math.random), true);
  assert.equal(withHeader(connectReq(), '', '', Math.random), false);
  const slash = compileRouteMatch(routeMatch({ path: { kind: 'prefix', value: '/' } }), 'r');
  assert.equal(slash(connectReq(), '', '', Math.random), false);
});
