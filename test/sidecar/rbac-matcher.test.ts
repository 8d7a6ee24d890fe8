// The RBAC filter with a `matcher` (the Unified Matcher API) instead of `rules`, in both modes from one config
// modelled on envoyproxy/examples rbac/envoy.yaml (DENY a request whose Referer is not Envoy's docs, ALLOW the
// rest), plus a route whose RBACPerRoute matcher is a tree: an exact map on the method, and the source address
// in an IP range matcher. undici clients (through the embedded mesh's dispatcher, and to the sidecar) against a
// stock node:http upstream: a denied request gets 403 "RBAC: access denied" and never reaches it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { request } from 'undici';
import { listenLocal, startBothModes, type BothModes } from '../support/both-modes.js';
import { bootstrap } from '../support/mesh-config.js';

const RBAC = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const RBAC_PER_ROUTE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute';
const ACTION = 'type.googleapis.com/envoy.config.rbac.v3.Action';
const NETWORK = 'type.googleapis.com/envoy.extensions.matching.common_inputs.network.v3.';
const action = (name: string, a: string) => ({ action: { name: 'action', typed_config: { '@type': ACTION, name, action: a } } });
const headerInput = (name: string) => ({ name: 'envoy.matching.inputs.request_headers', typed_config: { '@type': 'type.googleapis.com/envoy.type.matcher.v3.HttpRequestHeaderMatchInput', header_name: name } });

/** Envoy's example: anything whose Referer is not the docs is denied. */
const REFERER_MATCHER = {
  matcher_list: {
    matchers: [{
      predicate: { not_matcher: { single_predicate: { input: headerInput('referer'), value_match: { safe_regex: { google_re2: {}, regex: 'https?://(www.)?envoyproxy.io/docs/envoy.*' } } } } },
      on_match: action('illegal-referer', 'DENY'),
    }],
  },
  on_no_match: action('all-pass', 'ALLOW'),
};

/** `/admin`: GET from loopback (the IP matcher on the source address) is allowed; everything else denied. */
const ADMIN_MATCHER = {
  matcher_tree: {
    input: headerInput(':method'),
    exact_match_map: {
      map: {
        GET: {
          matcher: {
            matcher_tree: {
              input: { name: 'source-ip', typed_config: { '@type': `${NETWORK}SourceIPInput` } },
              custom_match: {
                name: 'ip-matcher',
                typed_config: { '@type': 'type.googleapis.com/xds.type.matcher.v3.IPMatcher', range_matchers: [{ ranges: [{ address_prefix: '127.0.0.0', prefix_len: 8 }], on_match: action('local-reads', 'ALLOW'), exclusive: false }] },
              },
            },
          },
        },
      },
    },
  },
};

/**
 * Counted, never enforced: `/admin...` denied; elsewhere allowed with `x-a: 1`, or with both `x-b: 1` and
 * `x-c: 1`; the rest denied.
 */
const SHADOW_MATCHER = {
  matcher_tree: {
    input: headerInput(':path'),
    prefix_match_map: {
      map: {
        '/admin': action('admin', 'DENY'),
        '/': {
          matcher: {
            matcher_list: {
              matchers: [{
                predicate: {
                  or_matcher: {
                    predicate: [
                      { single_predicate: { input: headerInput('x-a'), value_match: { exact: '1' } } },
                      { and_matcher: { predicate: [
                        { single_predicate: { input: headerInput('x-b'), value_match: { exact: '1' } } },
                        { single_predicate: { input: headerInput('x-c'), value_match: { exact: '1' } } },
                      ] } },
                    ],
                  },
                },
                on_match: action('flagged', 'ALLOW'),
              }],
            },
          },
        },
      },
    },
  },
  on_no_match: action('unflagged', 'DENY'),
};

