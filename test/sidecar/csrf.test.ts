// Envoy's CSRF filter (envoy.filters.http.csrf) in both modes from one config modelled on envoyproxy/examples
// csrf/samesite/envoy.yaml (the filter off on the listener, enforced by the virtual host's policy, per-route
// policies for "disabled", "shadow" and "additional_origin"): undici clients (through the embedded mesh's
// dispatcher, and to the sidecar) send the Origin / Referer a browser would, to a stock node:http upstream.
// A cross-origin POST is answered 403 "Invalid origin" and never reaches the upstream; same-origin and safe
// methods pass; Envoy's csrf.* stats count each case; a gRPC call (a POST without Origin) is denied as Envoy
// denies it, PERMISSION_DENIED.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import type { Mesh } from '@xmesh/client';
import type { Sidecar } from '@xmesh/sidecar';
import { listenLocal, startBothModes, type BothModes } from '../support/both-modes.js';
import { loadEcho, startEchoServer, type EchoClient, type EchoServer } from '../support/echo-server.js';
import { unary } from '../support/grpc-call.js';
import { bootstrap } from '../support/mesh-config.js';

const CSRF = 'type.googleapis.com/envoy.extensions.filters.http.csrf.v3.CsrfPolicy';
const percent = (numerator: number, runtime_key?: string) => ({ default_value: { numerator, denominator: 'HUNDRED' }, ...(runtime_key === undefined ? {} : { runtime_key }) });
const { EchoClient: EchoCtor } = loadEcho();

