// RBAC matchers (the Unified Matcher API) as Envoy's RBAC filter evaluates them
// (source/extensions/filters/common/rbac/engine_impl.cc): the first action reached decides, none reached denies;
// lists, trees, nested matchers, predicates and every input xmesh reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MatchInput, RbacMatcher, RbacOnMatch, RbacPredicate, StringMatch } from '@xmesh/xds';
import { compileRbacMatcher } from './rbac-matcher-engine.js';
import type { RbacInput } from './rbac-engine.js';
import type { DownstreamConnection } from '../chain/filter-call.js';

const PLAIN: DownstreamConnection = { remoteAddress: '10.1.2.3', remotePort: 40000, localAddress: '10.0.0.1', localPort: 8443, tls: undefined, protocol: 'HTTP/1.1' };

function input(headers: Record<string, string> = {}, connection: Partial<DownstreamConnection> = {}, remoteIp?: string): RbacInput {
  const c = { ...PLAIN, ...connection };
  return { request: { authority: 'svc', path: '/', method: 'GET', headers: new Map(Object.entries(headers)) }, connection: c, remoteIp: () => remoteIp ?? c.remoteAddress };
}

const exact = (value: string): StringMatch => ({ kind: 'exact', value, ignoreCase: false });
const header = (name: string): MatchInput => ({ kind: 'request_header', name });
const single = (i: MatchInput, match: StringMatch): RbacPredicate => ({ kind: 'single', input: i, match });
const action = (name: string, a: 'ALLOW' | 'DENY' | 'LOG'): RbacOnMatch => ({ kind: 'action', name, action: a });
const list = (fields: [RbacPredicate, RbacOnMatch][], onNoMatch?: RbacOnMatch): RbacMatcher => ({ list: fields.map(([predicate, onMatch]) => ({ predicate, onMatch })), tree: undefined, onNoMatch });

test('Envoy\'s example: DENY a request whose Referer is not the docs, ALLOW the rest (on_no_match)', () => {
  const referer: RbacPredicate = { kind: 'not', predicate: single(header('referer'), { kind: 'safe_regex', regex: 'https?://(www.)?envoyproxy.io/docs/envoy.*' }) };
  const engine = compileRbacMatcher(list([[referer, action('illegal-referer', 'DENY')]], action('all-pass', 'ALLOW')));
  assert.equal(engine.allowed(input({ referer: 'https://www.envoyproxy.io/docs/envoy/latest' })), true);
  assert.equal(engine.allowed(input({ referer: 'https://evil.test/' })), false);
  // No Referer: the inner predicate has no value (false), so the not_matcher holds: denied.
  assert.equal(engine.allowed(input()), false);
  assert.equal(engine.matchedPolicy(input({ referer: 'https://evil.test/' })), 'illegal-referer');
  assert.equal(engine.matchedPolicy(input({ referer: 'https://envoyproxy.io/docs/envoy/x' })), 'all-pass');
});

test('no action reached denies; LOG allows; the first matching field decides', () => {
  const engine = compileRbacMatcher(list([
    [single(header('x-role'), exact('admin')), action('admins', 'ALLOW')],
    [single(header('x-role'), { kind: 'prefix', value: 'ad', ignoreCase: false }), action('almost', 'DENY')],
    [single(header('x-audit'), exact('1')), action('audited', 'LOG')],
  ]));
  assert.equal(engine.allowed(input({ 'x-role': 'admin' })), true);
  assert.equal(engine.allowed(input({ 'x-role': 'adm' })), false);
  assert.equal(engine.allowed(input({ 'x-audit': '1' })), true);
  assert.equal(engine.allowed(input({ 'x-role': 'user' })), false, 'nothing reached: denied');
});

test('and / or predicates; a nested matcher that reaches nothing lets the list go on', () => {
  const nested: RbacOnMatch = { kind: 'matcher', matcher: list([[single(header('x-team'), exact('ops')), action('ops', 'ALLOW')]]) };
  const engine = compileRbacMatcher(list([
    [{ kind: 'and', predicates: [single(header('x-a'), exact('1')), single(header('x-b'), exact('1'))] }, nested],
    [{ kind: 'or', predicates: [single(header('x-a'), exact('1')), single(header('x-c'), exact('1'))] }, action('a-or-c', 'DENY')],
  ], action('default', 'ALLOW')));
  assert.equal(engine.allowed(input({ 'x-a': '1', 'x-b': '1', 'x-team': 'ops' })), true);
  assert.equal(engine.matchedPolicy(input({ 'x-a': '1', 'x-b': '1', 'x-team': 'dev' })), 'a-or-c', 'the nested matcher reached nothing: the next field decides');
  assert.equal(engine.allowed(input({ 'x-c': '1' })), false);
  assert.equal(engine.allowed(input({})), true);
});

