import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runValidate } from './validate.js';

const root = join(import.meta.dirname, '..', '..', '..');
const bin = join(root, 'packages/cli/dist/bin.js');

const BAD = `static_resources:
  clusters:
  - name: backend
    type: STATIC
    lb_policy: ROUND_ROBINN
    connect_timeout: 5
    circuit_breakers:
      thresholds:
      - max_requests: ten
    load_assignment:
      cluster_name: backend
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 70000 } } }
`;

function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'xmesh-validate-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

test('a valid file prints a summary and returns 0', async () => {
  const lines: string[] = [];
  const code = await runValidate([join(root, 'examples/front-proxy/envoy.yaml')], { routes: true }, (l) => lines.push(l));
  const out = lines.join('\n');
  assert.equal(code, 0);
  assert.match(out, /envoy\.yaml: OK/);
  assert.match(out, /listeners: 1 {2}route configs: 1 {2}virtual hosts: 1 {2}routes: 3 {2}clusters: 2 {2}endpoints: 2/);
  assert.match(out, /http filters: local_ratelimit, router/);
  assert.match(out, /prefix "\/service\/1" → service1 \(timeout 5000ms, retries 2 on 5xx,connect-failure,reset\)/);
});

test('an invalid file prints every error with its path and line, and returns 1', async () => {
  const lines: string[] = [];
  const code = await runValidate([tempFile('bad.yaml', BAD)], {}, (l) => lines.push(l));
  const out = lines.join('\n');
  assert.equal(code, 1);
  assert.match(out, /INVALID \(4 errors\)/);
  assert.match(out, /static_resources\.clusters\[0\]\.lb_policy: .*"ROUND_ROBINN" \(line 5\)/);
  assert.match(out, /static_resources\.clusters\[0\]\.connect_timeout: must be a duration.* \(line 6\)/);
  assert.match(out, /static_resources\.clusters\[0\]\.circuit_breakers\.thresholds\[0\]\.max_requests: must be a uint32, got "ten" \(line 9\)/);
  assert.match(out, /socket_address\.port_value: .*70000 \(line 14\)/);
});

test('a YAML syntax error is reported with its line', async () => {
  const lines: string[] = [];
  const code = await runValidate([tempFile('broken.yaml', 'a: [1, 2\n')], {}, (l) => lines.push(l));
  assert.equal(code, 1);
  assert.match(lines.join('\n'), /broken\.yaml: .*\(line \d+\)/);
});

test('a missing file is an error, not a crash', async () => {
  const lines: string[] = [];
  assert.equal(await runValidate(['/nonexistent/xmesh.yaml'], {}, (l) => lines.push(l)), 1);
  assert.match(lines.join('\n'), /cannot read/);
});

