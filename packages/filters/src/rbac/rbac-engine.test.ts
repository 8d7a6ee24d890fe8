// RBAC rules as Envoy evaluates them (source/extensions/filters/common/rbac/{engine_impl,matchers}.cc): every
// principal and permission kind xmesh implements, ALLOW / DENY / LOG, and the downstream address rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallerTrust, RbacPermission, RbacPrincipal, RbacRules, StringMatch } from '@xmesh/xds';
import { compileRbac, downstreamRemoteAddress, type RbacInput } from './rbac-engine.js';
import type { DownstreamConnection, PeerIdentity } from '../chain/filter-call.js';

const PLAIN: DownstreamConnection = { remoteAddress: '10.1.2.3', remotePort: 40000, localAddress: '10.0.0.1', localPort: 8443, tls: undefined, protocol: 'HTTP/1.1' };
const PEER: PeerIdentity = { uriSans: ['spiffe://mesh/ns/a/sa/web'], dnsSans: ['web.a.svc'], subject: 'CN=web,O=Acme', pem: '' };

function input(options: { path?: string; method?: string; headers?: Record<string, string>; connection?: Partial<DownstreamConnection>; remoteIp?: string } = {}): RbacInput {
  const connection = { ...PLAIN, ...options.connection };
  const headers = new Map(Object.entries({ ':path': options.path ?? '/', ':method': options.method ?? 'GET', ...options.headers }));
  return {
    request: { authority: 'svc', path: options.path ?? '/', method: options.method ?? 'GET', headers },
    connection,
    remoteIp: () => options.remoteIp ?? connection.remoteAddress,
  };
}

const exact = (value: string): StringMatch => ({ kind: 'exact', value, ignoreCase: false });
const prefix = (value: string): StringMatch => ({ kind: 'prefix', value, ignoreCase: false });
const allow = (permissions: RbacPermission[], principals: RbacPrincipal[]): RbacRules => ({ action: 'ALLOW', policies: [{ name: 'p', permissions, principals }] });
const ANY_PERMISSION: RbacPermission = { kind: 'any' };
const ANY_PRINCIPAL: RbacPrincipal = { kind: 'any' };

test('ALLOW allows what a policy matches, DENY what none matches, LOG everything; no policy under ALLOW denies all', () => {
  const admin: RbacPermission = { kind: 'url_path', path: prefix('/admin') };
  const allowAdmin = compileRbac(allow([admin], [ANY_PRINCIPAL]));
  const denyAdmin = compileRbac({ action: 'DENY', policies: [{ name: 'admin', permissions: [admin], principals: [ANY_PRINCIPAL] }] });
  const logAdmin = compileRbac({ action: 'LOG', policies: [{ name: 'admin', permissions: [admin], principals: [ANY_PRINCIPAL] }] });
  assert.deepEqual([allowAdmin.allowed(input({ path: '/admin/x' })), allowAdmin.allowed(input({ path: '/public' }))], [true, false]);
  assert.deepEqual([denyAdmin.allowed(input({ path: '/admin/x' })), denyAdmin.allowed(input({ path: '/public' }))], [false, true]);
  assert.deepEqual([logAdmin.allowed(input({ path: '/admin/x' })), logAdmin.allowed(input({ path: '/public' }))], [true, true]);
  assert.equal(compileRbac({ action: 'ALLOW', policies: [] }).allowed(input()), false);
  assert.equal(compileRbac({ action: 'DENY', policies: [] }).allowed(input()), true);
});

