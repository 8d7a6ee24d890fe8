// The shapes of real Envoy v3 configs (test/fixtures/envoy-shapes: each fixture written for these tests,
// naming the config it is modelled on) load as Envoy loads them: accepted, or refused with exactly the
// named unsupported pieces and no follow-on errors. A regression in either direction fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfigFile, TypeUrl, type LoadedConfig, type MeshSnapshot, type ResourceTypeUrl } from '@xmesh/xds';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'envoy-shapes');
const HCM = 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config';

interface Accepted {
  readonly file: string;
  readonly type?: ResourceTypeUrl;
  readonly check: (snapshot: MeshSnapshot, loaded: LoadedConfig) => void;
}

interface Refused {
  readonly file: string;
  /** Every error: its full path and a fragment of its message. */
  readonly refused: readonly (readonly [path: string, fragment: string])[];
}

/** Reads files relative to the fixture's directory (dynamic_resources name them relative to it). */
async function load(file: string, type?: ResourceTypeUrl): Promise<LoadedConfig> {
  const dir = join(DIR, file, '..');
  return loadConfigFile(join(DIR, file), (path) => readFile(path.startsWith('/') ? path : join(dir, path), 'utf8'), {
    allowAds: true,
    ...(type === undefined ? {} : { resourceType: type }),
  });
}

const routesOf = (s: MeshSnapshot, listener: string) => s.routeConfigs[s.listeners[listener]!.routeConfigName]!;

const ACCEPTED: readonly Accepted[] = [
  {
    file: 'front-proxy-two-listeners.yaml',
    check: (s) => {
      assert.deepEqual(Object.keys(s.listeners), ['0.0.0.0:8080', '0.0.0.0:8443']);
      assert.equal(routesOf(s, '0.0.0.0:8080').virtualHosts[0]!.routes.length, 2);
      assert.equal(routesOf(s, '0.0.0.0:8443').virtualHosts[0]!.routes.length, 1, 'inline route configs named alike stay independent');
    },
  },
  {
    file: 'envoy-demo.yaml',
    check: (s) => {
      assert.deepEqual(s.listeners.listener_0!.httpFilters.map((f) => f.kind), ['router']);
      assert.deepEqual(routesOf(s, 'listener_1').virtualHosts, []);
    },
  },
  {
    file: 'grpc-web-cluster.yaml',
    type: TypeUrl.Cluster,
    check: (s) => {
      const c = s.clusters.greeter_service!;
      assert.deepEqual([c.type, c.lbPolicy, c.dnsLookupFamily, c.http2], ['LOGICAL_DNS', 'ROUND_ROBIN', 'V4_ONLY', true]);
    },
  },
  {
    file: 'dynamic-fs/envoy.yaml',
    check: (s, loaded) => {
      assert.deepEqual(loaded.files.map((f) => f.slice(f.lastIndexOf('/') + 1)), ['envoy.yaml', 'lds.yaml', 'cds.yaml']);
      assert.deepEqual(Object.keys(s.listeners), ['listener_0']);
      assert.deepEqual(Object.keys(s.clusters), ['example_proxy_cluster']);
    },
  },
  {
    file: 'dynamic-config-cp.yaml',
    check: (s, loaded) => {
      assert.ok(loaded.result.ok);
      assert.equal(loaded.result.ads?.xds_servers[0].server_uri, 'go-control-plane:18000');
      assert.deepEqual(loaded.result.ads?.node, { id: 'test-id', cluster: 'test-cluster' });
      assert.deepEqual(Object.keys(s.clusters), [], 'xds_cluster is the ADS connection');
    },
  },
  {
    file: 'zipkin-trace-headers.yaml',
    check: (s) => {
      const listener = Object.values(s.listeners)[0]!;
      assert.deepEqual(listener.tracing, { kind: 'b3', traceId128Bit: false, sharedSpanContext: false, sampling: { client: 100, random: 100, overall: 100 } }, 'Zipkin: B3 headers; an OUTBOUND listener\'s span is a child of the caller\'s');
      assert.deepEqual(routesOf(s, listener.name).virtualHosts[0]!.routes[0]!.requestHeaders!.add[0]!.format, [{ kind: 'request_header', names: ['x-b3-traceid'], maxLength: undefined }]);
    },
  },
  {
    file: 'local-ratelimit.yaml',
    check: (s) => assert.deepEqual(Object.values(s.listeners)[0]!.httpFilters.map((f) => f.kind), ['local_ratelimit', 'router']),
  },
  {
    file: 'rewrites-and-headers.yaml',
    check: (s) => {
      assert.deepEqual(s.listeners.listener_0!.pathNormalization, { normalizePath: true, mergeSlashes: true, escapedSlashes: 'UNESCAPE_AND_FORWARD' });
      const [docs, service, rest] = routesOf(s, 'listener_0').virtualHosts[0]!.routes.map((r) => r.action);
      assert.deepEqual([docs!.prefixRewrite, docs!.hostRewriteLiteral], ['/docs/envoy/latest/', 'www.envoyproxy.io']);
      assert.deepEqual([service!.regexRewrite?.substitution, service!.autoHostRewrite], ['\\2/instance/\\1', true]);
      assert.equal(rest!.hostRewriteLiteral, 'www.envoyproxy.io');
    },
  },
  {
    file: 'ext-authz-optional.yaml',
    check: (s) => {
      const [authz] = Object.values(s.listeners)[0]!.httpFilters;
      assert.equal(authz?.kind, 'ext_authz', 'an optional ext_authz is never skipped: it runs');
      assert.deepEqual(authz?.kind === 'ext_authz' ? [authz.config.service.kind, authz.config.service.cluster, authz.config.service.timeoutMs] : [], ['http', 'ext_authz-http-service', 250]);
    },
  },
  {
    file: 'websocket-upgrade.yaml',
    check: (s) => assert.deepEqual(s.listeners.listener_0!.upgradeConfigs, [{ upgradeType: 'websocket', enabled: true }]),
  },
  {
    file: 'odd-domains.yaml',
    check: (s) => {
      assert.deepEqual(Object.keys(s.listeners), ['127.0.0.1:10000']);
      assert.deepEqual(routesOf(s, '127.0.0.1:10000').virtualHosts.map((v) => v.domains), [['api.*.example.com'], ['*.example.com']]);
    },
  },
];

