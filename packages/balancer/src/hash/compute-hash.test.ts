import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HashPolicy } from '@xmesh/xds';
import { computeHash, cookieValue, queryValue } from './compute-hash.js';
import { xxHash64 } from './xxhash64.js';

const request = (headers: Record<string, string>, path = '/svc/Method', remoteAddress?: string) => ({
  headers: new Map(Object.entries(headers)),
  path,
  remoteAddress,
});
const header = (name: string, terminal = false): HashPolicy => ({ kind: 'header', headerName: name, terminal });
const rotl1 = (h: bigint) => ((h << 1n) | (h >> 63n)) & ((1n << 64n) - 1n);

test('xxHash64 is the reference xxHash64 (seed 0)', () => {
  assert.equal(xxHash64(''), 0xef46db3751d8e999n);
  assert.equal(xxHash64('a'), 0xd24ec4f1a98c6e5bn);
});

test('header policy hashes the header value; absent header → no hash', () => {
  assert.equal(computeHash([header('x-user')], request({ 'x-user': 'alice' })), xxHash64('alice'));
  assert.equal(computeHash([header('x-user')], request({})), undefined);
  assert.equal(computeHash([], request({ 'x-user': 'alice' })), undefined);
});

test('several policies fold as rotl(hash, 1) ^ next; terminal stops at the first that yields', () => {
  const policies = [header('x-a'), header('x-b')];
  assert.equal(computeHash(policies, request({ 'x-a': '1', 'x-b': '2' })), rotl1(xxHash64('1')) ^ xxHash64('2'));
  assert.equal(computeHash([header('x-a', true), header('x-b')], request({ 'x-a': '1', 'x-b': '2' })), xxHash64('1'));
  // a terminal policy that yields nothing does not stop the walk
  assert.equal(computeHash([header('x-a', true), header('x-b')], request({ 'x-b': '2' })), xxHash64('2'));
});

test('cookie, source IP and query parameter policies', () => {
  const cookie: HashPolicy = { kind: 'cookie', name: 'sid', ttlMs: undefined, path: undefined, terminal: false };
  assert.equal(computeHash([cookie], request({ cookie: 'a=1; sid=xyz; b=2' })), xxHash64('xyz'));
  const source: HashPolicy = { kind: 'source_ip', terminal: false };
  assert.equal(computeHash([source], request({}, '/', '10.1.2.3')), xxHash64('10.1.2.3'));
  assert.equal(computeHash([source], request({})), undefined);
  const query: HashPolicy = { kind: 'query_parameter', name: 'user', terminal: false };
  assert.equal(computeHash([query], request({}, '/p?x=1&user=bob')), xxHash64('bob'));
  assert.equal(computeHash([query], request({}, '/p?x=1')), undefined);
});

test('cookie and query parsing helpers', () => {
  assert.equal(cookieValue('a=1;b = 2', 'b'), '2');
  assert.equal(cookieValue(undefined, 'b'), undefined);
  assert.equal(queryValue('/p?flag&k=v', 'flag'), '');
  assert.equal(queryValue('/p', 'k'), undefined);
});
