// The sidecar honours a caller's x-envoy-upstream-rq-timeout-ms / x-envoy-max-retries /
// x-envoy-retry-on only when the listener's HttpConnectionManager deems the caller internal, as
// Envoy: `use_remote_address` takes the connection's peer, otherwise X-Forwarded-For's single
// entry; the address must lie in `internal_address_config.cidr_ranges` (none configured: nobody).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { startSidecar, type Sidecar } from '@xmesh/sidecar';
import { bootstrap } from '../support/mesh-config.js';

describe('sidecar: x-envoy-* request headers by caller trust', () => {
  let upstream: Server;
  let address = '';
  let flakyCalls = 0;
  const sidecars: Sidecar[] = [];

  before(async () => {
    upstream = createServer((req, res) => {
      if (req.url === '/slow') {
        setTimeout(() => res.end('slow'), 1500);
        return;
      }
      flakyCalls++;
      res.statusCode = flakyCalls % 2 === 1 ? 503 : 200;
      res.end(`flaky ${flakyCalls}`);
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    address = `127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  });
  after(async () => {
    await Promise.all(sidecars.map((s) => s.close()));
    upstream.closeAllConnections();
    upstream.close();
  });

  async function sidecarWith(hcm: Record<string, unknown>): Promise<string> {
    const config = bootstrap({ routes: [{ cluster: 'web' }], clusters: { web: [address] }, hcm });
    const sidecar = await startSidecar({ config, listen: '127.0.0.1:0', admin: false });
    sidecars.push(sidecar);
    return `http://${sidecar.address.host}:${sidecar.address.port}`;
  }

  const TIMEOUT_200 = { host: 'web.local', 'x-envoy-upstream-rq-timeout-ms': '200' };
  const RETRY_5XX = { host: 'web.local', 'x-envoy-retry-on': '5xx', 'x-envoy-max-retries': '2' };

  test('use_remote_address with the loopback peer in internal_address_config: the headers apply', async () => {
    const url = await sidecarWith({ use_remote_address: true, internal_address_config: { cidr_ranges: [{ address_prefix: '127.0.0.0', prefix_len: 8 }] } });
    const cut = await request(`${url}/slow`, { headers: TIMEOUT_200 });
    await cut.body.text();
    assert.equal(cut.statusCode, 504, 'ended by the 200 ms header, not by the upstream answering 200 after 1.5 s');
    flakyCalls = 0;
    const retried = await request(`${url}/flaky`, { headers: RETRY_5XX });
    assert.equal(retried.statusCode, 200);
    assert.equal(await retried.body.text(), 'flaky 2');
  });

  test('no internal_address_config: no caller is internal and the headers change nothing', async () => {
    const url = await sidecarWith({ use_remote_address: true });
    const slow = await request(`${url}/slow`, { headers: TIMEOUT_200 });
    assert.equal(slow.statusCode, 200);
    assert.equal(await slow.body.text(), 'slow');
    flakyCalls = 0;
    const flaky = await request(`${url}/flaky`, { headers: RETRY_5XX });
    await flaky.body.text();
    assert.equal(flaky.statusCode, 503);
  });

  test('without use_remote_address the single X-Forwarded-For entry decides; an external or chained one does not count', async () => {
    const url = await sidecarWith({ internal_address_config: { cidr_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }] } });
    const internal = await request(`${url}/slow`, { headers: { ...TIMEOUT_200, 'x-forwarded-for': '10.1.2.3' } });
    await internal.body.text();
    assert.equal(internal.statusCode, 504);
    for (const xff of ['192.0.2.7', '192.0.2.7, 10.1.2.3', undefined]) {
      const headers = xff === undefined ? TIMEOUT_200 : { ...TIMEOUT_200, 'x-forwarded-for': xff };
      const ignored = await request(`${url}/slow`, { headers });
      assert.equal(ignored.statusCode, 200, `x-forwarded-for ${xff}`);
      await ignored.body.text();
    }
  });

  test('use_remote_address: a request that carries X-Forwarded-For is external, whatever the peer', async () => {
    const url = await sidecarWith({ use_remote_address: true, internal_address_config: { cidr_ranges: [{ address_prefix: '127.0.0.0', prefix_len: 8 }] } });
    const ignored = await request(`${url}/slow`, { headers: { ...TIMEOUT_200, 'x-forwarded-for': '127.0.0.1' } });
    await ignored.body.text();
    assert.equal(ignored.statusCode, 200);
  });

  test('xff_num_trusted_hops: the caller is that many entries from the right, so a single trusted hop leaves no internal caller', async () => {
    const ranges = { cidr_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }] };
    const hop = await sidecarWith({ xff_num_trusted_hops: 1, internal_address_config: ranges });
    const ignored = await request(`${hop}/slow`, { headers: { ...TIMEOUT_200, 'x-forwarded-for': '10.1.2.3' } });
    await ignored.body.text();
    assert.equal(ignored.statusCode, 200);
    // With use_remote_address and trusted hops, no X-Forwarded-For leaves the peer as the caller.
    const peer = await sidecarWith({ use_remote_address: true, xff_num_trusted_hops: 1, internal_address_config: { cidr_ranges: [{ address_prefix: '127.0.0.0', prefix_len: 8 }] } });
    const cut = await request(`${peer}/slow`, { headers: TIMEOUT_200 });
    await cut.body.text();
    assert.equal(cut.statusCode, 504);
  });
});