const compressorShape = (s: MeshSnapshot, listener: string): unknown[] =>
  s.listeners[listener]!.httpFilters.map((f) =>
    f.kind === 'compressor' ? [f.kind, f.config.library.encoding, f.config.minContentLength, [...f.config.contentTypes], f.config.disableOnEtagHeader, f.config.statsScope]
      : f.kind === 'decompressor' ? [f.kind, f.config.library, f.config.requestEnabled, f.config.responseEnabled]
        : [f.kind]);

const COMPRESSION_ACCEPTED: readonly Accepted[] = [
  {
    file: 'gzip-compressor.yaml',
    check: (s) => assert.deepEqual(compressorShape(s, '0.0.0.0:10000'), [
      ['compressor', 'gzip', 100, ['application/json'], true, 'compressor.text_optimized.gzip'],
      ['decompressor', { encoding: 'gzip', windowBits: 9, chunkSize: 8192, maxInflateRatio: 1000 }, true, false],
      ['router'],
    ]),
  },
  {
    file: 'brotli-zstd-compressor.yaml',
    check: (s) => {
      assert.deepEqual(compressorShape(s, '0.0.0.0:10000')[0], ['compressor', 'br', 100, ['application/json'], true, 'compressor.text_optimized.brotli']);
      assert.deepEqual(compressorShape(s, '0.0.0.0:10001')[0], ['compressor', 'zstd', 100, ['text/plain'], true, 'compressor.text_optimized.zstd']);
    },
  },
];

const REFUSED: readonly Refused[] = [
  {
    file: 'grpc-web-lowercase-enums.yaml',
    refused: [
      [`${HCM}.http_filters[0].typed_config.@type`, 'unsupported HTTP filter "type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb"'],
    ],
  },
  {
    file: 'route-mirror.yaml',
    refused: [
      [`${HCM}.route_config.virtual_hosts[0].routes[1].route.request_mirror_policies[0].cluster_header`, 'name the mirror cluster with "cluster"'],
    ],
  },
  {
    file: 'tcp-proxy-original-dst.yaml',
    refused: [
      ['static_resources.clusters[0].type', 'ORIGINAL_DST is not supported'],
      ['static_resources.clusters[0].lb_policy', 'CLUSTER_PROVIDED is not supported'],
      // The tcp_proxy listener itself is accepted: only the cluster is refused.
    ],
  },
  {
    file: 'gateway-path-handling.yaml',
    refused: [
      ['[0].default_filter_chain.filters[0].typed_config.path_with_escaped_slashes_action', 'UNESCAPE_AND_REDIRECT is not supported'],
    ],
  },
];

for (const { file, type, check } of [...ACCEPTED, ...COMPRESSION_ACCEPTED]) {
  test(`accepted: ${file}`, async () => {
    const loaded = await load(file, type);
    assert.ok(loaded.result.ok, loaded.result.ok ? '' : JSON.stringify(loaded.result.errors, null, 1));
    check(loaded.result.snapshot, loaded);
  });
}

for (const { file, refused } of REFUSED) {
  test(`refused, naming what is unsupported: ${file}`, async () => {
    const { result } = await load(file);
    assert.ok(!result.ok, 'expected the config to be refused');
    assert.deepEqual(result.errors.map((e) => e.path), refused.map(([path]) => path), JSON.stringify(result.errors, null, 1));
    result.errors.forEach((e, i) => assert.ok(e.message.includes(refused[i]![1]), `${e.path}: "${e.message}" lacks "${refused[i]![1]}"`));
    assert.ok(result.errors.every((e) => e.line !== undefined), 'every error has its line');
  });
}

test('the refusal of an authorization filter xmesh does not implement never suggests is_optional (following it would switch authorization off)', async () => {
  const { result } = await load('jwt-authn-optional.yaml');
  assert.ok(!result.ok);
  assert.deepEqual(result.errors.map((e) => e.path), [`${HCM}.http_filters[0].typed_config.@type`]);
  assert.ok(result.errors.every((e) => !e.message.includes('set is_optional') && e.message.includes('is_optional does not skip it')));
});