test('a policy matches when any permission and any principal match; the first match is by policy name', () => {
  const engine = compileRbac({
    action: 'ALLOW',
    policies: [
      { name: 'a-readers', permissions: [{ kind: 'header', header: { name: ':method', match: { kind: 'string', match: exact('GET') }, invertMatch: false, treatMissingHeaderAsEmpty: false } }], principals: [ANY_PRINCIPAL] },
      { name: 'b-writers', permissions: [{ kind: 'url_path', path: exact('/w') }, { kind: 'url_path', path: exact('/v') }], principals: [{ kind: 'direct_remote_ip', range: { addressPrefix: '192.168.0.0', prefixLen: 16 } }, { kind: 'direct_remote_ip', range: { addressPrefix: '10.0.0.0', prefixLen: 8 } }] },
    ],
  });
  assert.equal(engine.matchedPolicy(input({ method: 'GET', path: '/w' })), 'a-readers');
  assert.equal(engine.matchedPolicy(input({ method: 'POST', path: '/v' })), 'b-writers');
  assert.equal(engine.allowed(input({ method: 'POST', path: '/x' })), false);
  assert.equal(engine.allowed(input({ method: 'POST', path: '/w', connection: { remoteAddress: '172.16.0.1' } })), false);
});

test('url_path matches the path without its query and fragment; a header matcher on :path sees all of it', () => {
  const path = compileRbac(allow([{ kind: 'url_path', path: exact('/items') }], [ANY_PRINCIPAL]));
  assert.equal(path.allowed(input({ path: '/items?id=1#top' })), true);
  const header = compileRbac(allow([{ kind: 'header', header: { name: ':path', match: { kind: 'string', match: exact('/items') }, invertMatch: false, treatMissingHeaderAsEmpty: false } }], [ANY_PRINCIPAL]));
  assert.equal(header.allowed(input({ path: '/items?id=1', headers: { ':path': '/items?id=1' } })), false);
  const principal = compileRbac(allow([ANY_PERMISSION], [{ kind: 'url_path', path: prefix('/ok') }]));
  assert.deepEqual([principal.allowed(input({ path: '/ok/1' })), principal.allowed(input({ path: '/no' }))], [true, false]);
});

test('and / or / not compose permissions and principals', () => {
  const get: RbacPermission = { kind: 'header', header: { name: ':method', match: { kind: 'string', match: exact('GET') }, invertMatch: false, treatMissingHeaderAsEmpty: false } };
  const api: RbacPermission = { kind: 'url_path', path: prefix('/api') };
  const engine = compileRbac(allow(
    [{ kind: 'and', rules: [get, { kind: 'not', rule: api }] }, { kind: 'or', rules: [{ kind: 'destination_port', port: 9 }, { kind: 'url_path', path: exact('/health') }] }],
    [{ kind: 'and', ids: [{ kind: 'not', id: { kind: 'header', header: { name: 'x-banned', match: { kind: 'present', present: true }, invertMatch: false, treatMissingHeaderAsEmpty: false } } }, { kind: 'or', ids: [ANY_PRINCIPAL] }] }],
  ));
  assert.equal(engine.allowed(input({ method: 'GET', path: '/home' })), true);
  assert.equal(engine.allowed(input({ method: 'GET', path: '/api/x' })), false);
  assert.equal(engine.allowed(input({ method: 'POST', path: '/health' })), true);
  assert.equal(engine.allowed(input({ method: 'GET', path: '/home', headers: { 'x-banned': '1' } })), false);
});

test('destination_port, destination_port_range [start, end), destination_ip read the connection\'s local side', () => {
  assert.equal(compileRbac(allow([{ kind: 'destination_port', port: 8443 }], [ANY_PRINCIPAL])).allowed(input()), true);
  assert.equal(compileRbac(allow([{ kind: 'destination_port', port: 80 }], [ANY_PRINCIPAL])).allowed(input()), false);
  const range = compileRbac(allow([{ kind: 'destination_port_range', start: 8000, end: 8443 }], [ANY_PRINCIPAL]));
  assert.deepEqual([range.allowed(input({ connection: { localPort: 8000 } })), range.allowed(input({ connection: { localPort: 8443 } }))], [true, false]);
  const ip = compileRbac(allow([{ kind: 'destination_ip', range: { addressPrefix: '10.0.0.0', prefixLen: 24 } }], [ANY_PRINCIPAL]));
  assert.deepEqual([ip.allowed(input()), ip.allowed(input({ connection: { localAddress: '10.0.1.1' } }))], [true, false]);
});