test('the installed bin exits 0 on the examples and 1 on a bad file', () => {
  const ok = spawnSync(process.execPath, [bin, 'validate', 'examples/front-proxy/envoy.yaml', 'examples/istio-sidecar/resources.yaml'], { cwd: root, encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr + ok.stdout);
  assert.match(ok.stdout, /resources\.yaml: OK/);
  const bad = spawnSync(process.execPath, [bin, 'validate', tempFile('bad.yaml', BAD)], { cwd: root, encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /max_requests: must be a uint32, got "ten"/);
});

test('--type reads a list of resources without "@type" (Envoy Gateway, path_config_source files)', async () => {
  const clusters = tempFile('clusters.yaml', '- name: a\n  type: strict_dns\n  load_assignment:\n    cluster_name: a\n    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: a.local, port_value: 80 } } } }] }]\n');
  const lines: string[] = [];
  assert.equal(await runValidate([clusters], { type: 'cluster' }, (l) => lines.push(l)), 0, lines.join('\n'));
  assert.match(lines.join('\n'), /cluster a STRICT_DNS ROUND_ROBIN/);
  const untyped: string[] = [];
  assert.equal(await runValidate([clusters], {}, (l) => untyped.push(l)), 1);
  assert.match(untyped.join('\n'), /needs "@type"/);
  const wrong: string[] = [];
  assert.equal(await runValidate([clusters], { type: 'widget' }, (l) => wrong.push(l)), 2);
  assert.match(wrong.join('\n'), /--type must be one of listener, route, cluster, endpoint/);
});

test('a bootstrap\'s dynamic_resources files are validated with it; an ADS bootstrap names its server', async () => {
  const cds = tempFile('cds.yaml', 'resources:\n- name: c\n  type: STATIC\n  connect_timeout: soon\n');
  const fsBootstrap = tempFile('envoy.yaml', `dynamic_resources:\n  cds_config:\n    path_config_source:\n      path: ${cds}\n`);
  const lines: string[] = [];
  assert.equal(await runValidate([fsBootstrap], {}, (l) => lines.push(l)), 1);
  assert.match(lines.join('\n'), new RegExp(`\\(${cds.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)\\.resources\\[0\\]\\.connect_timeout: must be a duration.* \\(line 4\\)`));
  const ads = tempFile('ads.yaml', 'node: { id: n1 }\ndynamic_resources:\n  ads_config: { api_type: GRPC, grpc_services: [{ envoy_grpc: { cluster_name: xds } }] }\n  lds_config: { ads: {} }\n  cds_config: { ads: {} }\nstatic_resources:\n  clusters:\n  - name: xds\n    type: STRICT_DNS\n    load_assignment: { cluster_name: xds, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: cp.local, port_value: 18000 } } } }] }] }\n');
  const adsLines: string[] = [];
  assert.equal(await runValidate([ads], {}, (l) => adsLines.push(l)), 0, adsLines.join('\n'));
  assert.match(adsLines.join('\n'), /listeners and clusters come from the ADS server cp\.local:18000 \(node n1\)/);
});

test('validate never prints key material: inline keys are [redacted] in --json, absent from the summary', async () => {
  const key = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSECRETSECRET\n-----END PRIVATE KEY-----';
  const file = tempFile('tls.yaml', `static_resources:
  clusters:
  - name: pay
    type: STATIC
    load_assignment:
      cluster_name: pay
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 10.0.0.1, port_value: 443 } } } }] }]
    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
        common_tls_context:
          tls_certificates:
          - certificate_chain: { inline_string: "CERT" }
            private_key: { inline_string: ${JSON.stringify(key)} }
  secrets:
  - name: spare
    tls_certificate:
      certificate_chain: { inline_string: "CERT" }
      private_key: { inline_string: ${JSON.stringify(key)} }
`);
  for (const options of [{}, { json: true }, { routes: true }]) {
    const lines: string[] = [];
    assert.equal(await runValidate([file], options, (l) => lines.push(l)), 0);
    const out = lines.join('\n');
    assert.doesNotMatch(out, /PRIVATE KEY|SECRETSECRET|MIGHAgEA/);
    if ('json' in options) assert.match(out, /"\[redacted\]"/);
  }
  // A key in the wrong place is reported without its value.
  const misplaced = tempFile('bad.yaml', `static_resources:
  secrets:
  - name: s
    tls_certificate:
      certificate_chain: { inline_string: "CERT" }
      private_key: ${JSON.stringify(key)}
`);
  const lines: string[] = [];
  assert.equal(await runValidate([misplaced], {}, (l) => lines.push(l)), 1);
  assert.match(lines.join('\n'), /private_key: must be a DataSource object/);
  assert.doesNotMatch(lines.join('\n'), /PRIVATE KEY|SECRETSECRET|MIGHAgEA/);
});

test('validate --routes shows a Bolt listener and a cluster whose endpoints come from ZooKeeper', async () => {
  const lines: string[] = [];
  const code = await runValidate([join(root, 'examples/sofarpc/mesh.yaml')], { routes: true }, (l) => lines.push(l));
  assert.equal(code, 0, lines.join('\n'));
  assert.ok(lines.some((l) => /listener sofa 127\.0\.0\.1:12220 bolt →/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /cluster hello EDS .* registry=zookeeper:com\.example\.HelloService \(127\.0\.0\.1:2181 \/sofa-rpc\)/.test(l)), lines.join('\n'));
});