test('trees: exact map, longest prefix first (falling back to shorter ones), IP ranges most specific first with exclusive', () => {
  const byExact = compileRbacMatcher({ list: undefined, tree: { kind: 'exact', input: header(':method'), map: new Map([['GET', action('read', 'ALLOW')]]) }, onNoMatch: action('no', 'DENY') });
  assert.equal(byExact.allowed(input({ ':method': 'GET' })), true);
  assert.equal(byExact.allowed(input({ ':method': 'POST' })), false);

  const deep: RbacOnMatch = { kind: 'matcher', matcher: list([[single(header('x-ok'), exact('1')), action('deep', 'ALLOW')]]) };
  const byPrefix = compileRbacMatcher({ list: undefined, tree: { kind: 'prefix', input: header(':path'), map: new Map([['/api', action('api', 'DENY')], ['/api/public', deep]]) }, onNoMatch: undefined });
  assert.equal(byPrefix.matchedPolicy(input({ ':path': '/api/public/x', 'x-ok': '1' })), 'deep');
  assert.equal(byPrefix.matchedPolicy(input({ ':path': '/api/public/x' })), 'api', 'the longer prefix reached nothing: the shorter one decides');
  assert.equal(byPrefix.allowed(input({ ':path': '/other' })), false);

  const ip = (onMatch: RbacOnMatch, prefixLen: number, address: string, exclusive = false) => ({ ranges: [{ addressPrefix: address, prefixLen }], onMatch, exclusive });
  const byIp = (exclusive: boolean) => compileRbacMatcher({
    list: undefined,
    tree: { kind: 'ip', input: { kind: 'direct_source_ip' }, ranges: [ip(action('net', 'ALLOW'), 8, '10.0.0.0'), ip({ kind: 'matcher', matcher: list([[single(header('x-ok'), exact('1')), action('subnet', 'ALLOW')]]) }, 16, '10.1.0.0', exclusive)] },
    onNoMatch: undefined,
  });
  assert.equal(byIp(false).matchedPolicy(input({ 'x-ok': '1' })), 'subnet');
  assert.equal(byIp(false).matchedPolicy(input()), 'net', 'the /16 reached nothing: the /8 decides');
  assert.equal(byIp(true).allowed(input()), false, 'an exclusive /16 that reaches nothing ends the search');
  assert.equal(byIp(false).allowed(input({}, { remoteAddress: '::ffff:192.168.0.1' })), false);
  assert.equal(byIp(false).allowed(input({}, { remoteAddress: '::ffff:10.9.9.9' })), true, 'IPv4-mapped addresses are IPv4');
});

test('source_type is "local" as Envoy\'s isSameIpOrLoopback says: the HCM\'s downstream address (X-Forwarded-For where trusted) is 127.0.0.1, ::1 or the local address', () => {
  const local = compileRbacMatcher(list([[single({ kind: 'source_type' }, exact('local')), action('local', 'ALLOW')]]));
  assert.equal(local.allowed(input({}, { remoteAddress: '127.0.0.1' })), true);
  assert.equal(local.allowed(input({}, { remoteAddress: '::ffff:127.0.0.1' })), true);
  assert.equal(local.allowed(input({}, { remoteAddress: '::1' })), true);
  assert.equal(local.allowed(input({}, { remoteAddress: '10.0.0.1' })), true, 'the connection\'s own address');
  // A remote client behind a trusted loopback hop is not local (Envoy reads the XFF-derived remote address).
  assert.equal(local.allowed(input({}, { remoteAddress: '127.0.0.1' }, '203.0.113.9')), false);
  // Envoy's loopback is exactly 127.0.0.1 and ::1, not all of 127/8.
  assert.equal(local.allowed(input({}, { remoteAddress: '127.0.0.2' })), false);
});

test('IP inputs are compared in the canonical text Envoy gives them (addressAsString): a rule on "2001:db8::7" holds however the address was written', () => {
  const deny = (i: MatchInput, value: string) => compileRbacMatcher(list([[single(i, exact(value)), action('blocked', 'DENY')]], action('rest', 'ALLOW')));
  for (const written of ['2001:DB8::7', '2001:db8:0:0:0:0:0:7', '2001:0db8::0007']) {
    assert.equal(deny({ kind: 'source_ip' }, '2001:db8::7').allowed(input({}, {}, written)), false, `X-Forwarded-For ${written}`);
    assert.equal(deny({ kind: 'direct_source_ip' }, '2001:db8::7').allowed(input({}, { remoteAddress: written })), false, `peer ${written}`);
  }
  // An IPv4-mapped address, in any case or form, is its IPv4 address (as a dual-stack listener reports it).
  for (const written of ['::FFFF:203.0.113.9', '::ffff:cb00:7109']) {
    assert.equal(deny({ kind: 'source_ip' }, '203.0.113.9').allowed(input({}, {}, written)), false, written);
  }
  const local = compileRbacMatcher(list([[single({ kind: 'source_type' }, exact('local')), action('local', 'ALLOW')]]));
  assert.equal(local.allowed(input({}, { remoteAddress: '0:0:0:0:0:0:0:1' })), true, 'the IPv6 loopback written out in full');
});

