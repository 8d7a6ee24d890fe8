import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainIndex } from './domain-index.js';
import { splitAuthority } from './authority.js';

function lookup(domains: string[], authority: string): string | undefined {
  const index = new DomainIndex(domains.map((d) => [d, d] as const));
  return index.find(splitAuthority(authority.toLowerCase()).hostPort);
}

test('exact beats suffix wildcard, suffix beats prefix wildcard, prefix beats *', () => {
  const all = ['*', 'api.*', '*.foo.com', 'api.foo.com'];
  assert.equal(lookup(all, 'api.foo.com'), 'api.foo.com');
  assert.equal(lookup(all.filter((d) => d !== 'api.foo.com'), 'api.foo.com'), '*.foo.com');
  assert.equal(lookup(['*', 'api.*'], 'api.foo.com'), 'api.*');
  assert.equal(lookup(['*', 'api.*'], 'web.foo.com'), '*');
});

test('the longest suffix and the longest prefix wildcard win, whatever the order given', () => {
  assert.equal(lookup(['*.com', '*-bar.foo.com', '*.foo.com'], 'baz-bar.foo.com'), '*-bar.foo.com');
  assert.equal(lookup(['*.com', '*-bar.foo.com', '*.foo.com'], 'baz.foo.com'), '*.foo.com');
  assert.equal(lookup(['a.*', 'a.b.*'], 'a.b.c'), 'a.b.*');
});

test('a wildcard does not match the empty string', () => {
  assert.equal(lookup(['*-bar.foo.com'], '-bar.foo.com'), undefined);
  assert.equal(lookup(['*.foo.com'], 'foo.com'), undefined);
  assert.equal(lookup(['foo.*'], 'foo.'), undefined);
});

test('matching is case-insensitive on both sides', () => {
  assert.equal(lookup(['API.Foo.com'], 'api.FOO.com'), 'API.Foo.com');
  assert.equal(lookup(['*.FOO.com'], 'x.foo.COM'), '*.FOO.com');
});

test('host:port is one string, as in Envoy: a bare domain does not match an authority with a port', () => {
  assert.equal(lookup(['reviews', 'reviews:9080'], 'reviews:9080'), 'reviews:9080');
  assert.equal(lookup(['reviews', 'reviews:9080'], 'reviews'), 'reviews');
  assert.equal(lookup(['reviews'], 'reviews:9080'), undefined);
  assert.equal(lookup(['*', 'reviews'], 'reviews:9080'), '*');
  assert.equal(lookup(['*.svc', '*.svc:9080'], 'a.svc:9080'), '*.svc:9080');
  assert.equal(lookup(['reviews.*'], 'reviews.default:9080'), 'reviews.*');
  assert.equal(lookup(['reviews:9081'], 'reviews:9080'), undefined);
});

test('IPv6 literals keep their brackets; a bare IPv6 address has no port', () => {
  assert.deepEqual(splitAuthority('[::1]:8080'), { hostPort: '[::1]:8080', host: '[::1]', port: 8080 });
  assert.deepEqual(splitAuthority('::1'), { hostPort: '::1', host: '::1', port: undefined });
  assert.deepEqual(splitAuthority('[::1]'), { hostPort: '[::1]', host: '[::1]', port: undefined });
  assert.deepEqual(splitAuthority('foo:bar'), { hostPort: 'foo:bar', host: 'foo:bar', port: undefined });
  assert.equal(lookup(['[::1]:8080'], '[::1]:8080'), '[::1]:8080');
  assert.equal(lookup(['[::1]'], '[::1]:8080'), undefined);
});

test('a domain listed twice keeps its first value', () => {
  const index = new DomainIndex([['a.com', 1], ['a.com', 2], ['*', 3], ['*', 4]] as const);
  assert.equal(index.find('a.com'), 1);
  assert.equal(index.find('b.com'), 3);
});
