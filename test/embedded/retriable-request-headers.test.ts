// RetryPolicy `retriable_request_headers`: only a request matching one of them is retried (Envoy's
// RetryStateImpl: any match enables retries; none disables them, even ones asked for by
// x-envoy-retry-on). Both modes, a stock node:http upstream that fails each request id's first try.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { createMesh, type Mesh } from '@xmesh/client';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { bootstrap } from '../support/mesh-config.js';

describe('retriable_request_headers', () => {
  let upstream: Server;
  const tries = new Map<string, number>();
  let mesh: Mesh;
  let sidecar: Sidecar;
  let sidecarUrl = '';

  before(async () => {
    upstream = createServer((req, res) => {
      req.resume();
      const id = String(req.headers['x-test']);
      const n = (tries.get(id) ?? 0) + 1;
      tries.set(id, n);
      res.statusCode = n === 1 ? 503 : 200;
      res.end(`try ${n}`);
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const cfg = bootstrap({ routes: [{ cluster: 'web' }], clusters: { web: [`127.0.0.1:${(upstream.address() as AddressInfo).port}`] } }) as {
      static_resources: { listeners: { filter_chains: { filters: { typed_config: { route_config: { virtual_hosts: { routes: { route: Record<string, unknown> }[] }[] } } }[] }[] }[] };
    };
    cfg.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.route_config.virtual_hosts[0]!.routes[0]!.route['retry_policy'] = {
      retry_on: '5xx',
      num_retries: 2,
      retriable_request_headers: [{ name: ':method', string_match: { exact: 'GET' } }, { name: 'x-idempotent', present_match: true }],
    };
    mesh = await createMesh({ config: cfg });
    sidecar = await startSidecar({ config: cfg, listen: '127.0.0.1:0', admin: false });
    sidecarUrl = `http://${sidecar.address.host}:${sidecar.address.port}`;
  });

  after(async () => {
    await mesh.close();
    await sidecar.close();
    upstream.closeAllConnections();
    upstream.close();
  });

  const cases = [
    { name: 'GET (matches :method)', method: 'GET', headers: {}, status: 200, tries: 2 },
    { name: 'POST with x-idempotent (matches the second)', method: 'POST', headers: { 'x-idempotent': '1' }, status: 200, tries: 2 },
    { name: 'POST without (matches none: not retried)', method: 'POST', headers: {}, status: 503, tries: 1 },
    { name: 'POST asking with x-envoy-retry-on (still none)', method: 'POST', headers: { 'x-envoy-retry-on': '5xx' }, status: 503, tries: 1 },
  ];

  for (const mode of ['embedded', 'sidecar'] as const) {
    test(`${mode}: only requests matching one matcher are retried`, async () => {
      for (const c of cases) {
        const id = `${mode}-${c.name}`;
        const headers = { ...c.headers, 'x-test': id };
        let status: number;
        if (mode === 'embedded') {
          const reply = await mesh.fetch('http://web.local/', { method: c.method, headers, ...(c.method === 'POST' ? { body: 'x' } : {}) });
          await reply.text();
          status = reply.status;
        } else {
          const reply = await request(`${sidecarUrl}/`, { method: c.method, headers: { ...headers, host: 'web.local' }, ...(c.method === 'POST' ? { body: 'x' } : {}) });
          await reply.body.text();
          status = reply.statusCode;
        }
        assert.equal(status, c.status, c.name);
        assert.equal(tries.get(id), c.tries, c.name);
      }
    });
  }
});