test('a TLS input on a plaintext connection cannot decide (Envoy\'s NotAvailable): evaluation stops there and the request is denied', () => {
  const tls = { serverName: '', peer: { uriSans: ['spiffe://mesh/ok'], dnsSans: [], subject: 'CN=ok', pem: '' } };
  const blocked = single({ kind: 'uri_san' }, exact('spiffe://mesh/blocked'));
  const publicPath = single(header('x-public'), exact('1'));
  // DENY a blocked identity, then ALLOW public calls, else ALLOW (on_no_match).
  const engine = compileRbacMatcher(list([[blocked, action('blocked', 'DENY')], [publicPath, action('public', 'ALLOW')]], action('rest', 'ALLOW')));
  assert.equal(engine.allowed(input({ 'x-public': '1' }, { tls })), true);
  assert.equal(engine.matchedPolicy(input({}, { tls })), 'rest');
  assert.equal(engine.allowed(input({ 'x-public': '1' })), false, 'plaintext: the SAN cannot be read, so neither the later field nor on_no_match decides');
  assert.equal(engine.matchedPolicy(input({ 'x-public': '1' })), undefined);
  // A field that already matched before it decides; or: one true branch is enough; and: a false branch first is false.
  const first = compileRbacMatcher(list([[publicPath, action('public', 'ALLOW')], [blocked, action('blocked', 'DENY')]]));
  assert.equal(first.allowed(input({ 'x-public': '1' })), true);
  const either = compileRbacMatcher(list([[{ kind: 'or', predicates: [blocked, publicPath] }, action('either', 'ALLOW')]], action('rest', 'ALLOW')));
  assert.equal(either.allowed(input({ 'x-public': '1' })), true);
  assert.equal(either.allowed(input()), false, 'no branch held and one could not decide');
  const both = compileRbacMatcher(list([[{ kind: 'and', predicates: [publicPath, blocked] }, action('both', 'DENY')]], action('rest', 'ALLOW')));
  assert.equal(both.allowed(input()), true, 'the first branch is false: the second is never read');
  const negated = compileRbacMatcher(list([[{ kind: 'not', predicate: blocked }, action('not-blocked', 'ALLOW')]], action('rest', 'ALLOW')));
  assert.equal(negated.allowed(input()), false);
  // A tree on a TLS input, on plaintext: no on_no_match either.
  const tree = compileRbacMatcher({ list: undefined, tree: { kind: 'exact', input: { kind: 'subject' }, map: new Map([['CN=ok', action('ok', 'ALLOW')]]) }, onNoMatch: action('rest', 'ALLOW') });
  assert.equal(tree.allowed(input({}, { tls })), true);
  assert.equal(tree.allowed(input()), false);
});

test('connection inputs: source IP follows X-Forwarded-For (the HCM\'s address), direct source IP the peer; ports, SNI, transport, SANs', () => {
  const allowIf = (i: MatchInput, value: string) => compileRbacMatcher(list([[single(i, exact(value)), action('x', 'ALLOW')]]));
  assert.equal(allowIf({ kind: 'source_ip' }, '203.0.113.9').allowed(input({}, {}, '203.0.113.9')), true);
  assert.equal(allowIf({ kind: 'direct_source_ip' }, '203.0.113.9').allowed(input({}, {}, '203.0.113.9')), false);
  assert.equal(allowIf({ kind: 'destination_port' }, '8443').allowed(input()), true);
  assert.equal(allowIf({ kind: 'source_port' }, '40000').allowed(input()), true);
  assert.equal(allowIf({ kind: 'destination_ip' }, '10.0.0.1').allowed(input()), true);
  assert.equal(allowIf({ kind: 'source_type' }, 'local').allowed(input({}, { remoteAddress: '127.0.0.1' })), true);
  assert.equal(allowIf({ kind: 'source_type' }, 'local').allowed(input()), false);
  const tls = { serverName: 'api.test', peer: { uriSans: ['spiffe://mesh/a', 'spiffe://mesh/b'], dnsSans: [], subject: 'CN=web', pem: '' } };
  assert.equal(allowIf({ kind: 'server_name' }, 'api.test').allowed(input({}, { tls })), true);
  assert.equal(allowIf({ kind: 'uri_san' }, 'spiffe://mesh/a,spiffe://mesh/b').allowed(input({}, { tls })), true);
  assert.equal(allowIf({ kind: 'subject' }, 'CN=web').allowed(input({}, { tls })), true);
  // No DNS SAN, or no TLS at all: no value, so even a match-everything regex does not hold.
  const anyDns = compileRbacMatcher(list([[single({ kind: 'dns_san' }, { kind: 'safe_regex', regex: '.*' }), action('x', 'ALLOW')]]));
  assert.equal(anyDns.allowed(input({}, { tls })), false);
  assert.equal(anyDns.allowed(input()), false);
});