function config(web: string, echo: string): object {
  const cfg = bootstrap({
    domains: ['*'],
    routes: [
      { match: { prefix: '/csrf/disabled' }, route: { cluster: 'web' }, typed_per_filter_config: { 'envoy.filters.http.csrf': { '@type': CSRF, filter_enabled: percent(0) } } },
      { match: { prefix: '/csrf/shadow' }, route: { cluster: 'web' }, typed_per_filter_config: { 'envoy.filters.http.csrf': { '@type': CSRF, filter_enabled: percent(0), shadow_enabled: percent(100) } } },
      {
        match: { prefix: '/csrf/additional_origin' },
        route: { cluster: 'web' },
        typed_per_filter_config: { 'envoy.filters.http.csrf': { '@type': CSRF, filter_enabled: percent(100), additional_origins: [{ safe_regex: { regex: '.*\\.partner\\.test' } }] } },
      },
      { match: { prefix: '/xmesh.echo.Echo/' }, route: { cluster: 'echo' } },
      { match: { prefix: '/' }, route: { cluster: 'web' } },
    ],
    clusters: { web: [web], echo: [echo] },
    http2: ['echo'],
    hcm: {
      stat_prefix: 'ingress_http',
      http_filters: [
        { name: 'envoy.filters.http.csrf', typed_config: { '@type': CSRF, filter_enabled: percent(0) } },
        { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
      ],
    },
  }) as { static_resources: { listeners: { filter_chains: { filters: { typed_config: { route_config: { virtual_hosts: Record<string, unknown>[] } } }[] }[] }[] } };
  // The virtual host turns it on, as the example's `www` host does.
  cfg.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.route_config.virtual_hosts[0]!.typed_per_filter_config = {
    'envoy.filters.http.csrf': { '@type': CSRF, filter_enabled: percent(100, 'csrf.www.enabled'), shadow_enabled: percent(0, 'csrf.www.shadow_enabled') },
  };
  return cfg;
}

describe('CSRF filter, embedded and sidecar', () => {
  let web: Server;
  let echoServer: EchoServer;
  let both: BothModes;
  let mesh: Mesh;
  let sidecar: Sidecar;
  /** Requests the upstream answered: `METHOD path`. */
  const seen: string[] = [];

  before(async () => {
    web = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    const webAddress = await listenLocal(web);
    echoServer = await startEchoServer('echo');
    both = await startBothModes(config(webAddress, echoServer.address));
    ({ mesh, sidecar } = both);
  });
  after(async () => {
    await both.close();
    web.close();
    await echoServer.close();
  });

  type Send = (method: string, path: string, headers?: Record<string, string>) => Promise<{ status: number; body: string }>;
  const modes = (): [string, Send, (name: string) => number][] => [
    ['embedded', async (method, path, headers = {}) => {
      const res = await request(`http://app.test${path}`, { method: method as 'POST', headers, body: method === 'GET' ? null : 'form=1', dispatcher: mesh.dispatcher });
      return { status: res.statusCode, body: await res.body.text() };
    }, (name) => mesh.observability.store.value(`http.ingress_http.csrf.${name}`)],
    ['sidecar', async (method, path, headers = {}) => {
      const res = await request(`http://${sidecar.target}${path}`, { method: method as 'POST', headers: { host: 'app.test', ...headers }, body: method === 'GET' ? null : 'form=1' });
      return { status: res.statusCode, body: await res.body.text() };
    }, (name) => sidecar.mesh.observability.store.value(`http.ingress_http.csrf.${name}`)],
  ];

  test('a cross-origin POST is 403 "Invalid origin" and never reaches the upstream; same origin, the Referer, and a GET pass', async () => {
    for (const [mode, send, stat] of modes()) {
      const counts = () => ['missing_source_origin', 'request_invalid', 'request_valid'].map(stat);
      const before = counts();
      const seenBefore = seen.length;
      assert.deepEqual(await send('POST', '/transfer', { origin: 'http://evil.test' }), { status: 403, body: 'Invalid origin' }, mode);
      assert.deepEqual(await send('DELETE', '/transfer', {}), { status: 403, body: 'Invalid origin' }, `${mode} no origin`);
      assert.equal(seen.length, seenBefore, `${mode}: the denied requests never reached the upstream`);
      assert.equal((await send('POST', '/transfer', { origin: 'http://app.test' })).status, 200, mode);
      assert.equal((await send('PATCH', '/transfer', { referer: 'http://app.test/form.html' })).status, 200, mode);
      assert.equal((await send('GET', '/transfer', { origin: 'http://evil.test' })).status, 200, `${mode} GET`);
      const after = counts();
      assert.deepEqual(after.map((v, i) => v - before[i]!), [1, 2, 2], `${mode}: missing, invalid, valid`);
    }
  });

  test('per route: disabled lets it through uncounted, shadow counts and lets it through, additional_origins accept a partner', async () => {
    for (const [mode, send, stat] of modes()) {
      const invalid = stat('request_invalid');
      assert.equal((await send('POST', '/csrf/disabled', { origin: 'http://evil.test' })).status, 200, mode);
      assert.equal(stat('request_invalid'), invalid, `${mode}: a disabled policy counts nothing`);
      assert.equal((await send('POST', '/csrf/shadow', { origin: 'http://evil.test' })).status, 200, mode);
      assert.equal(stat('request_invalid'), invalid + 1, `${mode}: shadow mode counts`);
      assert.equal((await send('POST', '/csrf/additional_origin', { origin: 'https://shop.partner.test' })).status, 200, mode);
      assert.equal((await send('POST', '/csrf/additional_origin', { origin: 'https://evil.test' })).status, 403, mode);
    }
  });

  test('a gRPC call (a POST without Origin) is denied as Envoy denies it: PERMISSION_DENIED "Invalid origin"', async () => {
    const embedded = mesh.grpcClient(EchoCtor, 'app.test:80') as EchoClient;
    const viaSidecar = new EchoCtor(sidecar.target, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'app.test' }) as EchoClient;
    try {
      for (const client of [embedded, viaSidecar]) {
        const error = await unary(client, { message: 'x' }).then(() => undefined, (e: grpc.ServiceError) => e);
        assert.equal(error?.code, grpc.status.PERMISSION_DENIED);
        assert.equal(error?.details, 'Invalid origin');
      }
    } finally {
      embedded.close();
      viaSidecar.close();
    }
  });
});