test('requested_server_name is the TLS SNI, empty without TLS', () => {
  const engine = compileRbac(allow([{ kind: 'requested_server_name', match: exact('api.example.com') }], [ANY_PRINCIPAL]));
  assert.equal(engine.allowed(input({ connection: { tls: { serverName: 'api.example.com', peer: undefined } } })), true);
  assert.equal(engine.allowed(input()), false);
  assert.equal(compileRbac(allow([{ kind: 'requested_server_name', match: exact('') }], [ANY_PRINCIPAL])).allowed(input()), true);
});

test('authenticated: any TLS connection without a name; with one, any URI SAN, then any DNS SAN, then the subject', () => {
  const anyTls = compileRbac(allow([ANY_PERMISSION], [{ kind: 'authenticated', principalName: undefined }]));
  assert.equal(anyTls.allowed(input()), false, 'plaintext is never authenticated');
  assert.equal(anyTls.allowed(input({ connection: { tls: { serverName: '', peer: undefined } } })), true, 'Envoy: a TLS connection matches an unnamed authenticated principal');
  const tls = { tls: { serverName: '', peer: PEER } };
  for (const [name, expected] of [[exact('spiffe://mesh/ns/a/sa/web'), true], [exact('web.a.svc'), true], [exact('CN=web,O=Acme'), true], [prefix('spiffe://mesh/ns/b/'), false]] as const) {
    assert.equal(compileRbac(allow([ANY_PERMISSION], [{ kind: 'authenticated', principalName: name }])).allowed(input({ connection: tls })), expected, JSON.stringify(name));
  }
});

test('direct_remote_ip is the connection\'s peer; remote_ip the address after X-Forwarded-For; IPv4-mapped IPv6 counts as IPv4', () => {
  const direct = compileRbac(allow([ANY_PERMISSION], [{ kind: 'direct_remote_ip', range: { addressPrefix: '10.1.0.0', prefixLen: 16 } }]));
  const remote = compileRbac(allow([ANY_PERMISSION], [{ kind: 'remote_ip', range: { addressPrefix: '203.0.113.0', prefixLen: 24 } }]));
  assert.equal(direct.allowed(input({ remoteIp: '203.0.113.9' })), true);
  assert.equal(remote.allowed(input({ remoteIp: '203.0.113.9' })), true);
  assert.equal(remote.allowed(input()), false);
  assert.equal(direct.allowed(input({ connection: { remoteAddress: '::ffff:10.1.9.9' } })), true);
  const v6 = compileRbac(allow([ANY_PERMISSION], [{ kind: 'direct_remote_ip', range: { addressPrefix: '2001:db8::', prefixLen: 32 } }]));
  assert.deepEqual([v6.allowed(input({ connection: { remoteAddress: '2001:db8::1' } })), v6.allowed(input())], [true, false]);
});

test('the downstream address: the XFF entry xff_num_trusted_hops from the right, the peer with use_remote_address or without XFF', () => {
  const trust = (useRemoteAddress: boolean, xffNumTrustedHops: number): CallerTrust => ({ useRemoteAddress, xffNumTrustedHops, internalCidrs: [] });
  assert.equal(downstreamRemoteAddress('10.0.0.9', '203.0.113.5, 10.0.0.7', trust(false, 0)), '10.0.0.7');
  assert.equal(downstreamRemoteAddress('10.0.0.9', '203.0.113.5, 10.0.0.7', trust(false, 1)), '203.0.113.5');
  assert.equal(downstreamRemoteAddress('10.0.0.9', '203.0.113.5', trust(false, 1)), '10.0.0.9', 'not enough entries: the peer');
  assert.equal(downstreamRemoteAddress('10.0.0.9', undefined, trust(false, 0)), '10.0.0.9');
  assert.equal(downstreamRemoteAddress('10.0.0.9', '203.0.113.5', trust(true, 0)), '10.0.0.9');
  assert.equal(downstreamRemoteAddress('10.0.0.9', '203.0.113.5, 10.0.0.7', trust(true, 1)), '10.0.0.7');
  assert.equal(downstreamRemoteAddress('10.0.0.9', 'not-an-ip', trust(false, 0)), '10.0.0.9');
});
