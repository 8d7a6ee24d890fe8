import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Issues, Reader } from './reader.js';
import { decodeRbac } from './rbac.js';

function decode(input: unknown) {
  const issues = new Issues();
  return { config: decodeRbac(Reader.of(input, 'x', issues)!, { perRoute: false }), issues };
}

const ACTION = 'type.googleapis.com/envoy.config.rbac.v3.Action';
const HEADER_INPUT = 'type.googleapis.com/envoy.type.matcher.v3.HttpRequestHeaderMatchInput';
const action = (name: string, a: string) => ({ action: { name: 'action', typed_config: { '@type': ACTION, name, action: a } } });
const headerInput = (name: string) => ({ name: 'envoy.matching.inputs.request_headers', typed_config: { '@type': HEADER_INPUT, header_name: name } });

test('the matcher of Envoy\'s rbac example decodes: a not_matcher on the Referer header, DENY; on_no_match ALLOW', () => {
  const { config, issues } = decode({
    matcher: {
      matcher_list: {
        matchers: [{
          predicate: { not_matcher: { single_predicate: { input: headerInput('Referer'), value_match: { safe_regex: { google_re2: {}, regex: 'https?://(www.)?envoyproxy.io/docs/envoy.*' } } } } },
          on_match: action('illegal-referer', 'DENY'),
        }],
      },
      on_no_match: action('all-pass', 'ALLOW'),
    },
  });
  assert.deepEqual(issues.errors, []);
  assert.deepEqual(config.rules, {
    list: [{
      predicate: { kind: 'not', predicate: { kind: 'single', input: { kind: 'request_header', name: 'referer' }, match: { kind: 'safe_regex', regex: 'https?://(www.)?envoyproxy.io/docs/envoy.*' } } },
      onMatch: { kind: 'action', name: 'illegal-referer', action: 'DENY' },
    }],
    tree: undefined,
    onNoMatch: { kind: 'action', name: 'all-pass', action: 'ALLOW' },
  });
});

test('matcher trees: exact and prefix maps, the IP matcher; shadow_matcher; network and TLS inputs', () => {
  const { config, issues } = decode({
    matcher: {
      matcher_tree: {
        input: { name: 'ip', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.matching.common_inputs.network.v3.SourceIPInput' } },
        custom_match: {
          name: 'ip-matcher',
          typed_config: {
            '@type': 'type.googleapis.com/xds.type.matcher.v3.IPMatcher',
            range_matchers: [{ ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }], on_match: action('internal', 'ALLOW'), exclusive: true }],
          },
        },
      },
    },
    shadow_matcher: {
      matcher_tree: {
        input: { name: 'sni', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.matching.common_inputs.network.v3.ServerNameInput' } },
        exact_match_map: { map: { 'api.test': action('api', 'ALLOW') } },
      },
      on_no_match: action('other', 'DENY'),
    },
  });
  assert.deepEqual(issues.errors, []);
  assert.deepEqual((config.rules as { tree: unknown }).tree, {
    kind: 'ip', input: { kind: 'source_ip' },
    ranges: [{ ranges: [{ addressPrefix: '10.0.0.0', prefixLen: 8 }], onMatch: { kind: 'action', name: 'internal', action: 'ALLOW' }, exclusive: true }],
  });
  const shadow = config.shadowRules as { tree: { kind: string; map: Map<string, unknown> } };
  assert.equal(shadow.tree.kind, 'exact');
  assert.deepEqual([...shadow.tree.map.keys()], ['api.test']);
});

const REFUSED: [string, unknown, string, string][] = [
  ['rules and matcher together', { rules: { action: 'ALLOW' }, matcher: { matcher_list: { matchers: [] } } }, 'x.matcher', 'cannot be set together with rules'],
  ['a connection-matching input Envoy does not offer HTTP RBAC', { matcher: { matcher_list: { matchers: [{ predicate: { single_predicate: { input: { name: 'tp', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.matching.common_inputs.network.v3.TransportProtocolInput' } }, value_match: { exact: 'tls' } } }, on_match: action('a', 'ALLOW') }] } } }, 'x.matcher.matcher_list.matchers[0].predicate.single_predicate.input.typed_config.@type', 'unsupported matcher input'],
  ['an input xmesh has no data for', { matcher: { matcher_list: { matchers: [{ predicate: { single_predicate: { input: { name: 'fs', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.matching.common_inputs.network.v3.FilterStateInput', key: 'k' } }, value_match: { exact: 'v' } } }, on_match: action('a', 'ALLOW') }] } } }, 'x.matcher.matcher_list.matchers[0].predicate.single_predicate.input.typed_config.@type', 'unsupported matcher input'],
  ['an action that is not an RBAC Action', { matcher: { matcher_list: { matchers: [{ predicate: { single_predicate: { input: headerInput('x'), value_match: { exact: 'v' } } }, on_match: { action: { name: 'a', typed_config: { '@type': 'type.googleapis.com/envoy.config.route.v3.Route' } } } }] } } }, 'x.matcher.matcher_list.matchers[0].on_match.action.typed_config.@type', 'must be type.googleapis.com/envoy.config.rbac.v3.Action'],
  ['keep_matching', { matcher: { matcher_list: { matchers: [{ predicate: { single_predicate: { input: headerInput('x'), value_match: { exact: 'v' } } }, on_match: { ...action('a', 'ALLOW'), keep_matching: true } }] } } }, 'x.matcher.matcher_list.matchers[0].on_match.keep_matching', 'is not supported'],
  ['a custom predicate match', { matcher: { matcher_list: { matchers: [{ predicate: { single_predicate: { input: headerInput('x'), custom_match: { name: 'c', typed_config: {} } } }, on_match: action('a', 'ALLOW') }] } } }, 'x.matcher.matcher_list.matchers[0].predicate.single_predicate.custom_match', 'custom predicate matchers are not implemented'],
  ['an or_matcher of one predicate', { matcher: { matcher_list: { matchers: [{ predicate: { or_matcher: { predicate: [{ single_predicate: { input: headerInput('x'), value_match: { exact: 'v' } } }] } }, on_match: action('a', 'ALLOW') }] } } }, 'x.matcher.matcher_list.matchers[0].predicate.or_matcher.predicate', 'at least two predicates'],
  ['a matcher with neither list nor tree', { matcher: { on_no_match: action('a', 'ALLOW') } }, 'x.matcher', 'one of matcher_list, matcher_tree is required'],
];

for (const [name, input, path, fragment] of REFUSED) {
  test(`refused by path: ${name}`, () => {
    const { issues } = decode(input);
    assert.ok(issues.errors.some((e) => e.path === path && e.message.includes(fragment)), `${path} / ${fragment}:\n${issues.errors.map((e) => `${e.path}: ${e.message}`).join('\n')}`);
  });
}

test('a matcher nested 40 levels deep is refused, not walked for ever', () => {
  let matcher: unknown = { matcher_list: { matchers: [{ predicate: { single_predicate: { input: headerInput('x'), value_match: { exact: 'v' } } }, on_match: action('a', 'ALLOW') }] } };
  for (let i = 0; i < 40; i++) matcher = { matcher_list: { matchers: [{ predicate: { single_predicate: { input: headerInput('x'), value_match: { exact: 'v' } } }, on_match: { matcher } }] } };
  const { issues } = decode({ matcher });
  assert.ok(issues.errors.some((e) => e.message.includes('nests more than 32 levels')), issues.errors.map((e) => e.message).join('\n'));
});