describe('RBAC with a matcher, embedded and sidecar', () => {
  let web: Server;
  let both: BothModes;
  const seen: string[] = [];

  before(async () => {
    web = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.end('ok');
    });
    const webAddress = await listenLocal(web);
    both = await startBothModes(bootstrap({
      routes: [
        { match: { prefix: '/admin' }, route: { cluster: 'web' }, typed_per_filter_config: { rbac: { '@type': RBAC_PER_ROUTE, rbac: { matcher: ADMIN_MATCHER } } } },
        { match: { prefix: '/' }, route: { cluster: 'web' } },
      ],
      clusters: { web: [webAddress] },
      hcm: {
        http_filters: [
          { name: 'rbac', typed_config: { '@type': RBAC, matcher: REFERER_MATCHER, shadow_matcher: SHADOW_MATCHER } },
          { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
        ],
      },
    }));
  });
  after(async () => {
    await both.close();
    web.close();
  });

  const modes = (): [string, (method: string, path: string, headers?: Record<string, string>) => Promise<{ status: number; body: string }>][] => [
    ['embedded', async (method, path, headers = {}) => {
      const res = await request(`http://web.svc${path}`, { method: method as 'GET', headers, dispatcher: both.mesh.dispatcher });
      return { status: res.statusCode, body: await res.body.text() };
    }],
    ['sidecar', async (method, path, headers = {}) => {
      const res = await request(`http://${both.sidecar.target}${path}`, { method: method as 'GET', headers: { host: 'web.svc', ...headers } });
      return { status: res.statusCode, body: await res.body.text() };
    }],
  ];

  test('Envoy\'s example: a Referer other than the docs (or none) is 403 "RBAC: access denied" and never reaches the upstream', async () => {
    for (const [mode, send] of modes()) {
      const before = seen.length;
      assert.deepEqual(await send('GET', '/page', { referer: 'https://evil.test/' }), { status: 403, body: 'RBAC: access denied' }, mode);
      assert.deepEqual(await send('GET', '/page'), { status: 403, body: 'RBAC: access denied' }, `${mode} without Referer`);
      assert.equal(seen.length, before, `${mode}: denied requests never reached the upstream`);
      assert.deepEqual(await send('GET', '/page', { referer: 'https://www.envoyproxy.io/docs/envoy/latest/' }), { status: 200, body: 'ok' }, mode);
    }
  });

  test('shadow_matcher (a prefix map, or / and predicates) is counted, never enforced', async () => {
    const DOCS = { referer: 'https://envoyproxy.io/docs/envoy/latest/' };
    for (const [mode, send] of modes()) {
      const store = mode === 'embedded' ? both.mesh.observability.store : both.sidecar.mesh.observability.store;
      const stat = (name: string) => store.value(`http.mesh.rbac.${name}`);
      const [allowed, denied] = [stat('shadow_allowed'), stat('shadow_denied')];
      for (const headers of [{ 'x-a': '1' }, { 'x-b': '1', 'x-c': '1' }]) assert.equal((await send('GET', '/page', { ...DOCS, ...headers })).status, 200, mode);
      assert.equal((await send('GET', '/page', { ...DOCS, 'x-b': '1' })).status, 200, `${mode}: a shadow denial is not enforced`);
      assert.deepEqual([stat('shadow_allowed') - allowed, stat('shadow_denied') - denied], [2, 1], mode);
    }
  });

  test('RBACPerRoute with a matcher tree replaces the listener\'s: GET from a loopback address is allowed, any other method denied', async () => {
    for (const [mode, send] of modes()) {
      assert.equal((await send('GET', '/admin/stats')).status, 200, `${mode} GET`);
      assert.equal((await send('DELETE', '/admin/stats')).status, 403, `${mode} DELETE`);
    }
    const stat = (name: string) => both.sidecar.mesh.observability.store.value(`http.mesh.rbac.${name}`);
    const denied = stat('denied');
    await modes()[1]![1]('POST', '/admin/x');
    assert.equal(stat('denied'), denied + 1);
  });
});
